"""A trust's schools side by side: progress on the standards, RACI gaps, the
suppliers they share and the reviews that are overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ...models import Organisation, OrgKind
from ..platform.paging import Page, page_of_list
from . import school_summary
from .school_summary import Overdue, Summary, SupplierLine, Unsaved


@dataclass(frozen=True)
class SchoolRow:
    school: Organisation
    summary: Summary


@dataclass(frozen=True)
class SharedSupplier:
    supplier_id: int
    name: str
    # Per school using it: the supplier's line in that school's register.
    by_school: dict[int, SupplierLine]


@dataclass(frozen=True)
class TrustOverview:
    schools: tuple[SchoolRow, ...]
    standard_names: tuple[str, ...]
    shared: tuple[SharedSupplier, ...]
    # Summaries computed for this view: stored after its response (save()).
    unsaved: tuple[Unsaved, ...] = ()

    @property
    def overdue(self) -> list[tuple[Organisation, Overdue]]:
        found = [(row.school, due) for row in self.schools for due in row.summary.overdue]
        return sorted(found, key=lambda pair: (pair[1].on, pair[0].name))


def trust_schools(session: Session, organisation: Organisation) -> list[Organisation]:
    """The schools whose standards and registers this organisation's members
    may see beside its own: a trust's own schools; nobody else's."""
    if organisation.kind != OrgKind.TRUST:
        return []
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.trust_id == organisation.id)
            # The overview names each school's digital lead: loaded with it.
            .options(joinedload(Organisation.digital_lead))
            .order_by(Organisation.name)
        )
    )


# The overview lists this many of the overdue items (oldest first) and shared
# suppliers a page; the counts above them cover all.
SHOWN = 50


def shared_page(found: TrustOverview, number: int) -> Page[SharedSupplier]:
    """A page of the suppliers the trust's schools share, by name."""
    return page_of_list(found.shared, number, SHOWN)


def overview(
    session: Session, schools: list[Organisation], today: date | None = None
) -> TrustOverview:
    """``schools`` as :func:`trust_schools` gives them, each with its stored
    summary (services/school/school_summary.py): the page reads a row per
    school, and gathers afresh only the schools whose records changed."""
    found = school_summary.summaries(session, schools, today)
    rows = tuple(SchoolRow(school, found.by_school[school.id]) for school in schools)
    names: dict[str, None] = {}
    users: dict[int, dict[int, SupplierLine]] = {}
    for row in rows:
        for name, _status in row.summary.standards:
            names.setdefault(name, None)
        for line in row.summary.suppliers:
            users.setdefault(line.supplier_id, {})[row.school.id] = line
    shared = [
        SharedSupplier(sid, next(iter(by_school.values())).name, by_school)
        for sid, by_school in users.items()
        if len(by_school) > 1
    ]
    shared.sort(key=lambda found: (found.name.lower(), found.supplier_id))
    return TrustOverview(rows, tuple(names), tuple(shared), found.unsaved)
