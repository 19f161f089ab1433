"""The school's home page in figures: where requests stand and what is due."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from ..models import Request, RequestStatus, utcnow
from .ratings import DECIDED_STATUSES, UNDECIDED_STATUSES
from .requests import OPEN_STATUSES

# "Due for annual review" starts this many days before the date, so there is time to act.
REVIEW_WARNING_DAYS = 30
RATINGS = ("green", "amber", "red", None)


@dataclass
class Summary:
    by_status: Counter[str] = field(default_factory=Counter)
    overdue: list[Request] = field(default_factory=list)
    to_decide: list[Request] = field(default_factory=list)
    review_due: list[Request] = field(default_factory=list)
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
        if (
            row.status in DECIDED_STATUSES
            and row.next_review_date is not None
            and row.next_review_date <= now + timedelta(days=REVIEW_WARNING_DAYS)
        ):
            summary.review_due.append(row)
        if row.status in UNDECIDED_STATUSES | DECIDED_STATUSES:
            # Newest first: a later assessment of a supplier replaces an earlier one.
            shown = latest.get(row.supplier_id)
            if shown is None or (row.submitted_at or row.created_at) > (
                shown.submitted_at or shown.created_at
            ):
                latest[row.supplier_id] = row
    summary.register = Counter(row.rating for row in latest.values())
    summary.overdue.sort(key=lambda r: r.due_date or now)
    summary.review_due.sort(key=lambda r: r.next_review_date or now)
    return summary
