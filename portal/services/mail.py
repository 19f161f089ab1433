"""Outgoing email: queued in the outbox inside the transaction, delivered after commit.

Queuing inside the transaction means an email is never sent for work that was
rolled back; delivering after the commit means a slow mail server never holds
a database lock. A failed delivery stays in the outbox with its error, and
``flask --app app send-emails`` tries again: an email is never lost.

Each email is written once, as text (``templates/email/<name>.txt``); the HTML
part is that text laid out by ``templates/email/_layout.html``, so the two can
never say different things.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Iterable
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, g, render_template
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..extensions import begin_write
from ..models import Organisation, OutgoingEmail, Request, utcnow
from ..redaction import redact

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
URL = re.compile(r"https?://[^\s<>\"]+")


def queue_email(
    session: Session,
    *,
    to: str,
    subject: str,
    template: str,
    organisation: Organisation | None = None,
    request: Request | None = None,
    **context: Any,
) -> OutgoingEmail:
    """Render an email into the outbox for delivery after commit.

    The template sees ``organisation``, ``row`` (the request) and ``context``.
    """
    body = render_template(
        f"email/{template}.txt", organisation=organisation, row=request, **context
    )
    email = OutgoingEmail(
        organisation_id=organisation.id if organisation else None,
        request_id=request.id if request else None,
        to_address=to,
        subject=subject,
        body=body,
        html_body=render_template(
            "email/_layout.html", subject=subject, paragraphs=html_paragraphs(body)
        ),
    )
    session.add(email)
    session.flush()
    g.setdefault("outbox_ids", []).append(email.id)
    return email


def html_paragraphs(text: str) -> list[Markup]:
    """Paragraphs of the text part, escaped, with web addresses as links."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        escaped = str(escape(block))
        linked = URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        # Escaped just above: only our own <a> and <br> are markup here.
        paragraphs.append(Markup(linked.replace("\n", "<br>\n")))  # noqa: S704  # nosec B704
    return paragraphs


def deliver_queued(session: Session) -> None:
    """Send what this request (or command) queued; runs after the commit, and
    the caller commits again to record what was sent."""
    ids = g.pop("outbox_ids", [])
    if ids:
        begin_write(session)  # a new transaction after the request's commit
        deliver(session, session.scalars(select(OutgoingEmail).where(OutgoingEmail.id.in_(ids))))


def send_pending(session: Session) -> tuple[int, int]:
    """Try every email not yet sent (fewer than MAX_ATTEMPTS tries). Returns (sent, failed)."""
    pending = list(
        session.scalars(
            select(OutgoingEmail)
            .where(OutgoingEmail.sent_at.is_(None), OutgoingEmail.attempts < MAX_ATTEMPTS)
            .order_by(OutgoingEmail.id)
        )
    )
    deliver(session, pending)
    sent = sum(1 for email in pending if email.sent_at is not None)
    return sent, len(pending) - sent


def deliver(session: Session, emails: Iterable[OutgoingEmail]) -> None:
    smtp_url = current_app.config["PORTAL_SMTP_URL"]
    for email in emails:
        email.attempts += 1
        try:
            if smtp_url.startswith("memory:"):
                # Kept in memory for tests and local tools, like Django's locmem backend.
                current_app.extensions.setdefault("portal_mail_memory", []).append(
                    {"to": email.to_address, "subject": email.subject, "body": email.body}
                )
            elif smtp_url:
                _send_smtp(smtp_url, email)
            else:
                # No mail server: the outbox table and the console are the delivery.
                log.info("Email to %s: %s\n%s", email.to_address, email.subject, email.body)
            email.sent_at = utcnow()
            email.error = None
            # The body is kept as a record, but a link token must not outlive delivery.
            email.body = redact(email.body)
            email.html_body = redact(email.html_body or "") or None
        except (OSError, smtplib.SMTPException) as exc:
            log.warning(
                "Email %s to %s not sent (try %s): %s",
                email.id,
                email.to_address,
                email.attempts,
                exc,
            )
            email.error = f"{type(exc).__name__}: {exc}"
    session.flush()


def _send_smtp(url: str, email: OutgoingEmail) -> None:
    parts = urlsplit(url)
    options = parse_qs(parts.query)
    message = EmailMessage()
    message["From"] = current_app.config["PORTAL_MAIL_FROM"]
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message.set_content(email.body)
    if email.html_body:
        message.add_alternative(email.html_body, subtype="html")
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with smtp_class(parts.hostname or "localhost", parts.port or 0, timeout=10) as smtp:
        if options.get("starttls", ["0"])[0] in ("1", "true", "yes"):
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)


def emails_for_request(session: Session, request: Request) -> list[OutgoingEmail]:
    """The emails sent about a request, oldest first."""
    return list(
        session.scalars(
            select(OutgoingEmail)
            .where(OutgoingEmail.request_id == request.id)
            .order_by(OutgoingEmail.id)
        )
    )
