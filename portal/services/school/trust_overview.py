"""A trust's schools side by side: progress on the standards, RACI gaps, the
suppliers they share and the reviews that are overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ...models import Organisation, OrgKind, Supplier, utcnow
from ..platform.paging import Page, page_of_list
from . import dpia, raci, standards
from . import register as supplier_register


@dataclass(frozen=True)
class SchoolSummary:
    school: Organisation
    progress: standards.Progress
    raci_gaps: int
    suppliers: int
    overdue: tuple[standards.Due, ...]

    def status_of(self, name: str) -> str | None:
        for standard in self.progress.standards:
            if standard.name == name:
                return standard.status
        return None


@dataclass(frozen=True)
class SharedSupplier:
    supplier: Supplier
    # Per school using it: the register entry (latest assessment, next review).
    by_school: dict[int, supplier_register.RegisterEntry]


@dataclass(frozen=True)
class TrustOverview:
    schools: tuple[SchoolSummary, ...]
    standard_names: tuple[str, ...]
    shared: tuple[SharedSupplier, ...]

    @property
    def overdue(self) -> list[tuple[Organisation, standards.Due]]:
        found = [(s.school, due) for s in self.schools for due in s.overdue]
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
    """``schools`` as :func:`trust_schools` gives them. Every school's
    standards, charts, register and DPIAs are gathered together, a statement
    per kind of record: the page costs the same for five schools or fifty."""
    today = today or utcnow().date()
    progress = standards.progress_for(session, schools, today)
    registers = supplier_register.entries_for(session, schools, today)
    dpias = dpia.dpias_by_organisation(session, [school.id for school in schools])
    charts = raci.tasks_for(session, [(s, progress[s.id].questionnaire) for s in schools])
    summaries = []
    names: dict[str, None] = {}
    users: dict[int, dict[int, supplier_register.RegisterEntry]] = {}
    suppliers: dict[int, Supplier] = {}
    for school in schools:
        found = progress[school.id]
        for standard in found.standards:
            names.setdefault(standard.name, None)
        register = registers[school.id]
        for entry in register:
            users.setdefault(entry.supplier.id, {})[school.id] = entry
            suppliers[entry.supplier.id] = entry.supplier
        due = standards.timeline(
            session, school, found, today, register=register, dpias=dpias[school.id]
        )
        summaries.append(
            SchoolSummary(
                school=school,
                progress=found,
                raci_gaps=sum(1 for task in charts[school.id] if task.gaps),
                suppliers=len(register),
                overdue=tuple(entry for entry in due if entry.overdue),
            )
        )
    shared = tuple(
        SharedSupplier(suppliers[sid], by_school)
        for sid, by_school in sorted(
            users.items(), key=lambda item: suppliers[item[0]].name.lower()
        )
        if len(by_school) > 1
    )
    return TrustOverview(tuple(summaries), tuple(names), shared)
