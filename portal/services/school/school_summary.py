"""What the trust overview shows of each school, stored where it is read.

A trust's overview needs every school's standards, RACI gaps, register and
overdue reviews. Gathered on every view, that cost 215 ms for 25 schools of
200 requests each (bench/staff.py), growing with every request a school ever
made; read from here it costs a row per school.

A summary is recomputed, not trusted, when anything it rests on has changed:
the database's triggers move a school's ``generation`` on with every change
to its requests (and its trust's made for it), register, adoptions, DPIAs,
self-assessment, plans and RACI, whoever makes it (migration c4e8a2d6f0b1
lists them). A summary stands only while it was computed at the current
generation, on today's date (what is overdue changes with the date), in
today's :data:`FORMAT`. The overview computes the stale ones (all of them in
the same few statements) and stores them after its response (:func:`save`);
the store is refused if the generation moved while they were computed, so a
change made meanwhile is never hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ...models import (
    Organisation,
    SchoolSummary,
    utcnow,
)
from . import dpia, raci, standards
from . import register as supplier_register

# Moved on whenever what a summary holds, or how it is worked out, changes:
# summaries stored in another format are computed again.
FORMAT = 1


# Named tuples, not dataclasses: a view builds one per register line of every
# school from its stored JSON (400 at 25 schools), and a frozen dataclass's
# __init__ cost a quarter of the trust overview's Python time.
class Overdue(NamedTuple):
    on: date
    what: str


class SupplierLine(NamedTuple):
    """A supplier in the school's register, as the overview shows it."""

    supplier_id: int
    name: str
    rating: str | None
    decision: str  # "Accepted", "Not decided", "Not assessed"...
    next_review_date: date | None
    overdue: bool


@dataclass(frozen=True)
class Summary:
    organisation_id: int
    computed_on: date
    standards: tuple[tuple[str, str], ...]  # (standard, status), in the questionnaire's order
    raci_gaps: int
    overdue: tuple[Overdue, ...]  # oldest first
    suppliers: tuple[SupplierLine, ...]  # by name

    def count(self, *statuses: str) -> int:
        return sum(1 for _name, status in self.standards if status in statuses)

    def status_of(self, name: str) -> str | None:
        # Asked for each cell of the standards grid (24 a school): a dict, built once.
        return self._statuses.get(name)

    @cached_property
    def _statuses(self) -> dict[str, str]:
        return dict(self.standards)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "standards": [list(pair) for pair in self.standards],
            "raci_gaps": self.raci_gaps,
            "overdue": [[due.on.isoformat(), due.what] for due in self.overdue],
            "suppliers": [
                [
                    line.supplier_id,
                    line.name,
                    line.rating,
                    line.decision,
                    line.next_review_date.isoformat() if line.next_review_date else None,
                    line.overdue,
                ]
                for line in self.suppliers
            ],
        }

    @classmethod
    def from_json(cls, organisation_id: int, computed_on: date, data: dict[str, Any]) -> Summary:
        return cls(
            organisation_id=organisation_id,
            computed_on=computed_on,
            standards=tuple((name, status) for name, status in data["standards"]),
            raci_gaps=data["raci_gaps"],
            overdue=tuple(Overdue(date.fromisoformat(on), what) for on, what in data["overdue"]),
            suppliers=tuple(
                SupplierLine(sid, name, rating, decision,
                             date.fromisoformat(review) if review else None, overdue)
                for sid, name, rating, decision, review, overdue in data["suppliers"]
            ),
        )  # fmt: skip


@dataclass(frozen=True)
class Unsaved:
    """A summary computed by a view, to store after its response if nothing
    it rests on has changed since ``generation`` was read."""

    summary: Summary
    generation: int


@dataclass(frozen=True)
class Summaries:
    by_school: dict[int, Summary]
    unsaved: tuple[Unsaved, ...]


def summaries(
    session: Session, schools: Sequence[Organisation], today: date | None = None
) -> Summaries:
    """Each school's summary: the stored one where it stands, the others
    computed (together, a statement per kind of record)."""
    today = today or utcnow().date()
    ids = [school.id for school in schools]
    # The generation is read before anything the summaries rest on: a change
    # committed after this read moves it on, and save() then refuses.
    generations: dict[int, int] = {}
    found: dict[int, Summary] = {}
    for row in session.execute(
        select(
            SchoolSummary.organisation_id,
            SchoolSummary.generation,
            SchoolSummary.stored_generation,
            SchoolSummary.computed_on,
            SchoolSummary.content,
        ).where(SchoolSummary.organisation_id.in_(ids))
    ):
        generations[row.organisation_id] = row.generation
        content = row.content
        if (
            content is not None
            and row.stored_generation == row.generation
            and row.computed_on == today
            and content.get("format") == FORMAT
        ):
            found[row.organisation_id] = Summary.from_json(row.organisation_id, today, content)
    stale = [school for school in schools if school.id not in found]
    computed = compute(session, stale, today) if stale else {}
    found.update(computed)
    return Summaries(
        found,
        tuple(Unsaved(summary, generations.get(sid, 0)) for sid, summary in computed.items()),
    )


def compute(session: Session, schools: Sequence[Organisation], today: date) -> dict[int, Summary]:
    """Every school's summary worked out afresh from its records."""
    progress = standards.progress_for(session, schools, today)
    registers = supplier_register.entries_for(session, schools, today)
    dpias = dpia.dpias_by_organisation(session, [school.id for school in schools])
    charts = raci.tasks_for(session, [(s, progress[s.id].questionnaire) for s in schools])
    found = {}
    for school in schools:
        progressed = progress[school.id]
        register = registers[school.id]
        due = standards.timeline(
            session, school, progressed, today, register=register, dpias=dpias[school.id]
        )
        found[school.id] = Summary(
            organisation_id=school.id,
            computed_on=today,
            standards=tuple((s.name, str(s.status)) for s in progressed.standards),
            raci_gaps=sum(1 for task in charts[school.id] if task.gaps),
            overdue=tuple(Overdue(entry.on, entry.what) for entry in due if entry.overdue),
            suppliers=tuple(
                SupplierLine(
                    supplier_id=entry.supplier.id,
                    name=entry.supplier.name,
                    rating=entry.latest.rating if entry.latest else None,
                    decision=entry.latest.decision if entry.latest else "Not assessed",
                    next_review_date=entry.next_review_date,
                    overdue=entry.overdue,
                )
                for entry in register
            ),
        )
    return found


def save(session: Session, unsaved: Sequence[Unsaved]) -> None:
    """Store summaries a view computed (one statement), each only if its
    school's generation is still the one read before computing it."""
    if not unsaved:
        return
    statement = _insert(session).values(
        [
            {
                "organisation_id": item.summary.organisation_id,
                "generation": item.generation,
                "stored_generation": item.generation,
                "computed_on": item.summary.computed_on,
                "content": item.summary.to_json(),
            }
            for item in sorted(unsaved, key=lambda item: item.summary.organisation_id)
        ]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[_TABLE.c.organisation_id],
            set_={
                "stored_generation": statement.excluded.stored_generation,
                "computed_on": statement.excluded.computed_on,
                "content": statement.excluded.content,
            },
            # A change committed since the generation was read moved it on:
            # the summary may not show it, so it is not kept.
            where=_TABLE.c.generation == statement.excluded.generation,
        )
    )


_TABLE = cast(Table, SchoolSummary.__table__)


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(_TABLE)
    return sqlite.insert(_TABLE)
