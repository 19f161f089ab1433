"""A school's supplier register: every supplier it uses, with what it buys,
the contract, the data the supplier holds, the latest assessment (a request,
or a directory entry it adopted) and the annual review.

A supplier is in the register once it has a row of its own (added by hand)
or the school has assessed it; contract details and the review date can be
added to either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ...exports.supplier_register import LatestAssessment, SupplierRow
from ...models import (
    ANSWERED_STATUSES,
    CATEGORIES,
    DECIDED_STATUSES,
    Adoption,
    Dpia,
    Organisation,
    Request,
    RequestOnBehalf,
    RequestStatus,
    Supplier,
    SupplierUse,
    User,
    utcnow,
)
from ...vocabulary import DPIA_STATUS_LABELS
from ..directory import adoption as directory_adoption
from ..directory import search as directory_search
from ..errors import ServiceError
from ..platform.audit import record_event
from ..requests.lifecycle import STATUS_LABELS
from ..requirements import ratings
from . import dpia

CATEGORY_LABELS = dict(CATEGORIES)
# The DfE expects IT support, and we expect every supplier holding pupil data,
# to be reviewed at least once a year.
REVIEW_MONTHS = 12
TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Assessment:
    """The assessment that stands for a supplier: a request or an adoption."""

    kind: str  # "request" or "directory"
    label: str  # "DD-7K2M9Q (accepted with conditions)" or "Directory entry 12"
    on: datetime
    rating: str | None
    decision: str
    conditions: tuple[str, ...]
    next_review_date: date | None
    request_id: int | None = None
    entry_id: int | None = None
    # Made by the school's trust on its behalf: the school reads it, read only.
    on_behalf: bool = False


@dataclass(frozen=True)
class RegisterEntry:
    supplier: Supplier
    use: SupplierUse | None
    latest: Assessment | None
    today: date
    # The review date of the newest decided assessment, which stands while a
    # newer one waits for its decision.
    decided_review: date | None = None
    # The newest full DPIA of the supplier's tool, if the school has begun one.
    dpia: Dpia | None = None

    @property
    def category(self) -> str:
        key = self.use.category if self.use else None
        return CATEGORY_LABELS.get(key or "", "")

    @property
    def next_review_date(self) -> date | None:
        """The school's own date if it set one, else the latest decision's."""
        if self.use and self.use.next_review_date:
            return self.use.next_review_date
        if self.latest and self.latest.next_review_date:
            return self.latest.next_review_date
        return self.decided_review

    @property
    def overdue(self) -> bool:
        return self.next_review_date is not None and self.next_review_date < self.today

    @property
    def contract_ended(self) -> bool:
        end = self.use.contract_end if self.use else None
        return end is not None and end < self.today


def entries(
    session: Session, organisation: Organisation, today: date | None = None
) -> list[RegisterEntry]:
    """Every supplier in the register, by name."""
    today = today or utcnow().date()
    uses = {
        use.supplier_id: use
        for use in session.scalars(
            select(SupplierUse)
            .where(SupplierUse.organisation_id == organisation.id)
            .options(joinedload(SupplierUse.supplier))
        )
    }
    suppliers = {use.supplier_id: use.supplier for use in uses.values()}
    latest: dict[int, Assessment] = {}
    decided: dict[int, date] = {}  # the newest decided assessment's review date
    asked_for_us = select(RequestOnBehalf.request_id).where(
        RequestOnBehalf.organisation_id == organisation.id
    )
    requests = session.scalars(
        select(Request)
        .where(
            (Request.organisation_id == organisation.id) | Request.id.in_(asked_for_us),
            Request.status.not_in([RequestStatus.DRAFT, RequestStatus.REVOKED]),
        )
        .options(joinedload(Request.supplier), joinedload(Request.organisation))
        .order_by(Request.created_at, Request.id)
    )
    for row in requests:
        suppliers.setdefault(row.supplier_id, row.supplier)
        found = (
            _of_request(row)
            if row.organisation_id == organisation.id
            else _of_trust_request(session, row, organisation)
        )
        if _stands_above(found, latest.get(row.supplier_id)):
            latest[row.supplier_id] = found
        if found.next_review_date is not None:  # oldest first: the newest wins
            decided[row.supplier_id] = found.next_review_date
    for adoption in directory_adoption.adoptions(session, organisation):
        supplier = adoption.entry.supplier
        suppliers.setdefault(supplier.id, supplier)
        found = _of_adoption(session, organisation, adoption)
        if _stands_above(found, latest.get(supplier.id)):
            latest[supplier.id] = found
        if found.next_review_date is not None and supplier.id not in decided:
            decided[supplier.id] = found.next_review_date
    dpias = dpia.latest_by_supplier(session, organisation)
    return sorted(
        (
            RegisterEntry(
                supplier, uses.get(sid), latest.get(sid), today, decided.get(sid), dpias.get(sid)
            )
            for sid, supplier in suppliers.items()
        ),
        key=lambda e: e.supplier.name.lower(),
    )


def entry_for(
    session: Session, organisation: Organisation, supplier_id: int
) -> RegisterEntry | None:
    """This supplier's entry in the organisation's register (a row of its own,
    a request, one made on its behalf, or an adoption), or None: suppliers are
    shared between schools, and another school's are not ours to see."""
    return next((e for e in entries(session, organisation) if e.supplier.id == supplier_id), None)


def due_for_review(found: list[RegisterEntry], today: date, days: int) -> list[RegisterEntry]:
    """Suppliers whose review is due within ``days`` or overdue, soonest first."""
    horizon = today + timedelta(days=days)
    due = [e for e in found if e.next_review_date is not None and e.next_review_date <= horizon]
    return sorted(due, key=lambda e: (e.next_review_date or today, e.supplier.name))


def sheet_rows(found: Sequence[RegisterEntry]) -> list[SupplierRow]:
    """The register as its workbook lays it out, in words."""
    return [
        SupplierRow(
            supplier=entry.supplier.name,
            category=entry.category,
            contract_start=entry.use.contract_start if entry.use else None,
            contract_end=entry.use.contract_end if entry.use else None,
            data_held=(entry.use.data_held if entry.use else None) or "",
            latest=None
            if entry.latest is None
            else LatestAssessment(
                entry.latest.label,
                entry.latest.rating,
                entry.latest.decision,
                entry.latest.conditions,
            ),
            last_reviewed_on=entry.use.last_reviewed_on if entry.use else None,
            next_review_date=entry.next_review_date,
            overdue=entry.overdue,
            notes=(entry.use.notes if entry.use else None) or "",
            dpia=None if entry.dpia is None else DPIA_STATUS_LABELS[entry.dpia.status],
        )
        for entry in found
    ]


def _of_request(row: Request) -> Assessment:
    status = STATUS_LABELS[RequestStatus(row.status)]
    decided = row.status in DECIDED_STATUSES
    return Assessment(
        kind="request",
        label=f"{row.reference} ({status.lower()})",
        on=row.submitted_at or row.created_at,
        rating=row.rating if row.status in ANSWERED_STATUSES else None,
        decision=status if decided else "Not decided",
        conditions=tuple(row.decision_conditions or ()) if decided else (),
        next_review_date=row.next_review_date if decided else None,
        request_id=row.id,
    )


def _of_trust_request(session: Session, row: Request, school: Organisation) -> Assessment:
    """The trust's request for this school, rated against the school's own rules."""
    own = _of_request(row)
    rating = (
        ratings.comparison_for_school(session, row, school).rating
        if row.status in ANSWERED_STATUSES
        else None
    )
    return replace(
        own,
        label=f"{row.reference} (by {row.organisation.name}, {own.label.split('(', 1)[1]}",
        rating=rating,
        on_behalf=True,
    )


def _of_adoption(session: Session, organisation: Organisation, adoption: Adoption) -> Assessment:
    entry = adoption.entry
    comparison = directory_search.comparison_for_school(session, entry, organisation)
    return Assessment(
        kind="directory",
        label=f"Directory entry {entry.listing_id} (adopted)",
        on=adoption.adopted_at,
        rating=comparison.rating,
        decision="Adopted from the directory",
        conditions=(),
        next_review_date=adoption.adopted_at.date() + timedelta(days=365),
        entry_id=entry.id,
    )


def _stands_above(found: Assessment, shown: Assessment | None) -> bool:
    """A rated assessment stands above one without a rating; then the newer."""
    if shown is None:
        return True
    return (found.rating is not None, found.on) >= (shown.rating is not None, shown.on)


@dataclass(frozen=True)
class Details:
    category: str | None
    contract_start: date | None
    contract_end: date | None
    data_held: str
    notes: str
    next_review_date: date | None


def supplier_named(session: Session, name: str) -> Supplier:
    """The supplier of this name (any school's), or a new one."""
    clean = " ".join(name.split())
    if not clean:
        raise ServiceError("Enter the supplier's name", "supplier_name")
    if len(clean) > 200:
        raise ServiceError("Supplier name must be 200 characters or fewer", "supplier_name")
    found = session.scalar(select(Supplier).where(func.lower(Supplier.name) == clean.lower()))
    if found is None:
        found = Supplier(name=clean)
        session.add(found)
        session.flush()
    return found


def find_use(session: Session, organisation: Organisation, supplier_id: int) -> SupplierUse | None:
    return session.scalar(
        select(SupplierUse).where(
            SupplierUse.organisation_id == organisation.id, SupplierUse.supplier_id == supplier_id
        )
    )


def save_details(
    session: Session,
    organisation: Organisation,
    actor: User,
    supplier: Supplier,
    details: Details,
) -> SupplierUse:
    if details.category and details.category not in CATEGORY_LABELS:
        raise ServiceError("Choose a category from the list", "category")
    if (
        details.contract_start
        and details.contract_end
        and details.contract_end < details.contract_start
    ):
        raise ServiceError("The contract cannot end before it starts", "contract_end")
    for name, text in (("data_held", details.data_held), ("notes", details.notes)):
        if len(text) > TEXT_LIMIT:
            raise ServiceError(f"Enter {TEXT_LIMIT:,} characters or fewer", name)
    use = find_use(session, organisation, supplier.id)
    if use is None:
        use = SupplierUse(organisation_id=organisation.id, supplier_id=supplier.id)
        session.add(use)
    use.category = details.category or None
    use.contract_start, use.contract_end = details.contract_start, details.contract_end
    use.data_held = details.data_held.strip() or None
    use.notes = details.notes.strip() or None
    use.next_review_date = details.next_review_date
    record_event(
        session, "register_updated", organisation=organisation, actor=actor,
        supplier=supplier.name,
    )  # fmt: skip
    session.flush()
    return use


def record_review(
    session: Session,
    organisation: Organisation,
    actor: User,
    supplier: Supplier,
    today: date | None = None,
) -> SupplierUse:
    """The annual review is done: today is the last review, and the next is a
    year on."""
    today = today or utcnow().date()
    use = find_use(session, organisation, supplier.id)
    if use is None:
        use = SupplierUse(organisation_id=organisation.id, supplier_id=supplier.id)
        session.add(use)
    use.last_reviewed_on = today
    use.next_review_date = _months_on(today, REVIEW_MONTHS)
    record_event(
        session, "supplier_reviewed", organisation=organisation, actor=actor,
        supplier=supplier.name, next_review_date=use.next_review_date.isoformat(),
    )  # fmt: skip
    session.flush()
    return use


def _months_on(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # unreachable: every month has 28 days
