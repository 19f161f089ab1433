"""The daily ask for renewed evidence (issue 26), part of ``flask
send-reminders``: 30 days before a piece of evidence runs out, and again
once it has, the supplier's contact is asked for the renewed document
(services/requests/renewals.py); a request whose evidence has run out is
judged again, so its stored rating says so.

Idempotent: each ask is recorded against the expiry it was for
(``tracked_evidence.asked_before_on`` / ``asked_after_on``), so a second run,
the same day or later, asks nothing new for it; and a request is asked at
most once a day, whoever asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ...models import (
    AWAITING_REVIEW_STATUSES,
    DECIDED_STATUSES,
    Request,
    TrackedEvidence,
    utcnow,
)
from ..errors import ServiceError
from ..requests import renewals
from ..requirements import ratings
from .reminders import one_run_at_a_time

# Asked of answers a school holds: not while the supplier is answering a
# clarification round (its link is open already).
ASKED_OF = [str(s) for s in AWAITING_REVIEW_STATUSES | DECIDED_STATUSES]


@dataclass(frozen=True)
class Asked:
    request: Request
    questions: tuple[str, ...]
    reason: str  # "before" or "after"


def renewals_due(session: Session, today: date) -> dict[int, list[TrackedEvidence]]:
    """Per request, the evidence to ask for today: running out within 30
    days, or run out, and not yet asked for that expiry. Only the latest
    answered request per school and supplier: an older one was superseded."""
    horizon = today + timedelta(days=renewals.ASK_DAYS_BEFORE)
    newest = (
        select(
            Request.id.label("request_id"),
            func.row_number()
            .over(
                partition_by=(Request.organisation_id, Request.supplier_id),
                order_by=(Request.submitted_at.desc(), Request.id.desc()),
            )
            .label("rank"),
        )
        .where(Request.status.in_(ASKED_OF))
        .subquery("newest")
    )
    expires = TrackedEvidence.expires_on
    rows = session.scalars(
        select(TrackedEvidence)
        .join(newest, newest.c.request_id == TrackedEvidence.request_id)
        .where(
            newest.c.rank == 1,
            or_(
                and_(
                    expires <= today,
                    or_(
                        TrackedEvidence.asked_after_on.is_(None),
                        TrackedEvidence.asked_after_on != expires,
                    ),
                ),
                and_(
                    expires > today,
                    expires <= horizon,
                    or_(
                        TrackedEvidence.asked_before_on.is_(None),
                        TrackedEvidence.asked_before_on != expires,
                    ),
                ),
            ),
        )
        .order_by(TrackedEvidence.request_id, TrackedEvidence.id)
    )
    due: dict[int, list[TrackedEvidence]] = {}
    for row in rows:
        due.setdefault(row.request_id, []).append(row)
    return due


def send_renewals(session: Session, today: date | None = None) -> list[Asked]:
    """Ask for today's renewals and judge again the requests whose evidence ran out."""
    one_run_at_a_time(session)
    today = today or utcnow().date()
    asked = []
    for request_id, rows in renewals_due(session, today).items():
        request = session.get(Request, request_id)
        if request is None:
            continue
        expired = any(row.expires_on is not None and row.expires_on <= today for row in rows)
        reason = "after" if expired else "before"
        try:
            renewals.ask(session, request, [row.question_id for row in rows], reason, today)
        except ServiceError:
            continue  # asked today already (by the school): tomorrow's run asks
        if expired:
            ratings.refresh_rating(session, request)
        asked.append(Asked(request, tuple(row.question_id for row in rows), reason))
    session.flush()
    return asked
