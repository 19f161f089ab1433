"""The school's home page in figures: where requests stand and what is due.

Every figure is counted by the database: the page costs the same few
statements for a school with ten requests or ten thousand.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session, joinedload

from ...models import (
    ANSWERED_STATUSES,
    OPEN_STATUSES,
    UNDECIDED_STATUSES,
    Organisation,
    Request,
    RequestStatus,
    utcnow,
)

# "Due for annual review" starts this many days before the date, so there is time to act.
REVIEW_WARNING_DAYS = 30
# The overdue list names this many; the figure above it counts them all.
OVERDUE_SHOWN = 10


@dataclass
class Summary:
    by_status: Counter[str] = field(default_factory=Counter)
    overdue: list[Request] = field(default_factory=list)  # the longest overdue, up to OVERDUE_SHOWN
    overdue_count: int = 0
    to_decide: int = 0
    # The supplier register by the rating of each supplier's latest assessment.
    register: Counter[str | None] = field(default_factory=Counter)


def summarise(session: Session, organisation: Organisation, today: date | None = None) -> Summary:
    """The home page's figures for ``organisation``: four statements."""
    now = today or utcnow().date()
    mine = Request.organisation_id == organisation.id
    summary = Summary()
    for status, count in session.execute(
        select(Request.status, func.count()).where(mine).group_by(Request.status)
    ):
        summary.by_status[status] += count
    summary.to_decide = sum(
        summary.by_status[s] for s in UNDECIDED_STATUSES - {RequestStatus.CLARIFICATION}
    )
    late = and_(mine, Request.status.in_(OPEN_STATUSES), Request.due_date < now)
    summary.overdue_count = int(session.scalar(select(func.count()).where(late)) or 0)
    summary.overdue = list(
        session.scalars(
            select(Request)
            .where(late)
            .options(joinedload(Request.supplier))
            .order_by(Request.due_date, Request.id)
            .limit(OVERDUE_SHOWN)
        )
    )
    summary.register = Counter(
        {rating: count for rating, count in session.execute(latest_ratings(organisation))}
    )
    return summary


def latest_ratings(organisation: Organisation) -> Select[Any]:
    """(rating, suppliers): each supplier's latest answered request stands for
    it, a rated one above one never rated (a screening counts only while there
    is nothing else), then the newest."""
    ranked = (
        select(
            Request.rating,
            func.row_number()
            .over(
                partition_by=Request.supplier_id,
                order_by=(
                    case((Request.rating.is_(None), 1), else_=0),
                    func.coalesce(Request.submitted_at, Request.created_at).desc(),
                    Request.id.desc(),
                ),
            )
            .label("place"),
        )
        .where(
            Request.organisation_id == organisation.id,
            Request.status.in_(ANSWERED_STATUSES),
        )
        .subquery()
    )
    return (
        select(ranked.c.rating, func.count()).where(ranked.c.place == 1).group_by(ranked.c.rating)
    )
