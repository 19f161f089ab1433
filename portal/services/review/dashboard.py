"""The school's home page in figures: where requests stand and what is due."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from ...models import (
    ANSWERED_STATUSES,
    OPEN_STATUSES,
    UNDECIDED_STATUSES,
    Request,
    RequestStatus,
    utcnow,
)

# "Due for annual review" starts this many days before the date, so there is time to act.
REVIEW_WARNING_DAYS = 30


@dataclass
class Summary:
    by_status: Counter[str] = field(default_factory=Counter)
    overdue: list[Request] = field(default_factory=list)
    to_decide: list[Request] = field(default_factory=list)
    # The supplier register by the rating of each supplier's latest assessment.
    register: Counter[str | None] = field(default_factory=Counter)


def summarise(requests: list[Request], today: date | None = None) -> Summary:
    """Figures from the organisation's requests (already loaded for the list)."""
    now = today or utcnow().date()
    summary = Summary()
    latest: dict[int, Request] = {}
    for row in requests:
        summary.by_status[row.status] += 1
        if row.status in OPEN_STATUSES and row.due_date is not None and row.due_date < now:
            summary.overdue.append(row)
        if row.status in UNDECIDED_STATUSES - {RequestStatus.CLARIFICATION}:
            summary.to_decide.append(row)
        if row.status in ANSWERED_STATUSES:
            # A supplier's latest rated assessment stands for it; a screening
            # (never rated) only while there is nothing else.
            shown = latest.get(row.supplier_id)
            if shown is None or _ranks_above(row, shown):
                latest[row.supplier_id] = row
    summary.register = Counter(row.rating for row in latest.values())
    summary.overdue.sort(key=lambda r: r.due_date or now)
    return summary


def _ranks_above(row: Request, shown: Request) -> bool:
    def rank(r: Request) -> tuple[bool, datetime]:
        return (r.rating is not None, r.submitted_at or r.created_at)

    return rank(row) > rank(shown)
