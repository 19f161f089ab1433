"""Reminders to a school that its own reviews fall due: each supplier's annual
review (the register) and each standard's review date (the standards plan).

Sent once per item per due date, from REVIEW_WARNING_DAYS before it, to the SLT
digital lead, or to the organisation's admins while no lead is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import (
    Organisation,
    OrgKind,
    ReminderSent,
    StandardPlan,
    utcnow,
)
from ..accounts.users import person_or_admins
from ..platform.audit import record_event
from ..platform.mail import queue_email
from ..review.dashboard import REVIEW_WARNING_DAYS
from ..school import dpia
from ..school import register as supplier_register
from .reminders import one_run_at_a_time


@dataclass(frozen=True)
class DueItem:
    key: str  # "supplier:<id>", "standard:<name>" or "dpia:<id>"
    what: str
    due: date


@dataclass(frozen=True)
class ReviewReminder:
    organisation: Organisation
    items: tuple[DueItem, ...]
    to: tuple[str, ...]


def reviews_due(session: Session, today: date) -> list[ReviewReminder]:
    """Per school or trust: the reviews due within the warning window (or
    overdue) that it has not been reminded of for that date."""
    horizon = today + timedelta(days=REVIEW_WARNING_DAYS)
    found = []
    organisations = session.scalars(
        select(Organisation).where(Organisation.kind != OrgKind.CURATOR).order_by(Organisation.id)
    )
    for organisation in organisations:
        items = [
            DueItem(f"supplier:{entry.supplier.id}", f"Review {entry.supplier.name}", review)
            for entry in supplier_register.due_for_review(
                supplier_register.entries(session, organisation, today), today, REVIEW_WARNING_DAYS
            )
            if (review := entry.next_review_date) is not None
        ]
        items += [
            DueItem(f"standard:{plan.standard}", f"Review {plan.standard}", plan.next_review_date)
            for plan in session.scalars(
                select(StandardPlan).where(
                    StandardPlan.organisation_id == organisation.id,
                    StandardPlan.next_review_date <= horizon,
                )
            )
            if plan.next_review_date is not None
        ]
        items += [
            DueItem(f"dpia:{found.id}", f"Review the DPIA of {found.title}", found.next_review_date)
            for found in dpia.due_reviews(dpia.list_dpias(session, organisation))
            if found.next_review_date is not None and found.next_review_date <= horizon
        ]
        sent = {
            (row.item, row.due_date)
            for row in session.scalars(
                select(ReminderSent).where(ReminderSent.organisation_id == organisation.id)
            )
        }
        fresh = tuple(
            sorted((i for i in items if (i.key, i.due) not in sent), key=lambda i: (i.due, i.what))
        )
        if fresh:
            to = _recipients(session, organisation)
            if to:
                found.append(ReviewReminder(organisation, fresh, to))
    return found


def _recipients(session: Session, organisation: Organisation) -> tuple[str, ...]:
    return person_or_admins(session, organisation.id, organisation.digital_lead)


def send_review_reminders(session: Session, today: date | None = None) -> list[ReviewReminder]:
    """Queue today's review reminders and remember each item and date (once,
    however many servers run this at the same moment: one_run_at_a_time)."""
    one_run_at_a_time(session)
    today = today or utcnow().date()
    due = reviews_due(session, today)
    for reminder in due:
        organisation = reminder.organisation
        overdue = sum(1 for item in reminder.items if item.due < today)
        for address in reminder.to:
            queue_email(
                session,
                to=address,
                subject=(
                    f"{organisation.name}: {len(reminder.items)} review"
                    f"{'s' if len(reminder.items) != 1 else ''} due"
                    + (f", {overdue} overdue" if overdue else "")
                ),
                template="review_due",
                organisation=organisation,
                items=reminder.items,
                today=today,
            )
        for item in reminder.items:
            session.add(
                ReminderSent(organisation_id=organisation.id, item=item.key, due_date=item.due)
            )
        record_event(
            session, "review_reminder_sent", organisation=organisation, actor_label="Portal",
            items=[item.what for item in reminder.items],
        )  # fmt: skip
    session.flush()
    return due
