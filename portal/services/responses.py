"""The supplier's side of a request: answer sections, check, submit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..models import Answer, Request, RequestStatus, utcnow
from ..questionnaire import Question, Questionnaire, Section
from .audit import SUPPLIER_ACTOR, record_event
from .errors import ServiceError
from .questionnaires import definition_for
from .requests import OPEN_STATUSES, change_status


class NotEditableError(ServiceError):
    pass


class IncompleteError(ServiceError):
    def __init__(self, missing: list[tuple[Section, Question]]) -> None:
        super().__init__(f"{len(missing)} required question(s) still need an answer")
        self.missing = missing


@dataclass(frozen=True)
class SectionProgress:
    section: Section
    answered: int
    required_missing: int

    @property
    def status(self) -> str:
        if self.answered == 0:
            return "Not yet started"
        return "In progress" if self.required_missing else "Completed"


def questionnaire_of(request: Request) -> Questionnaire:
    return definition_for(request.questionnaire_version)


def answer_values(request: Request) -> dict[str, Any]:
    return {answer.question_id: answer.value for answer in request.answers}


def progress(request: Request) -> list[SectionProgress]:
    values = answer_values(request)
    return [
        SectionProgress(
            section=section,
            answered=sum(1 for q in section.answerable if q.id in values),
            required_missing=sum(
                1 for q in section.answerable if q.required and q.id not in values
            ),
        )
        for section in questionnaire_of(request).sections
    ]


def missing_required(request: Request) -> list[tuple[Section, Question]]:
    values = answer_values(request)
    return [
        (section, question)
        for section in questionnaire_of(request).sections
        for question in section.answerable
        if question.required and question.id not in values
    ]


def ensure_editable(request: Request) -> None:
    if request.status not in OPEN_STATUSES:
        raise NotEditableError(
            "These answers have been submitted and can no longer be changed. "
            f"Contact {request.organisation.name} if something needs correcting."
        )


def save_section(
    session: Session, request: Request, section: Section, values: dict[str, Any]
) -> int:
    """Store a section's validated answers; blank answers are removed. Returns changes made."""
    ensure_editable(request)
    existing = {answer.question_id: answer for answer in request.answers}
    changed = 0
    now = utcnow()
    for question in section.answerable:
        answer = existing.get(question.id)
        if question.id in values:
            value = values[question.id]
            if answer is None:
                request.answers.append(Answer(question_id=question.id, value=value, updated_at=now))
                changed += 1
            elif answer.value != value:
                answer.value = value
                answer.revision += 1
                answer.updated_at = now
                changed += 1
        elif answer is not None:
            request.answers.remove(answer)
            changed += 1
    if changed:
        change_status(
            session,
            request,
            RequestStatus.IN_PROGRESS,
            actor_label=SUPPLIER_ACTOR,
            only_from={RequestStatus.SENT},
        )
    session.flush()
    return changed


def submit_response(session: Session, request: Request, declared_by: str) -> None:
    """Submit the answers; refuse while a required question is unanswered."""
    ensure_editable(request)
    missing = missing_required(request)
    if missing:
        raise IncompleteError(missing)
    if not declared_by.strip():
        raise ServiceError("Enter your full name to confirm the declaration", "declared_by")
    resubmission = request.status == RequestStatus.CLARIFICATION
    request.submitted_at = utcnow()
    change_status(
        session,
        request,
        RequestStatus.RESUBMITTED if resubmission else RequestStatus.SUBMITTED,
        actor_label=f"{SUPPLIER_ACTOR} ({declared_by.strip()})",
    )
    record_event(
        session,
        "declaration_signed",
        organisation=request.organisation,
        actor_label=f"{SUPPLIER_ACTOR} ({declared_by.strip()})",
        request=request,
        answers=len(request.answers),
    )
    session.flush()
