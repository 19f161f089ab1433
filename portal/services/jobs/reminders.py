"""Reminders to suppliers whose answers are due soon or overdue.

Sent once a day by ``flask send-reminders`` from cron. With several app
servers each may run that cron; :func:`one_run_at_a_time` makes two runs at
the same moment take turns, and the second then finds every reminder of the
day already recorded (the audit event per request per day, ReminderSent per
review item and due date) and sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ...database import begin_write
from ...models import OPEN_STATUSES, AuditEvent, Request, User, utcnow
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.mail import queue_email
from ..platform.runtime import runtime
from ..requests import answering, colleagues
from ..requests.lifecycle import link_is_live


@dataclass(frozen=True)
class Reminder:
    request: Request
    kind: str  # "due_soon", "overdue", or "nudge" (sent by the school, no due date)
    days: int  # days until due (negative when overdue)


# Any number of our own choosing, the same on every server: PostgreSQL's
# advisory locks are named by a 64-bit integer.
REMINDERS_LOCK = 0x706F7274616C01  # "portal" and 1


def one_run_at_a_time(session: Session) -> None:
    """Begin the reminders' transaction so that no other run of them works
    meanwhile, on any server: the second waits for the first to commit, then
    reads what it recorded.

    A lock for the whole run, not a claim per item and day: the run is a few
    queries and writes once a day, so waiting costs nothing, and the records
    of what was sent (the audit event per request per day, ReminderSent per
    review item) stay the one test of "already reminded", with no second
    table of claims to keep in step. On PostgreSQL an advisory lock held
    until the transaction ends (it blocks nothing but another run); on SQLite
    the transaction begins IMMEDIATE, which admits one writer at a time."""
    if not session.in_transaction():
        begin_write(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REMINDERS_LOCK})


def reminders_due(session: Session, today: date) -> list[Reminder]:
    """Open requests that should be reminded today, none reminded already today."""
    settings = runtime(session).settings
    before = settings.reminder_days_before
    every = settings.reminder_overdue_every_days
    candidates = session.scalars(
        select(Request)
        .where(Request.status.in_([str(s) for s in OPEN_STATUSES]), Request.due_date.is_not(None))
        .order_by(Request.id)
    )
    due: list[Reminder] = []
    for request in candidates:
        if request.due_date is None:  # excluded by the query; this narrows the type
            continue
        days = (request.due_date - today).days
        if days in before:
            kind = "due_soon"
        elif days < 0 and (-days) % every == 0:
            kind = "overdue"
        else:
            continue
        if link_is_live(request) and not _reminded_on(session, request, today):
            due.append(Reminder(request, kind, days))
    return due


def _reminded_on(session: Session, request: Request, today: date) -> bool:
    events = session.scalars(
        select(AuditEvent.created_at).where(
            AuditEvent.request_id == request.id, AuditEvent.action == "reminder_sent"
        )
    )
    return any(created.date() == today for created in events)


def send_reminders(session: Session, today: date | None = None) -> list[Reminder]:
    """Queue today's reminders and record each on its request's timeline."""
    one_run_at_a_time(session)
    today = today or utcnow().date()
    sent = reminders_due(session, today)
    for reminder in sent:
        _send(session, reminder, None)
    return sent


def _remind_colleagues(session: Session, reminder: Reminder) -> None:
    """Whoever holds an unfinished section is reminded too (issue 25): a
    colleague the contact handed it to, with their own sections named."""
    request = reminder.request
    unfinished = {p.section.id for p in answering.progress(request) if p.needed and not p.complete}
    for colleague in colleagues.holding(session, request, unfinished):
        queue_email(
            session,
            to=colleague.email,
            subject=f"Reminder: {request.contact_name} needs your answers for "
            f"{request.organisation.name}",
            template="colleague_reminder",
            organisation=request.organisation,
            request=request,
            colleague=colleague,
            sections=[p.section.title for p in answering.progress(request)
                      if p.section.id in unfinished and p.section.id in colleague.sections],
        )  # fmt: skip
        colleague.reminded_at = utcnow()


def remind_now(session: Session, request: Request, actor: User) -> Reminder:
    """A reminder the school sends when it chooses (the API's remind)."""
    if request.status not in OPEN_STATUSES:
        raise ServiceError("Only a request the supplier is still answering can be reminded")
    if not link_is_live(request):
        raise ServiceError(
            "The supplier's link no longer works: reissue it instead, which emails a new link"
        )
    days = (request.due_date - utcnow().date()).days if request.due_date else 0
    kind = "nudge" if request.due_date is None else "overdue" if days < 0 else "due_soon"
    reminder = Reminder(request, kind, days)
    _send(session, reminder, actor)
    return reminder


def _send(session: Session, reminder: Reminder, actor: User | None) -> None:
    request = reminder.request
    _remind_colleagues(session, reminder)
    queue_email(
        session,
        to=request.contact_email,
        subject=(
            f"Reminder: {request.organisation.name} needs your answers by {_day(request.due_date)}"
            if reminder.kind == "due_soon"
            else f"Overdue: {request.organisation.name} is waiting for your answers"
            if reminder.kind == "overdue"
            else f"Reminder: {request.organisation.name} is waiting for your answers"
        ),
        template="reminder",
        organisation=request.organisation,
        request=request,
        reminder=reminder,
    )
    record_event(
        session,
        "reminder_sent",
        organisation=request.organisation,
        actor=actor,
        actor_label=None if actor else "Portal",
        request=request,
        kind=reminder.kind,
        days=reminder.days,
    )


def _day(value: date | None) -> str:
    return "" if value is None else f"{value.day} {value:%B %Y}"
