"""Outgoing email: queued in the outbox inside the transaction, delivered after the response.

Queuing inside the transaction means an email is never sent for work that was
rolled back; delivering after the response, each email sent with no
transaction open and its outcome written in a short transaction of its own,
means a slow mail server never holds a database lock nor the reply. A failed
delivery stays in the outbox with its error, and ``flask --app app
send-emails`` tries again: an email is never lost. One that can never be sent
(a header the mail library refuses) is marked failed with its reason.

Every sender claims an email before sending it (:func:`claim`): the request
that queued it, ``send-emails``, and the outbox worker of each app server
(``send-emails --watch``, when EMAIL_DELIVERY = "worker" leaves the sending
to it). So however many servers and workers share the database, each email
goes once; one whose sender died is sent when its claim lapses.

Each email is written once, as text (``templates/email/<name>.txt``); the HTML
part is that text laid out by ``templates/email/_layout.html``, so the two can
never say different things.
"""

from __future__ import annotations

import logging
import re
import smtplib
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from markupsafe import Markup, escape
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
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
    claimed: int = 0  # emails this round took to send

    def add(self, other: Delivery) -> None:
        self.sent += other.sent
        self.waiting += other.waiting
        self.refused += other.refused
        self.claimed += other.claimed


# How long a claim keeps an email from every other sender. Longer than a
# batch takes (BATCH emails, each with SMTP's 10 s timeout); a sender that
# died lets its claims lapse after this, and the emails go out then.
LEASE = timedelta(minutes=5)
BATCH = 10
# An email is not sent on a claim with less than this left of it: another
# sender may take it over when the lease ends, and an email must go once.
LEASE_MARGIN = timedelta(seconds=30)


def retry_delay(attempts: int) -> timedelta:
    """The wait after a failed try: 1, 2, 4 ... minutes, at most 4 hours, so
    MAX_ATTEMPTS tries span a mail server's outage of about 8 hours (a worker
    polling every few seconds would otherwise spend them all in a minute)."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 240))


@dataclass(frozen=True)
class Claim:
    emails: list[OutgoingEmail]  # as read when claimed: the rest of their row is theirs
    until: datetime  # the lease, as written on each claimed row

    @property
    def ids(self) -> list[int]:
        return [email.id for email in self.emails]


def claim(
    session: Session,
    *,
    ids: Collection[int] | None = None,
    limit: int | None = None,
    when_due: bool = True,
) -> Claim:
    """Take unsent emails (of ``ids``, or any) for this sender alone, in a
    short transaction of its own, committed before anything is sent.

    On PostgreSQL the rows are read ``FOR UPDATE SKIP LOCKED``: two workers
    claiming at once each get different emails and neither waits for the
    other; the condition on ``claimed_until`` is checked again on a row
    another claim has just committed, so a row is never claimed twice. On
    SQLite (one writer at a time) the transaction begins IMMEDIATE, which
    makes the read and the update one atomic step. ``when_due`` leaves alone
    an email waiting out its retry delay (the worker); without it a failed
    email is tried now (``send-emails`` run by hand, once a mail server is
    back)."""
    now = utcnow()
    until = now + LEASE
    if ids is not None and not ids:
        return Claim([], until)
    query = (
        select(OutgoingEmail)
        .where(
            OutgoingEmail.sent_at.is_(None),
            OutgoingEmail.attempts < MAX_ATTEMPTS,
            or_(OutgoingEmail.claimed_until.is_(None), OutgoingEmail.claimed_until < now),
        )
        .order_by(OutgoingEmail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        query = query.where(OutgoingEmail.id.in_(list(ids)))
    if when_due:
        query = query.where(or_(OutgoingEmail.retry_at.is_(None), OutgoingEmail.retry_at <= now))
    begin_write(session)
    taken = list(session.scalars(query.execution_options(populate_existing=True)))
    for email in taken:
        email.claimed_until = until
    session.commit()
    return Claim(taken, until)


def send_pending(session: Session) -> Delivery:
    """Try every email not yet sent (fewer than MAX_ATTEMPTS tries), now,
    even one waiting out its retry delay; one a worker holds is its own."""
    ids = list(
        session.scalars(
            select(OutgoingEmail.id)
            .where(OutgoingEmail.sent_at.is_(None), OutgoingEmail.attempts < MAX_ATTEMPTS)
            .order_by(OutgoingEmail.id)
        )
    )
    session.commit()  # end the read: nothing is held while the mail server talks
    done = Delivery()
    # In batches: each claim is sent well within its lease.
    for start in range(0, len(ids), BATCH):
        done.add(
            send_claimed(session, claim(session, ids=ids[start : start + BATCH], when_due=False))
        )
    return done


def send_due(session: Session, limit: int = BATCH, stop: threading.Event | None = None) -> Delivery:
    """One round of the outbox worker: claim up to ``limit`` emails due to be
    sent (new, or past their retry delay, or left by a sender that died) and
    send them; once ``stop`` is set, give back the claims not yet sent."""
    return send_claimed(session, claim(session, limit=limit), stop)


def watch_outbox(
    session: Session,
    stop: threading.Event,
    every: float,
    report: Callable[[Delivery], object] = lambda done: None,
) -> None:
    """The outbox worker (``send-emails --watch``): send what is due, again
    and again, resting ``every`` seconds when nothing is; until ``stop`` is
    set, which ends it between two emails' rounds (a round is at most BATCH
    emails). A database that is away for a moment is waited out."""
    while not stop.is_set():
        try:
            done = send_due(session, stop=stop)
        except SQLAlchemyError:
            session.rollback()
            log.exception("The outbox worker could not reach the database; trying again")
            stop.wait(every)
            continue
        if done.claimed:
            report(done)
        else:
            stop.wait(every)


def deliver(session: Session, ids: Iterable[int]) -> Delivery:
    """Claim these emails, then send each (see :func:`send_claimed`). One that
    a worker or another request holds, or has sent, is theirs."""
    return send_claimed(session, claim(session, ids=list(ids), when_due=False))


def send_claimed(session: Session, claimed: Claim, stop: threading.Event | None = None) -> Delivery:
    """Send each claimed email, then record its outcome in a short write of its own.

    No transaction is open while the mail server is talked to, so a slow
    server never holds SQLite's write lock (or a PostgreSQL row) against
    every other writer. One email that cannot be sent never stops the rest:
    it is marked failed with its reason and the next one goes.
    """
    done = Delivery(claimed=len(claimed.emails))
    found = runtime(session)
    for number, email in enumerate(claimed.emails):
        stopping = stop is not None and stop.is_set()
        # With too little of the lease left, another sender could take an
        # email over while it is with the mail server: give the rest back.
        if stopping or claimed.until - utcnow() < LEASE_MARGIN:
            _give_back(session, claimed.ids[number:], claimed.until)
            break
        error, permanent = _send(found.settings, found.sent_mail, email)
        begin_write(session)
        row = session.get(OutgoingEmail, email.id, populate_existing=True)
        if row is None or row.sent_at is not None:
            session.rollback()
            continue
        email = row
        email.attempts = MAX_ATTEMPTS if permanent else email.attempts + 1
        email.claimed_until = None
        if error is None:
            done.sent += 1
            email.sent_at = utcnow()
            email.error = None
            email.retry_at = None
            # The body is kept as a record, but a link token must not outlive delivery.
            email.body = redact(email.body)
            email.html_body = redact(email.html_body or "") or None
        else:
            email.error = error
            email.retry_at = utcnow() + retry_delay(email.attempts)
            if email.attempts >= MAX_ATTEMPTS:
                done.refused.append(email)
            else:
                done.waiting += 1
        session.commit()
    return done


def _give_back(session: Session, ids: list[int], until: datetime) -> None:
    """Release claims not used (the worker stops): another sends them now,
    not when the lease ends."""
    begin_write(session)
    session.execute(
        update(OutgoingEmail)
        .where(OutgoingEmail.id.in_(ids), OutgoingEmail.claimed_until == until)
        .values(claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


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
