"""Several suppliers' findings for one questionnaire, question by question."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from ...models import ANSWERED_STATUSES, Organisation, QuestionnaireVersion, Request, Supplier
from ...questionnaire.compare import Comparison, Finding
from ...questionnaire.definition import Question
from ..errors import ServiceError
from ..platform.matching import contains_pattern
from ..platform.questionnaire_registry import definition_for_request
from ..requirements.ratings import comparisons_for

MAX_COLUMNS = 8
# Each questionnaire's choices list its newest submissions, this many; a
# supplier's name narrows them (a school with hundreds is not shown them all).
CHOICES_SHOWN = 50


@dataclass(frozen=True)
class Choice:
    key: str
    title: str
    requests: list[Request]
    total: int = 0  # answered requests for this questionnaire matching the filter


@dataclass(frozen=True)
class MatrixRow:
    question: Question
    section_title: str
    cells: list[Finding | None]

    @property
    def differs(self) -> bool:
        return len({cell.outcome if cell else None for cell in self.cells}) > 1


@dataclass(frozen=True)
class Matrix:
    key: str
    title: str
    columns: list[Request]
    comparisons: list[Comparison]
    rows: list[MatrixRow]


def comparable_requests(
    session: Session,
    organisation: Organisation,
    supplier: str = "",
    chosen: Collection[int] = (),
) -> list[Choice]:
    """Answered requests grouped by questionnaire key, for choosing what to
    compare: each group's newest CHOICES_SHOWN (those whose supplier's name
    holds ``supplier``), with its total, and the ``chosen`` ones whatever
    their place."""
    mine = [Request.organisation_id == organisation.id, Request.status.in_(ANSWERED_STATUSES)]
    if supplier.strip():
        mine.append(
            Request.supplier_id.in_(
                select(Supplier.id).where(
                    func.lower(Supplier.name).like(contains_pattern(supplier), escape="\\")
                )
            )
        )
    per_key = QuestionnaireVersion.key
    ranked = (
        select(
            Request.id,
            func.row_number()
            .over(partition_by=per_key, order_by=(Request.submitted_at.desc(), Request.id.desc()))
            .label("place"),
            func.count().over(partition_by=per_key).label("total"),
        )
        .join(QuestionnaireVersion)
        .where(*mine)
        .subquery()
    )
    rows = session.execute(
        select(Request, ranked.c.total)
        .join(ranked, ranked.c.id == Request.id)
        .join(QuestionnaireVersion)
        .where(or_(ranked.c.place <= CHOICES_SHOWN, Request.id.in_(list(chosen))))
        .options(joinedload(Request.supplier), joinedload(Request.questionnaire_version))
        .order_by(QuestionnaireVersion.key, Request.submitted_at.desc(), Request.id.desc())
    )
    grouped: dict[str, Choice] = {}
    for row, total in rows:
        version = row.questionnaire_version
        found = grouped.setdefault(version.key, Choice(version.key, version.title, [], total))
        found.requests.append(row)
    return list(grouped.values())


def build_matrix(
    session: Session, requests: list[Request], differences_only: bool = False
) -> Matrix:
    answered = ANSWERED_STATUSES
    if len(requests) < 2:
        raise ServiceError("Choose at least two requests to compare")
    if len(requests) > MAX_COLUMNS:
        raise ServiceError(f"Choose up to {MAX_COLUMNS} requests at a time")
    keys = {row.questionnaire_version.key for row in requests}
    if len(keys) > 1:
        raise ServiceError("Choose requests that used the same questionnaire")
    if any(row.status not in answered for row in requests):
        raise ServiceError("Choose requests whose answers have been submitted")
    comparisons = comparisons_for(session, requests)
    # Rows follow the newest version's order; a question only an older version
    # asked still gets its row, after them.
    newest = max(requests, key=lambda row: row.questionnaire_version.version)
    questionnaire = definition_for_request(newest)
    order: dict[str, tuple[Question, str]] = {}
    for section in questionnaire.sections:
        for question in section.questions:
            order[question.id] = (question, section.title)
    for comparison in comparisons:
        for finding in comparison.findings:
            order.setdefault(finding.question.id, (finding.question, ""))
    rows = []
    for question_id, (question, section_title) in order.items():
        cells = [comparison.finding(question_id) for comparison in comparisons]
        if all(cell is None for cell in cells):
            continue
        row = MatrixRow(question, section_title, cells)
        if differences_only and not row.differs:
            continue
        rows.append(row)
    return Matrix(questionnaire.key, questionnaire.title, requests, comparisons, rows)
