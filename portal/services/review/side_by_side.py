"""Several suppliers' findings for one questionnaire, question by question."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ...models import ANSWERED_STATUSES, Organisation, QuestionnaireVersion, Request
from ...questionnaire.compare import Comparison, Finding
from ...questionnaire.definition import Question
from ..errors import ServiceError
from ..platform.questionnaire_registry import definition_for
from ..requirements.ratings import comparisons_for

MAX_COLUMNS = 8


@dataclass(frozen=True)
class Choice:
    key: str
    title: str
    requests: list[Request]


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


def comparable_requests(session: Session, organisation: Organisation) -> list[Choice]:
    """Answered requests grouped by questionnaire key, for choosing what to compare."""
    rows = session.scalars(
        select(Request)
        .join(QuestionnaireVersion)
        .where(
            Request.organisation_id == organisation.id,
            Request.status.in_(ANSWERED_STATUSES),
        )
        .options(joinedload(Request.supplier), joinedload(Request.questionnaire_version))
        .order_by(QuestionnaireVersion.key, Request.submitted_at.desc())
    )
    grouped: dict[str, Choice] = {}
    for row in rows:
        version = row.questionnaire_version
        grouped.setdefault(version.key, Choice(version.key, version.title, [])).requests.append(row)
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
    questionnaire = definition_for(newest.questionnaire_version)
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
