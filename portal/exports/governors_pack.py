"""The governors' pack as a PDF: one document for a governors' meeting, with
the school's DfE standards progress and plan, the RACI gaps, supplier reviews
due and overdue, open DPIAs, and evidence that has run out or soon will."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from .pdf import RestrictedFetcher, render_pdf
from .standards import DueRow, StandardRow


@dataclass(frozen=True)
class OpenDpia:
    title: str
    supplier: str
    status: str  # in words
    updated_on: date | None


@dataclass(frozen=True)
class WatchedEvidence:
    supplier: str
    what: str
    kind: str
    expires_on: date | None
    status: str  # in words


@dataclass(frozen=True)
class GovernorsPack:
    """Everything the pack shows (services/downloads/governors_pack.py gathers it)."""

    school: str
    digital_lead: str
    link_governor: str
    produced_at: datetime
    standards: Sequence[StandardRow]
    due: Sequence[DueRow]
    without_target: Sequence[str]
    raci_gaps: Sequence[tuple[str, str]]  # task, what is wrong
    suppliers: int
    supplier_reviews_overdue: int
    supplier_reviews_due_soon: int  # within REVIEW_WARNING_DAYS, not yet overdue
    warning_days: int
    dpias: Sequence[OpenDpia]
    expired: Sequence[WatchedEvidence]
    expired_total: int
    expiring: Sequence[WatchedEvidence]
    expiring_total: int

    def count(self, status: str) -> int:
        return sum(1 for s in self.standards if s.status == status)


def governors_pack_pdf(pack: GovernorsPack, fetcher: RestrictedFetcher | None = None) -> bytes:
    return render_pdf(
        "governors_pack.html",
        fetcher,
        p=pack,
        supplier_due=[d for d in pack.due if d.kind == "Supplier review"],
        other_due=[d for d in pack.due if d.kind != "Supplier review"],
    )
