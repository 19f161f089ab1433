"""Who does what for each task of the standards: Responsible, Accountable,
Consulted, Informed. The questionnaire suggests a chart for every task; a
school keeps it or sets its own, naming roles or its own people."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...exports.standards import RaciChart, RaciRow
from ...models import (
    Membership,
    Organisation,
    RaciEntry,
    RaciLetter,
    Request,
    RequestStatus,
    SigningRole,
    User,
)
from ...questionnaire import Question, Questionnaire
from ..errors import ServiceError
from ..platform.audit import record_event

# The roles a school can put in a chart, beside its own people. The
# questionnaire's suggestions use these names too.
ROLES = (
    SigningRole.DIGITAL_LEAD,
    SigningRole.HEADTEACHER,
    "Governors",
    "Chair of governors",
    "DPO",
    "DSL",
    "Business manager",
    "IT support",
    "SENCO",
    "HR",
    "All staff",
)
LETTER_WORDS = {
    RaciLetter.RESPONSIBLE: "Responsible",
    RaciLetter.ACCOUNTABLE: "Accountable",
    RaciLetter.CONSULTED: "Consulted",
    RaciLetter.INFORMED: "Informed",
}
USER_PREFIX = "user:"
IT_SUPPORT_KEY = "it_support"


@dataclass(frozen=True)
class Task:
    """One task's chart: parties by letter, and what is wrong with it."""

    question: Question
    responsible: tuple[str, ...]
    accountable: tuple[str, ...]
    consulted: tuple[str, ...]
    informed: tuple[str, ...]
    customised: bool

    @property
    def gaps(self) -> list[str]:
        found = []
        if not self.accountable:
            found.append("No one is accountable")
        elif len(self.accountable) > 1:
            found.append("More than one person or role is accountable")
        if not self.responsible:
            found.append("No one is responsible")
        return found

    def letters_of(self, party: str) -> str:
        """The letters a party holds for this task, as a matrix cell ("R", "A/C")."""
        held = [
            letter
            for letter, parties in (
                ("R", self.responsible),
                ("A", self.accountable),
                ("C", self.consulted),
                ("I", self.informed),
            )
            if party in parties
        ]
        return "/".join(held)

    @property
    def parties(self) -> list[str]:
        seen: dict[str, None] = {}
        for party in (*self.responsible, *self.accountable, *self.consulted, *self.informed):
            seen.setdefault(party, None)
        return list(seen)


def tasks(session: Session, organisation: Organisation, questionnaire: Questionnaire) -> list[Task]:
    """Every answerable question's chart: the school's own where it set one."""
    return tasks_for(session, [(organisation, questionnaire)])[organisation.id]


def tasks_for(
    session: Session, wanted: Sequence[tuple[Organisation, Questionnaire]]
) -> dict[int, list[Task]]:
    """Each organisation's charts for the questionnaire it answers (a trust's
    schools side by side): one statement for one school or fifty."""
    rows: dict[int, dict[str, list[RaciEntry]]] = {o.id: {} for o, _q in wanted}
    for row in session.scalars(
        select(RaciEntry).where(RaciEntry.organisation_id.in_(rows)).order_by(RaciEntry.id)
    ):
        rows[row.organisation_id].setdefault(row.question_id, []).append(row)
    return {o.id: _tasks(rows[o.id], questionnaire) for o, questionnaire in wanted}


def _tasks(rows: Mapping[str, list[RaciEntry]], questionnaire: Questionnaire) -> list[Task]:
    found = []
    for question in questionnaire.questions():
        if not question.answerable:
            continue
        own = rows.get(question.id)
        if own:
            by = {
                letter: tuple(r.party for r in own if r.letter == letter) for letter in RaciLetter
            }
            found.append(
                Task(
                    question,
                    by[RaciLetter.RESPONSIBLE],
                    by[RaciLetter.ACCOUNTABLE],
                    by[RaciLetter.CONSULTED],
                    by[RaciLetter.INFORMED],
                    customised=True,
                )
            )
        elif question.raci is not None:
            raci = question.raci
            found.append(
                Task(
                    question,
                    tuple(raci.responsible),
                    (raci.accountable,) if raci.accountable else (),
                    tuple(raci.consulted),
                    tuple(raci.informed),
                    customised=False,
                )
            )
        else:
            found.append(Task(question, (), (), (), (), customised=False))
    return found


def columns(found: Iterable[Task]) -> list[str]:
    """The matrix's columns: roles in their usual order, then people, then any
    other name a questionnaire used."""
    used: dict[str, None] = {}
    for task in found:
        for party in task.parties:
            used.setdefault(party, None)
    roles = [role for role in ROLES if role in used]
    people = sorted(p for p in used if p.startswith(USER_PREFIX))
    others = [p for p in used if p not in ROLES and not p.startswith(USER_PREFIX)]
    return [*roles, *people, *others]


def chart(found: Sequence[Task], named: Names) -> RaciChart:
    """The matrix as its workbook lays it out: each party by name across, each
    task's letters under them."""
    parties = columns(found)
    return RaciChart(
        parties=tuple(named.of(party) for party in parties),
        rows=tuple(
            RaciRow(
                task=task.question.label,
                standards=task.question.requirement.maps_to if task.question.requirement else (),
                letters=tuple(task.letters_of(party) for party in parties),
                gaps=tuple(task.gaps),
            )
            for task in found
        ),
    )


@dataclass(frozen=True)
class Names:
    """How parties read on a page: people by name, the digital lead and IT
    support with who they are."""

    people: dict[str, str]
    digital_lead: str | None
    it_support: str | None

    def of(self, party: str) -> str:
        if party.startswith(USER_PREFIX):
            return self.people.get(party, "Someone no longer in the organisation")
        if party == SigningRole.DIGITAL_LEAD and self.digital_lead:
            return f"SLT digital lead ({self.digital_lead})"
        if party == "IT support" and self.it_support:
            return f"IT support ({self.it_support})"
        return party


def names(session: Session, organisation: Organisation) -> Names:
    people = {
        f"{USER_PREFIX}{user.id}": user.name
        for user in session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organisation_id == organisation.id, User.is_service.is_(False))
        )
    }
    lead = organisation.digital_lead.name if organisation.digital_lead else None
    return Names(people, lead, it_support_provider(session, organisation))


def it_support_provider(session: Session, organisation: Organisation) -> str | None:
    """The school's IT support provider: the register's supplier for IT support
    whose contract has not ended, else the supplier of its latest IT support
    assessment that was not turned down."""
    from ...models import QuestionnaireVersion, Supplier, SupplierUse, utcnow

    listed = session.scalar(
        select(Supplier.name)
        .join(SupplierUse, SupplierUse.supplier_id == Supplier.id)
        .where(
            SupplierUse.organisation_id == organisation.id,
            SupplierUse.category == IT_SUPPORT_KEY,
            (SupplierUse.contract_end.is_(None)) | (SupplierUse.contract_end >= utcnow().date()),
        )
        .order_by(SupplierUse.created_at.desc(), SupplierUse.id.desc())
        .limit(1)
    )
    if listed is not None:
        return listed
    row = session.scalar(
        select(Request)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Request.questionnaire_version_id)
        .where(
            Request.organisation_id == organisation.id,
            QuestionnaireVersion.key == IT_SUPPORT_KEY,
            Request.status.not_in([RequestStatus.REJECTED, RequestStatus.REVOKED]),
        )
        .order_by(Request.created_at.desc(), Request.id.desc())
        .limit(1)
    )
    return row.supplier.name if row else None


def party_choices(session: Session, organisation: Organisation) -> list[tuple[str, str]]:
    """(value, label) for every role and every person of the organisation."""
    named = names(session, organisation)
    people = sorted(named.people.items(), key=lambda item: item[1].lower())
    return [(role, named.of(role)) for role in ROLES] + people


def set_task(
    session: Session,
    organisation: Organisation,
    actor: User,
    question: Question,
    responsible: Sequence[str],
    accountable: str,
    consulted: Sequence[str],
    informed: Sequence[str],
    allowed: set[str],
) -> None:
    """Replace one task's chart. Exactly one accountable party, at least one
    responsible, and only parties from the list (``allowed``)."""
    if not accountable:
        raise ServiceError("Choose who is accountable: exactly one person or role", "accountable")
    if not responsible:
        raise ServiceError("Choose at least one person or role who is responsible", "responsible")
    unknown = {*responsible, accountable, *consulted, *informed} - allowed
    if unknown:
        raise ServiceError("Choose people and roles from the lists", "responsible")
    session.execute(
        delete(RaciEntry).where(
            RaciEntry.organisation_id == organisation.id, RaciEntry.question_id == question.id
        )
    )
    for letter, parties in (
        (RaciLetter.RESPONSIBLE, responsible),
        (RaciLetter.ACCOUNTABLE, [accountable]),
        (RaciLetter.CONSULTED, consulted),
        (RaciLetter.INFORMED, informed),
    ):
        for party in dict.fromkeys(parties):
            session.add(
                RaciEntry(
                    organisation_id=organisation.id,
                    question_id=question.id,
                    letter=letter,
                    party=party,
                )
            )
    record_event(
        session, "raci_changed", organisation=organisation, actor=actor, task=question.id,
        accountable=accountable,
    )  # fmt: skip
    session.flush()


def reset_task(
    session: Session, organisation: Organisation, actor: User, question: Question
) -> None:
    """Back to the questionnaire's suggested chart."""
    session.execute(
        delete(RaciEntry).where(
            RaciEntry.organisation_id == organisation.id, RaciEntry.question_id == question.id
        )
    )
    record_event(session, "raci_reset", organisation=organisation, actor=actor, task=question.id)
    session.flush()
