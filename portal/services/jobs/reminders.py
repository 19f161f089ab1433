"""Reminders to suppliers whose answers are due soon or overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import OPEN_STATUSES, AuditEvent, Request, User, utcnow
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.mail import queue_email
from ..platform.runtime import runtime
from ..requests.lifecycle import link_is_live


@dataclass(frozen=True)
class Reminder:
    request: Request
    kind: str  # "due_soon", "overdue", or "nudge" (sent by the school, no due date)
    days: int  # days until due (negative when overdue)


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
    today = today or utcnow().date()
    sent = reminders_due(session, today)
    for reminder in sent:
        _send(session, reminder, None)
    return sent


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
