"""A school's supplier register: every supplier it uses, with what it buys,
the contract, the data the supplier holds, the latest assessment (a request,
or a directory entry it adopted) and the annual review.

A supplier is in the register once it has a row of its own (added by hand)
or the school has assessed it; contract details and the review date can be
added to either.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    Subquery,
    case,
    func,
    literal,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from ...exports.supplier_register import LatestAssessment, SupplierRow
from ...models import (
    ANSWERED_STATUSES,
    CATEGORIES,
    DECIDED_STATUSES,
    Adoption,
    DirectoryEntry,
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
from ..directory import entry_evidence
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.paging import PAGE_SIZE, Page, page_of
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
    # An adopted entry's first evidence expiry, and the day its evidence first
    # ran out if any has (issue 26): "Evidence expired on ..." on its line.
    evidence_expires: date | None = None
    evidence_expired_on: date | None = None


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


# Requests that put a supplier in the register: any but a draft or a revoked one.
_NOT_ASSESSING = (RequestStatus.DRAFT, RequestStatus.REVOKED)


def _assessing(organisation_ids: Collection[int]) -> Subquery:
    """(organisation_id, request_id, supplier_id, rating, on_behalf): each
    organisation's own requests, and its trust's made on its behalf (with
    the rating kept for that school), that put a supplier in its register.
    A rating counts once the request is answered."""
    answered = Request.status.in_(ANSWERED_STATUSES)
    own = select(
        Request.organisation_id.label("organisation_id"),
        Request.id.label("request_id"),
        Request.supplier_id.label("supplier_id"),
        case((answered, Request.rating), else_=None).label("rating"),
        literal(False).label("on_behalf"),
    ).where(Request.organisation_id.in_(organisation_ids), Request.status.not_in(_NOT_ASSESSING))
    theirs = (
        select(
            RequestOnBehalf.organisation_id,
            Request.id,
            Request.supplier_id,
            case((answered, RequestOnBehalf.rating), else_=None),
            literal(True),
        )
        .join(RequestOnBehalf, RequestOnBehalf.request_id == Request.id)
        .where(
            RequestOnBehalf.organisation_id.in_(organisation_ids),
            Request.status.not_in(_NOT_ASSESSING),
        )
    )
    return union_all(own, theirs).subquery("assessing")


def register_suppliers(organisation: Organisation) -> CompoundSelect[tuple[int]]:
    """The ids of every supplier in the register: a row of its own, a request,
    one made on its behalf, or an adopted entry."""
    assessing = _assessing([organisation.id])
    adopted = (
        select(DirectoryEntry.supplier_id)
        .join(Adoption, Adoption.entry_id == DirectoryEntry.id)
        .where(Adoption.organisation_id == organisation.id)
    )
    return union(
        select(SupplierUse.supplier_id).where(SupplierUse.organisation_id == organisation.id),
        select(assessing.c.supplier_id),
        adopted,
    )


def entries(
    session: Session,
    organisation: Organisation,
    today: date | None = None,
    suppliers: Collection[int] | None = None,
) -> list[RegisterEntry]:
    """Every supplier in the register (or those of ``suppliers``), by name."""
    return entries_for(session, [organisation], today, suppliers)[organisation.id]


def entries_for(
    session: Session,
    organisations: Sequence[Organisation],
    today: date | None = None,
    suppliers: Collection[int] | None = None,
) -> dict[int, list[RegisterEntry]]:
    """Each organisation's register (a trust's schools side by side), by name.

    A supplier's latest assessment and its newest decision are picked by the
    database (window functions), so the cost follows the suppliers listed,
    not the requests behind them: the same six statements for one school or
    a trust's fifty, whatever their history.
    """
    today = today or utcnow().date()
    ids = [o.id for o in organisations]

    def only(query: Select[Any], column: Any) -> Select[Any]:
        return query if suppliers is None else query.where(column.in_(suppliers))

    uses: dict[tuple[int, int], SupplierUse] = {
        (use.organisation_id, use.supplier_id): use
        for use in session.scalars(
            only(
                select(SupplierUse).where(SupplierUse.organisation_id.in_(ids)),
                SupplierUse.supplier_id,
            )
        )
    }
    assessing = _assessing(ids)
    per_supplier = (assessing.c.organisation_id, assessing.c.supplier_id)
    on = func.coalesce(Request.submitted_at, Request.created_at)
    # A rated assessment stands above one without a rating; then the newer
    # (_stands_above); ties go to the later request.
    latest = only(
        select(
            assessing.c.organisation_id,
            assessing.c.request_id,
            assessing.c.rating,
            assessing.c.on_behalf,
            func.row_number()
            .over(
                partition_by=per_supplier,
                order_by=(
                    case((assessing.c.rating.is_(None), 1), else_=0),
                    on.desc(),
                    Request.created_at.desc(),
                    Request.id.desc(),
                ),
            )
            .label("place"),
        ).join(Request, Request.id == assessing.c.request_id),
        assessing.c.supplier_id,
    ).subquery()
    # The review date of the newest decided request stands while a newer one waits.
    decided = only(
        select(
            assessing.c.organisation_id,
            assessing.c.supplier_id,
            Request.next_review_date,
            func.row_number()
            .over(
                partition_by=per_supplier, order_by=(Request.created_at.desc(), Request.id.desc())
            )
            .label("place"),
        )
        .join(Request, Request.id == assessing.c.request_id)
        .where(Request.status.in_(DECIDED_STATUSES), Request.next_review_date.is_not(None)),
        assessing.c.supplier_id,
    ).subquery()
    review_dates: dict[tuple[int, int], date] = {
        (organisation_id, supplier_id): day
        for organisation_id, supplier_id, day in session.execute(
            select(decided.c.organisation_id, decided.c.supplier_id, decided.c.next_review_date)
            .where(decided.c.place == 1)
        )
    }  # fmt: skip
    found: dict[tuple[int, int], Assessment] = {}
    names: dict[int, Supplier] = {}
    in_register: dict[int, set[int]] = {i: {sid for (o, sid) in uses if o == i} for i in ids}
    # Plain rows, not ORM objects: one per supplier of every school listed
    # (a trust's overview reads a thousand), and the register shows only these.
    for row in session.execute(
        select(
            latest.c.organisation_id,
            latest.c.rating,
            latest.c.on_behalf,
            Request.id,
            Request.reference,
            Request.status,
            Request.supplier_id,
            Request.submitted_at,
            Request.created_at,
            Request.decision_conditions,
            Request.next_review_date,
            Organisation.name.label("asked_by"),
        )
        .join(latest, latest.c.request_id == Request.id)
        .join(Organisation, Organisation.id == Request.organisation_id)
        .where(latest.c.place == 1)
    ):
        in_register[row.organisation_id].add(row.supplier_id)
        found[(row.organisation_id, row.supplier_id)] = _of_request(row)
    for adoption in directory_adoption.adoptions_for(session, ids):
        supplier = adoption.entry.supplier
        if suppliers is not None and supplier.id not in suppliers:
            continue
        key = (adoption.organisation_id, supplier.id)
        names.setdefault(supplier.id, supplier)
        in_register[adoption.organisation_id].add(supplier.id)
        assessment = _of_adoption(adoption, today)
        if _stands_above(assessment, found.get(key)):
            found[key] = assessment
        if assessment.next_review_date is not None and key not in review_dates:
            review_dates[key] = assessment.next_review_date
    missing = set().union(*in_register.values()) - set(names)
    if missing:
        names.update(
            {s.id: s for s in session.scalars(select(Supplier).where(Supplier.id.in_(missing)))}
        )
    dpias = dpia.dpias_by_organisation(session, ids)
    registers = {}
    for organisation_id in ids:
        newest_dpia = dpia.latest_by_supplier(dpias[organisation_id])
        registers[organisation_id] = sorted(
            (
                RegisterEntry(
                    names[sid],
                    uses.get((organisation_id, sid)),
                    found.get((organisation_id, sid)),
                    today,
                    review_dates.get((organisation_id, sid)),
                    newest_dpia.get(sid),
                )
                for sid in in_register[organisation_id]
            ),
            key=lambda e: e.supplier.name.lower(),
        )
    return registers


def register_page(
    session: Session,
    organisation: Organisation,
    number: int,
    today: date | None = None,
    size: int = PAGE_SIZE,
) -> Page[RegisterEntry]:
    """A page of the register, by supplier name: the suppliers are paged in
    the database, then only theirs are gathered."""
    in_register = register_suppliers(organisation).subquery()
    page = page_of(
        session,
        select(Supplier.id)
        .where(Supplier.id.in_(select(in_register.c.supplier_id)))
        .order_by(func.lower(Supplier.name), Supplier.id),
        number,
        size,
    )
    return page.map(entries(session, organisation, today, suppliers=page.items))


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


def sheet_rows(
    found: Sequence[RegisterEntry], expiries: Mapping[int, date] | None = None
) -> list[SupplierRow]:
    """The register as its workbook lays it out, in words; ``expiries``: each
    request's first evidence expiry (services/school/evidence_watch.py)."""
    expiries = expiries or {}
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
            evidence_expires=None
            if entry.latest is None
            else entry.latest.evidence_expires
            if entry.latest.request_id is None
            else expiries.get(entry.latest.request_id),
        )
        for entry in found
    ]


def _of_request(row: Any) -> Assessment:
    """A request as the register shows it (a row of entries_for's query);
    ``on_behalf`` when the request is the school's trust's, made for it, and
    ``rating`` then the school's own."""
    status = STATUS_LABELS[RequestStatus(row.status)]
    decided = row.status in DECIDED_STATUSES
    label = f"{row.reference} ({status.lower()})"
    on_behalf = bool(row.on_behalf)
    if on_behalf:
        label = f"{row.reference} (by {row.asked_by}, {status.lower()})"
    return Assessment(
        kind="request",
        label=label,
        on=row.submitted_at or row.created_at,
        rating=row.rating,
        decision=status if decided else "Not decided",
        conditions=tuple(row.decision_conditions or ()) if decided else (),
        next_review_date=row.next_review_date if decided else None,
        request_id=row.id,
        on_behalf=on_behalf,
    )


def _of_adoption(adoption: Adoption, today: date) -> Assessment:
    entry = adoption.entry
    dates = ratings.entry_evidence_dates(entry)
    return Assessment(
        kind="directory",
        label=f"Directory entry {entry.listing_id} (adopted)",
        on=adoption.adopted_at,
        rating=adoption.rating,
        decision="Adopted from the directory",
        conditions=(),
        next_review_date=adoption.adopted_at.date() + timedelta(days=365),
        entry_id=entry.id,
        evidence_expires=min(dates.values(), default=None),
        evidence_expired_on=entry_evidence.expired_on(entry, today),
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
