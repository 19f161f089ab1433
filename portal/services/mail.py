"""Outgoing email: queued in the outbox inside the transaction, delivered after commit.

Queuing inside the transaction means an email is never sent for work that was
rolled back; delivering after the commit means a slow mail server never holds
a database lock.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, g, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Organisation, OutgoingEmail, Request, utcnow
from ..redaction import redact

log = logging.getLogger(__name__)


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
    """Render ``templates/email/<template>.txt`` into the outbox for delivery after commit.

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
    )
    session.add(email)
    session.flush()
    g.setdefault("outbox_ids", []).append(email.id)
    return email


def deliver_queued(session: Session) -> None:
    """Send what this request queued. Runs after the commit; failures are recorded."""
    ids = g.pop("outbox_ids", [])
    if not ids:
        return
    smtp_url = current_app.config["PORTAL_SMTP_URL"]
    for email in session.scalars(select(OutgoingEmail).where(OutgoingEmail.id.in_(ids))):
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
            # The body is kept as a record, but a link token must not outlive delivery.
            email.body = redact(email.body)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("Email %s to %s not sent: %s", email.id, email.to_address, exc)
            email.error = str(exc)
    session.commit()


def _send_smtp(url: str, email: OutgoingEmail) -> None:
    parts = urlsplit(url)
    options = parse_qs(parts.query)
    message = EmailMessage()
    message["From"] = current_app.config["PORTAL_MAIL_FROM"]
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message.set_content(email.body)
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
