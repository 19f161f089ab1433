"""The supplier's side of a request: answer sections, check, submit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from ..models import Answer, Request, RequestStatus, utcnow
from ..questionnaire import Question, Questionnaire, Section, compare, logic
from ..questionnaire.forms import SectionForm
from . import evidence
from .audit import SUPPLIER_ACTOR, record_event
from .errors import ServiceError
from .mail import queue_email
from .questionnaires import definition_for
from .requests import OPEN_STATUSES, change_status


class NotEditableError(ServiceError):
    pass


@dataclass(frozen=True)
class Missing:
    section: Section
    question: Question
    message: str


class IncompleteError(ServiceError):
    def __init__(self, missing: list[Missing]) -> None:
        super().__init__(f"{len(missing)} question(s) still need an answer")
        self.missing = missing


@dataclass(frozen=True)
class SectionProgress:
    section: Section
    asked: int  # visible answerable questions
    answered: int
    problems: int
    waiting: bool  # its questions depend on answers not given yet

    @property
    def status(self) -> str:
        if self.asked == 0:
            return "Cannot start yet" if self.waiting else "Not needed"
        if self.answered == 0 and self.problems:
            return "Not yet started"
        return "In progress" if self.problems else "Completed"


def questionnaire_of(request: Request) -> Questionnaire:
    return definition_for(request.questionnaire_version)


def answer_values(request: Request) -> dict[str, Any]:
    return {answer.question_id: answer.value for answer in request.answers}


def answer_comments(request: Request) -> dict[str, str | None]:
    return {answer.question_id: answer.comment for answer in request.answers if answer.comment}


def progress(request: Request) -> list[SectionProgress]:
    """Each section's status, as the task list shows it."""
    questionnaire = questionnaire_of(request)
    values = answer_values(request)
    problems = logic.problems(questionnaire, values)
    shown = logic.visibility(questionnaire, values)
    waiting = logic.undecided(questionnaire, values)
    result = []
    for section in questionnaire.sections:
        asked = [q for q in section.answerable if shown.get(q.id)]
        result.append(
            SectionProgress(
                section=section,
                asked=len(asked),
                answered=sum(1 for q in asked if q.id in values),
                problems=sum(1 for q in asked if q.id in problems),
                waiting=any(q.id in waiting for q in section.answerable),
            )
        )
    return result


def missing_answers(request: Request) -> list[Missing]:
    """Every visible question that still needs an answer (or a better one), in order."""
    questionnaire = questionnaire_of(request)
    problems = logic.problems(questionnaire, answer_values(request))
    return [
        Missing(section, question, problems[question.id])
        for section in questionnaire.sections
        for question in section.answerable
        if question.id in problems
    ]


def ensure_editable(request: Request) -> None:
    if request.status not in OPEN_STATUSES:
        raise NotEditableError(
            "These answers have been submitted and can no longer be changed. "
            f"Contact {request.organisation.name} if something needs correcting."
        )


def save_answers(
    session: Session,
    request: Request,
    values: dict[str, Any],
    comments: Mapping[str, str | None] | None = None,
) -> int:
    """Store answers (None removes one) and their comments, then drop answers
    that are now hidden.

    Returns how many answers changed. Every change bumps the answer's revision.
    """
    ensure_editable(request)
    questionnaire = questionnaire_of(request)
    existing = {answer.question_id: answer for answer in request.answers}
    merged = {**answer_values(request), **values}
    kept = logic.drop_hidden(questionnaire, {k: v for k, v in merged.items() if v is not None})
    changed = 0
    now = utcnow()
    for qid in set(existing) | set(kept):
        answer = existing.get(qid)
        if qid not in kept:
            request.answers.remove(answer)  # type: ignore[arg-type]
            changed += 1
        elif answer is None:
            request.answers.append(Answer(question_id=qid, value=kept[qid], updated_at=now))
            changed += 1
        elif answer.value != kept[qid]:
            answer.value = kept[qid]
            answer.revision += 1
            answer.updated_at = now
            changed += 1
    for answer in request.answers:
        if (
            comments
            and answer.question_id in comments
            and answer.comment != comments[answer.question_id]
        ):
            answer.comment = comments[answer.question_id]
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


@dataclass(frozen=True)
class Declaration:
    name: str
    role: str
    directory_consent: bool


def submit_response(session: Session, request: Request, declaration: Declaration) -> None:
    """Submit the answers with the declaration; refuse while a visible question
    needs an answer. Emails a receipt to the supplier and a notice to the school."""
    ensure_editable(request)
    missing = missing_answers(request)
    if missing:
        raise IncompleteError(missing)
    resubmission = request.status == RequestStatus.CLARIFICATION
    request.submitted_at = utcnow()
    request.declared_name = declaration.name.strip()
    request.declared_role = declaration.role.strip()
    request.directory_consent = declaration.directory_consent
    who = f"{declaration.name.strip()}, {declaration.role.strip()}"
    change_status(
        session,
        request,
        RequestStatus.RESUBMITTED if resubmission else RequestStatus.SUBMITTED,
        actor_label=f"{SUPPLIER_ACTOR} ({who})",
    )
    record_event(
        session,
        "declaration_signed",
        organisation=request.organisation,
        actor_label=f"{SUPPLIER_ACTOR} ({who})",
        request=request,
        answers=len(request.answers),
        directory_consent=declaration.directory_consent,
    )
    queue_email(
        session,
        to=request.contact_email,
        subject=f"Received: your answers for {request.organisation.name} ({request.reference})",
        template="submission_receipt",
        organisation=request.organisation,
        request=request,
    )
    if request.created_by is not None:
        queue_email(
            session,
            to=request.created_by.email,
            subject=f"{request.supplier.name} has {'resubmitted' if resubmission else 'submitted'} "
            f"their answers ({request.reference})",
            template="submission_notice",
            organisation=request.organisation,
            request=request,
            resubmission=resubmission,
            link=url_for("school.view_request", request_id=request.id, _external=True),
        )
    session.flush()


@dataclass(frozen=True)
class SectionOutcome:
    """What happened to a posted section: saved or not, complete or not, and
    questions that appeared because of the answers just given."""

    saved: bool
    complete: bool
    revealed: tuple[str, ...] = ()


def save_section(
    session: Session,
    request: Request,
    form: SectionForm,
    files: Mapping[str, list[FileStorage]],
    *,
    draft: bool,
    shown: set[str],
) -> SectionOutcome:
    """Validate and store one section as posted, keeping whatever is valid.

    Files are stored first, so a supplier never has to choose them again. A
    section with a wrongly typed answer is not saved (the page shows what was
    typed). Otherwise it is saved, and a missing answer is reported only if the
    question was on the page: one that has just appeared gets a notice instead.
    """
    ensure_editable(request)
    section = form.section
    for question in section.answerable:
        if question.type != "file":
            continue
        field = form[question.id]
        kept = evidence.valid_kept_ids(session, request, question, field.data)
        try:
            field.data = evidence.store_uploads(
                session, request, question, files.get(question.id, []), kept
            )
        except evidence.UploadError as exc:
            field.data = kept
            field.errors = [exc.message]
    own_ids = {q.id for q in section.answerable}
    others = {k: v for k, v in answer_values(request).items() if k not in own_ids}
    upload_errors = {q.id: form[q.id].errors for q in section.answerable if form[q.id].errors}
    valid = form.validate_section(others, enforce_required=False)
    for qid, errors in upload_errors.items():
        form[qid].errors = errors
    if not valid or upload_errors:
        if any(q.type == "file" for q in section.answerable):
            # Keep the files that did upload, even though the section is not saved.
            save_answers(
                session,
                request,
                {q.id: form[q.id].data or None for q in section.answerable if q.type == "file"},
            )
        return SectionOutcome(saved=False, complete=False)
    save_answers(session, request, form.visible_answers(others), form.comments())
    if draft:
        return SectionOutcome(saved=True, complete=False)
    problems = logic.problems(
        questionnaire_of(request), answer_values(request), only=section.answerable
    )
    for qid, message in problems.items():
        if qid in shown:
            form[qid].errors = [message]
    revealed = tuple(qid for qid in problems if qid not in shown)
    return SectionOutcome(saved=True, complete=not problems, revealed=revealed)


@dataclass(frozen=True)
class AnswerSheet:
    """Everything a page needs to show a request's answers."""

    questionnaire: Questionnaire
    answers: dict[str, Any]
    comments: dict[str, str | None]
    shown: dict[str, bool]
    files: dict[int, Any]
    triage: compare.TriageResult | None


def answer_sheet(session: Session, request: Request) -> AnswerSheet:
    questionnaire = questionnaire_of(request)
    answers = answer_values(request)
    return AnswerSheet(
        questionnaire=questionnaire,
        answers=answers,
        comments=answer_comments(request),
        shown=logic.visibility(questionnaire, answers),
        files=evidence.files_for(session, request),
        triage=compare.triage(questionnaire, answers),
    )
