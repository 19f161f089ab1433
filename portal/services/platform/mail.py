"""Outgoing email: queued in the outbox inside the transaction, delivered after the response.

Queuing inside the transaction means an email is never sent for work that was
rolled back; delivering after the response, each email sent with no
transaction open and its outcome written in a short transaction of its own,
means a slow mail server never holds a database lock nor the reply. A failed
delivery stays in the outbox with its error, and ``flask --app app
send-emails`` tries again: an email is never lost. One that can never be sent
(a header the mail library refuses) is marked failed with its reason.

Each email is written once, as text (``templates/email/<name>.txt``); the HTML
part is that text laid out by ``templates/email/_layout.html``, so the two can
never say different things.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...database import begin_write
from ...links import PortalLink
from ...models import Organisation, OutgoingEmail, Request, utcnow
from ...redaction import redact
from .runtime import Settings, runtime

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
    # A subject is one header line: a line break typed into a name it quotes
    # must not make the email unsendable (or add a header).
    subject = " ".join(subject.split())
    render = runtime(session).render
    body = render(f"email/{template}.txt", organisation=organisation, row=request, **context)
    email = OutgoingEmail(
        organisation_id=organisation.id if organisation else None,
        request_id=request.id if request else None,
        to_address=to,
        subject=subject,
        body=body,
        html_body=render(
            "email/_layout.html",
            subject=subject,
            # Only the links the service built (its session's Links) become links.
            paragraphs=html_paragraphs(
                body, [value for value in context.values() if isinstance(value, PortalLink)]
            ),
        ),
    )
    session.add(email)
    session.flush()
    session.info.setdefault(_QUEUED, []).append(email.id)
    return email


# The emails this session's transaction queued, to deliver once it commits.
_QUEUED = "portal_outbox_ids"


def take_queued(session: Session) -> list[int]:
    """The emails queued in ``session`` since the last call (its work committed:
    they are to be delivered; rolled back: they are gone with it)."""
    queued: list[int] = session.info.pop(_QUEUED, [])
    return queued


def html_paragraphs(text: str, links: Collection[str] = ()) -> list[Markup]:
    """Paragraphs of the text part, escaped, with our own links made links.

    Only ``links``, the addresses the service built on PORTAL_BASE_URL for
    this email, become links. An address a supplier or anyone else typed into
    a message, an answer or a name stays plain text, even one that looks like
    ours: an email from us never carries a link we did not make.
    """
    ours = {str(escape(link)) for link in links}
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        escaped = str(escape(block))
        linked = URL.sub(
            lambda m: (
                f'<a href="{m.group(0)}">{m.group(0)}</a>' if m.group(0) in ours else m.group(0)
            ),
            escaped,
        )
        # Escaped just above: only our own <a> and <br> are markup here.
        paragraphs.append(Markup(linked.replace("\n", "<br>\n")))  # noqa: S704  # nosec B704
    return paragraphs


def deliver_queued(session: Session) -> None:
    """Send what this command queued, after its commit (the CLI's twin of
    portal/after_response.py)."""
    deliver(session, take_queued(session))


@dataclass
class Delivery:
    """What one round of delivery did."""

    sent: int = 0
    waiting: int = 0  # not sent this time; tried again by send-emails
    refused: list[OutgoingEmail] = field(default_factory=list)  # never sendable: failed for good


def send_pending(session: Session) -> Delivery:
    """Try every email not yet sent (fewer than MAX_ATTEMPTS tries)."""
    ids = list(
        session.scalars(
            select(OutgoingEmail.id)
            .where(OutgoingEmail.sent_at.is_(None), OutgoingEmail.attempts < MAX_ATTEMPTS)
            .order_by(OutgoingEmail.id)
        )
    )
    session.commit()  # end the read: nothing is held while the mail server talks
    return deliver(session, ids)


def deliver(session: Session, ids: Iterable[int]) -> Delivery:
    """Send each email, then record its outcome in a short write of its own.

    No transaction is open while the mail server is talked to, so a slow
    server never holds SQLite's write lock (or a PostgreSQL row) against
    every other writer. One email that cannot be sent never stops the rest:
    it is marked failed with its reason and the next one goes.
    """
    done = Delivery()
    found = runtime(session)
    for email_id in ids:
        email = session.get(OutgoingEmail, email_id)
        session.commit()  # end the read; expire_on_commit is off, so the row stays readable
        if email is None or email.sent_at is not None:
            continue
        error, permanent = _send(found.settings, found.sent_mail, email)
        begin_write(session)
        email = session.get(OutgoingEmail, email_id, populate_existing=True)
        if email is None or email.sent_at is not None:
            session.rollback()
            continue
        email.attempts = MAX_ATTEMPTS if permanent else email.attempts + 1
        if error is None:
            done.sent += 1
            email.sent_at = utcnow()
            email.error = None
            # The body is kept as a record, but a link token must not outlive delivery.
            email.body = redact(email.body)
            email.html_body = redact(email.html_body or "") or None
        else:
            email.error = error
            if email.attempts >= MAX_ATTEMPTS:
                done.refused.append(email)
            else:
                done.waiting += 1
        session.commit()
    return done


def _send(
    settings: Settings, memory: list[dict[str, str]], email: OutgoingEmail
) -> tuple[str | None, bool]:
    """Hand one email to the mail server. Returns (error, permanent): an error
    the server may not repeat is tried again later; one in the email itself
    (a header it refuses) is marked failed for good with its reason."""
    smtp_url = settings.smtp_url
    try:
        if smtp_url.startswith("memory:"):
            # Kept in memory for tests and local tools, like Django's locmem backend.
            memory.append({"to": email.to_address, "subject": email.subject, "body": email.body})
        elif smtp_url:
            _send_smtp(smtp_url, settings.mail_from, email)
        else:
            # No mail server: the outbox table and the console are the delivery.
            log.info("Email to %s: %s\n%s", email.to_address, email.subject, email.body)
        return None, False
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("Email %s to %s not sent (try %s): %s", email.id, email.to_address,
                    email.attempts + 1, exc)  # fmt: skip
        return f"{type(exc).__name__}: {exc}", False
    except Exception as exc:  # the email itself is at fault: never block the queue on it
        log.error("Email %s to %s cannot be sent: %s", email.id, email.to_address, exc)
        return f"Cannot be sent: {type(exc).__name__}: {exc}", True


def _send_smtp(url: str, sender: str, email: OutgoingEmail) -> None:
    parts = urlsplit(url)
    options = parse_qs(parts.query)
    message = EmailMessage()
    message["From"] = sender
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
