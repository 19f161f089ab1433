"""The JSON shapes of a school's own records: its DfE standards progress and
plans, the RACI chart, and the supplier register."""

from __future__ import annotations

from datetime import date
from typing import Any, Self

from pydantic import BaseModel, Field

from ...questionnaire.compare import OUTCOME_LABELS
from ...services.school import raci, standards
from ...services.school import register as supplier_register
from ...vocabulary import DPIA_STATUS_LABELS
from .schemas import iso, one_of


class Standard(BaseModel):
    name: str
    slug: str = Field(description="Names the standard in /standards/{slug}")
    status: str = one_of(*standards.StandardStatus)
    status_label: str
    answered: int = Field(description="Items answered")
    items: int
    target_date: date | None
    next_review_date: date | None

    @classmethod
    def of(cls, found: standards.Standard) -> Self:
        return cls(
            name=found.name,
            slug=found.slug,
            status=found.status,
            status_label=standards.STATUS_LABELS[found.status],
            answered=found.answered,
            items=len(found.items),
            target_date=found.target_date,
            next_review_date=found.next_review_date,
        )


class StandardList(BaseModel):
    questionnaire: str
    version: int
    items: list[Standard]


class EvidenceName(BaseModel):
    id: int
    filename: str


class StandardEvidence(BaseModel):
    """An item's evidence files after an upload."""

    question_id: str
    files: list[EvidenceName]


class StandardItem(BaseModel):
    question_id: str
    question: str
    value: Any = Field(description="The school's answer, as the question's type says")
    note: str | None
    updated_at: str | None
    outcome: str = Field(description="met, not_met, partly_met, not_applicable or unanswered")
    outcome_label: str
    evidence: list[EvidenceName]

    @classmethod
    def of(cls, item: standards.Item) -> Self:
        return cls(
            question_id=item.question.id,
            question=str(item.question.label),
            value=item.value,
            note=item.note,
            updated_at=iso(item.updated_at),
            outcome=item.outcome,
            outcome_label=OUTCOME_LABELS.get(item.outcome, str(item.outcome)),
            evidence=[EvidenceName(id=f.id, filename=f.filename) for f in item.files],
        )


class Task(BaseModel):
    """One task of the RACI chart (a question of the self-assessment)."""

    question_id: str
    question: str
    responsible: list[str]
    accountable: list[str]
    consulted: list[str]
    informed: list[str]
    customised: bool = Field(description="The school's own chart, not the suggested one")
    gaps: list[str]

    @classmethod
    def of(cls, task: raci.Task, names: raci.Names) -> Self:
        return cls(
            question_id=task.question.id,
            question=str(task.question.label),
            responsible=[names.of(p) for p in task.responsible],
            accountable=[names.of(p) for p in task.accountable],
            consulted=[names.of(p) for p in task.consulted],
            informed=[names.of(p) for p in task.informed],
            customised=task.customised,
            gaps=task.gaps,
        )


class Party(BaseModel):
    value: str = Field(description="What to send in a RACI chart: a role, or user:<id>")
    name: str


class Raci(BaseModel):
    tasks: list[Task]
    parties: list[Party] = Field(description="Who may be named in a chart")


class RaciBody(BaseModel):
    responsible: list[str] = Field(description="Values from parties")
    accountable: str = Field(description="Exactly one value from parties")
    consulted: list[str] = Field(default_factory=list)
    informed: list[str] = Field(default_factory=list)


class StandardDetail(Standard):
    questions: list[StandardItem]
    raci: list[Task]


class StandardAnswersBody(BaseModel):
    """Answers to change, by question id (null clears one); the others stay."""

    answers: dict[str, Any] = Field(default_factory=dict)
    notes: dict[str, str | None] = Field(default_factory=dict)


class LatestAssessment(BaseModel):
    kind: str = one_of("request", "directory")
    label: str
    rating: str | None = one_of("green", "amber", "red", None)
    decision: str
    conditions: list[str]


class RegisterEntry(BaseModel):
    supplier_id: int
    supplier: str
    category: str = Field(description="What the school uses them for, in words")
    contract_start: date | None
    contract_end: date | None
    data_held: str | None
    notes: str | None
    latest: LatestAssessment | None = Field(description="The assessment that stands")
    last_reviewed_on: date | None
    next_review_date: date | None
    overdue: bool
    dpia: str | None = Field(description="The DPIA's status in words, if one was begun")

    @classmethod
    def of(cls, entry: supplier_register.RegisterEntry) -> Self:
        use, latest = entry.use, entry.latest
        return cls(
            supplier_id=entry.supplier.id,
            supplier=entry.supplier.name,
            category=entry.category,
            contract_start=use.contract_start if use else None,
            contract_end=use.contract_end if use else None,
            data_held=use.data_held if use else None,
            notes=use.notes if use else None,
            latest=None
            if latest is None
            else LatestAssessment(
                kind=latest.kind,
                label=latest.label,
                rating=latest.rating,
                decision=latest.decision,
                conditions=list(latest.conditions),
            ),
            last_reviewed_on=use.last_reviewed_on if use else None,
            next_review_date=entry.next_review_date,
            overdue=entry.overdue,
            dpia=None if entry.dpia is None else DPIA_STATUS_LABELS[entry.dpia.status],
        )


class RegisterPage(BaseModel):
    items: list[RegisterEntry]
    total: int
    next_cursor: str | None = Field(description="Pass as cursor for the next page")
