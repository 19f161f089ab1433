"""The supplier's side of a request: answer sections, check, submit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from ...database import rows_connection
from ...models import OPEN_STATUSES, Answer, Request, RequestStatus, utcnow
from ...questionnaire import Question, Questionnaire, Section, answerset, compare, logic
from ...questionnaire.expiry import check_dates
from ...questionnaire.forms import SectionForm, build_section_form, form_data, from_json
from ..errors import ServiceError
from ..platform.audit import SUPPLIER_ACTOR, record_event
from ..platform.mail import queue_email
from ..platform.questionnaire_registry import definition_for, definition_for_request
from ..platform.runtime import runtime
from ..requirements import ratings
from . import clarifications, evidence, evidence_life
from .lifecycle import change_status


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
        """In the task list's words."""
        if self.asked == 0:
            return "Cannot start yet" if self.waiting else "Not needed"
        if self.answered == 0 and self.problems:
            return "Not yet started"
        return "In progress" if self.problems else "Completed"

    @property
    def open(self) -> bool:
        """The supplier can go into it (it asks something now)."""
        return self.asked > 0

    @property
    def complete(self) -> bool:
        return self.asked > 0 and not self.problems

    @property
    def needed(self) -> bool:
        """Not ruled out by the answers (it may still wait for earlier ones)."""
        return self.asked > 0 or self.waiting


def questionnaire_of(request: Request) -> Questionnaire:
    """What the supplier is asked: with the organisation's own questions."""
    return definition_for_request(request)


def answer_values(request: Request, *, confirmed_only: bool = False) -> dict[str, Any]:
    """``confirmed_only`` leaves out answers copied from an earlier submission
    that the supplier has not saved yet: the school sees those only once the
    supplier has chosen to give them (services/requests/reuse.py)."""
    return {
        answer.question_id: answer.value
        for answer in request.answers
        if not (confirmed_only and answer.prefilled)
    }


@dataclass(frozen=True)
class StoredAnswers:
    """A request's answers as plain values, for pages that only read them."""

    values: dict[str, Any]
    comments: dict[str, str | None]
    revisions: dict[str, int]
    unconfirmed: set[str]


_A = Answer.__table__.c
# A request's answers as one JSON array of [question, value, comment, revision,
# copied] built by the database: one row and one json.loads instead of a
# result row (and a JSON decode) per answer, which was most of reading them.
_ANSWERS_AS_JSON = {
    "sqlite": select(
        func.json_group_array(
            func.json_array(
                _A.question_id, func.json(_A.value), _A.comment, _A.revision, _A.prefilled
            )
        )
    ).where(_A.request_id == bindparam("request_id")),
    "postgresql": select(
        func.json_agg(
            func.json_build_array(_A.question_id, _A.value, _A.comment, _A.revision, _A.prefilled)
        )
    ).where(_A.request_id == bindparam("request_id")),
}
_ANSWER_ROWS = select(_A.question_id, _A.value, _A.comment, _A.revision, _A.prefilled).where(
    _A.request_id == bindparam("request_id")
)


def _answer_rows(session: Session, request: Request) -> Iterable[Sequence[Any]]:
    connection = rows_connection(session)
    aggregated = _ANSWERS_AS_JSON.get(connection.dialect.name)
    if aggregated is None:  # another database: a row per answer
        return connection.execute(_ANSWER_ROWS, {"request_id": request.id}).tuples()
    found = connection.execute(aggregated, {"request_id": request.id}).scalar()
    # SQLite hands back the text; psycopg decodes json itself; no answers: NULL.
    return cast(list[Sequence[Any]], json.loads(found) if isinstance(found, str) else found or [])


# Where a request's answers stand, in one row: adding or removing an answer or
# changing its value moves it (each takes a new revision and time). Comments
# and the copied-answer flag do not, and an autosave writes those only for the
# questions it was sent.
_ANSWERS_STAND = select(
    func.count(), func.sum(Answer.__table__.c.revision), func.max(Answer.__table__.c.updated_at)
).where(Answer.__table__.c.request_id == bindparam("request_id"))


def answers_stand(session: Session, request: Request) -> tuple[Any, ...]:
    """A cheap mark of the request's answers, to tell whether any changed."""
    stand = rows_connection(session).execute(_ANSWERS_STAND, {"request_id": request.id}).one()
    return tuple(stand)


def answered_by(session: Session, request: Request) -> dict[str, str]:
    """Who at the supplier gave each answer (answers from before colleagues
    could be asked, or copied in, name nobody)."""
    rows = session.execute(
        select(Answer.question_id, Answer.answered_by).where(
            Answer.request_id == request.id, Answer.answered_by.is_not(None)
        )
    )
    return {qid: by for qid, by in rows if by}


def stored_answers(session: Session, request: Request) -> StoredAnswers:
    """One light query instead of loading every Answer object: a section page
    reads 50+ answers, and building ORM objects for them was a fifth of its time.
    The database aggregates them into one JSON value (_ANSWERS_AS_JSON), which
    halved what was left (0.18 to 0.09 ms for 55 answers)."""
    values: dict[str, Any] = {}
    comments: dict[str, str | None] = {}
    revisions: dict[str, int] = {}
    unconfirmed: set[str] = set()
    for question_id, value, comment, revision, prefilled in _answer_rows(session, request):
        values[question_id] = value
        revisions[question_id] = revision
        if comment:
            comments[question_id] = comment
        if prefilled:
            unconfirmed.add(question_id)
    return StoredAnswers(values, comments, revisions, unconfirmed)


def answer_comments(request: Request, *, confirmed_only: bool = False) -> dict[str, str | None]:
    return {
        answer.question_id: answer.comment
        for answer in request.answers
        if answer.comment and not (confirmed_only and answer.prefilled)
    }


def progress(request: Request) -> list[SectionProgress]:
    """Each section's status, as the task list shows it."""
    questionnaire = questionnaire_of(request)
    values = answer_values(request)
    problems = {
        **dict.fromkeys(unconfirmed(request)),
        **missing_evidence(request),
        **logic.problems(questionnaire, values),
    }
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


PREFILLED = "Check this answer from your earlier questionnaire, then save its section"


def unconfirmed(request: Request) -> set[str]:
    """Answers copied from an earlier submission that the supplier has not saved yet."""
    return {answer.question_id for answer in request.answers if answer.prefilled}


EVIDENCE_NEEDED = "Attach a file as evidence for this answer"


def missing_evidence(request: Request) -> dict[str, str]:
    """Visible, answered questions whose evidence is required but not attached."""
    questionnaire = questionnaire_of(request)
    values = answer_values(request)
    scope = logic.visible_answers(questionnaire, values)
    with_files = {item.question_id for item in request.evidence}
    return {
        q.id: EVIDENCE_NEEDED
        for q in questionnaire.questions()
        if q.type != "file"
        and q.id in scope
        and q.id not in with_files
        and logic.evidence_required(q, scope)
    }


def missing_answers(request: Request) -> list[Missing]:
    """Every visible question that still needs an answer (or a better one, or a
    check of a copied one), in order."""
    questionnaire = questionnaire_of(request)
    problems = {
        **{qid: PREFILLED for qid in unconfirmed(request)},
        **missing_evidence(request),
        **logic.problems(questionnaire, answer_values(request)),
    }
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


def _as_stored(found: StoredAnswers) -> dict[str, answerset.Stored]:
    return {
        qid: answerset.Stored(value, found.comments.get(qid), found.revisions.get(qid, 1))
        for qid, value in found.values.items()
    }


def save_answers(
    session: Session,
    request: Request,
    values: dict[str, Any],
    comments: Mapping[str, str | None] | None = None,
) -> int:
    """Store answers (None removes one) and their comments, then drop answers
    that are now hidden (the engine's rule: questionnaire/answerset.py).

    Returns how many answers changed. Every change bumps the answer's revision.
    """
    ensure_editable(request)
    found = stored_answers(session, request)
    changes = answerset.changes_for(questionnaire_of(request), _as_stored(found), values, comments)
    return _write_changes(session, request, found, changes.changes, confirmed=frozenset()).changed


def renew_answers(
    session: Session, request: Request, values: dict[str, Any], by: str | None
) -> int:
    """The answers a renewal of evidence changes (its files, its expiry date:
    services/requests/renewals.py), written without reopening the request:
    its decision stands, and nothing else of it can change this way."""
    found = stored_answers(session, request)
    changes = answerset.changes_for(questionnaire_of(request), _as_stored(found), values)
    return _write_changes(
        session, request, found, changes.changes, confirmed=frozenset(), by=by
    ).changed


@dataclass(frozen=True)
class Declaration:
    name: str
    role: str
    directory_consent: bool
    # May these answers start this supplier's questionnaires for other
    # organisations (after a code sent to this contact)? services/requests/reuse.py.
    reuse_consent: bool = False


def submit_response(session: Session, request: Request, declaration: Declaration) -> None:
    """Submit the answers with the declaration; refuse while a visible question
    needs an answer. Emails a receipt to the supplier and a notice to the school."""
    ensure_editable(request)
    missing = missing_answers(request)
    if missing:
        raise IncompleteError(missing)
    resubmission = request.status == RequestStatus.CLARIFICATION
    if resubmission:
        clarifications.resolve_round(session, request)
    request.submitted_at = utcnow()
    request.declared_name = declaration.name.strip()
    request.declared_role = declaration.role.strip()
    request.directory_consent = declaration.directory_consent
    request.reuse_consent = declaration.reuse_consent
    who = f"{declaration.name.strip()}, {declaration.role.strip()}"
    change_status(
        session,
        request,
        RequestStatus.RESUBMITTED if resubmission else RequestStatus.SUBMITTED,
        actor_label=f"{SUPPLIER_ACTOR} ({who})",
    )
    evidence_life.track(session, request)
    ratings.refresh_rating(session, request)
    record_event(
        session,
        "declaration_signed",
        organisation=request.organisation,
        actor_label=f"{SUPPLIER_ACTOR} ({who})",
        request=request,
        answers=len(request.answers),
        directory_consent=declaration.directory_consent,
        reuse_consent=declaration.reuse_consent,
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
            link=runtime(session).links.url("school.view_request", request_id=request.id),
        )
    session.flush()


@dataclass(frozen=True)
class SectionOutcome:
    """What happened to a posted section: fully saved or not, complete or not,
    questions that appeared because of the answers just given, and answers that
    changed elsewhere since the page was loaded (not overwritten)."""

    saved: bool
    complete: bool
    revealed: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()


def editable_ids(session: Session, request: Request) -> set[str] | None:
    """In a clarification round, the questions the supplier may change; else None (all)."""
    items = clarifications.open_items(session, request)
    if not items:
        return None
    flagged = {item.question_id for item in items if item.question_id}
    return clarifications.editable_questions(questionnaire_of(request), flagged)


def save_valid_answers(
    session: Session,
    request: Request,
    form: SectionForm,
    ids: set[str],
    revisions: Mapping[str, int],
    *,
    editable: set[str] | None,
    today: date | None = None,
    by: str | None = None,
) -> tuple[set[str], list[str]]:
    """Save the answers among ``ids`` that are valid and not in conflict.

    Returns (questions with an error, questions in conflict): those keep their
    stored value, and their typed value stays on screen with the message. In a
    clarification round only the questions in it (``editable``, from
    :func:`editable_ids`) can change. An answer copied from an earlier
    submission is confirmed once the supplier saves it.
    """
    if editable is not None:
        ids = ids & editable
    found = stored_answers(session, request)
    plan = answerset.plan_section(
        form, _as_stored(found), only=ids, revisions=revisions, today=today
    )
    _write_changes(session, request, found, plan.changes, confirmed=plan.saved, by=by)
    return set(plan.errors) | set(plan.conflicts), list(plan.conflicts)


def _upload_dates(
    form: SectionForm,
    question: Question,
    today: date,
    uploading: bool,
    upload_errors: dict[str, list[str]],
) -> evidence.Dates | None:
    """The dates beside a question's new files (issue 26), or None when they
    are wrong: then the files are not stored, each date field says what to
    fix and the question says why its files were not saved. Without new files
    the dates are not needed and not checked."""
    (issued, expires, renewing), problems = form.upload_dates(question, today)
    if not uploading:
        return evidence.Dates()
    if problems:
        for name, message in problems.items():
            form[name].errors = [message]
        upload_errors[question.id] = [
            f"{next(iter(problems.values()))}. Your file was not saved: choose it again"
        ]
        return None
    return evidence.Dates(issued, expires, renewing)


class UploadDatesError(ServiceError):
    """The dates given beside an upload outside a page (the API) are wrong:
    ``problems`` by what each is ("issued", "expires", "renewing")."""

    def __init__(self, problems: dict[str, str]) -> None:
        field, message = next(iter(problems.items()))
        super().__init__(message, field)
        self.problems = problems


def checked_upload_dates(question: Question, given: evidence.Dates, today: date) -> evidence.Dates:
    """The dates beside an upload that has no page (the API), checked as the
    section page checks them (``SectionForm.upload_dates``): only the dates
    the question asks for (the page shows no other field), each by
    ``check_dates``. Raises UploadDatesError, naming every date that is wrong
    and any the question does not take: a date silently dropped would be a
    date the caller believes was kept."""
    life = question.life if question.takes_files else None
    problems: dict[str, str] = {}
    if given.undated and life is not None:
        return evidence.Dates()
    if life is None or not (life.asks_issue or life.asks_expiry):
        why = (
            f"its expiry is the answer to {life.answer_id}"
            if life is not None
            else "it has no expiry to follow"
        )
        sent = {"issued": given.issued_on, "expires": given.expires_on, "renewing": given.renewing}
        problems = {
            name: f"This question's evidence takes no dates: {why}"
            for name, value in sent.items()
            if value
        }
        if problems:
            raise UploadDatesError(problems)
        return evidence.Dates()
    expires_on = given.expires_on if life.asks_expiry else None
    if given.expires_on is not None and not life.asks_expiry:
        problems["expires"] = (
            f"This evidence runs out {life.months} months after it was issued: "
            "give its issue date alone"
        )
    wrong = check_dates(life, given.issued_on, expires_on, today, renewing=given.renewing)
    problems = {**wrong, **problems}
    if problems:
        raise UploadDatesError(problems)
    return evidence.Dates(given.issued_on, expires_on, given.renewing)


def save_section(
    session: Session,
    request: Request,
    form: SectionForm,
    files: Mapping[str, list[FileStorage]],
    *,
    draft: bool,
    shown: set[str],
    revisions: Mapping[str, int],
    evidence_keep: Mapping[str, list[str]] | None = None,
    by: str | None = None,
) -> SectionOutcome:
    """Store one section as posted, keeping whatever is valid.

    Files are stored first, so a supplier never has to choose them again.
    Every valid answer is saved; a wrongly typed one stays on screen with its
    message. A missing answer is reported only if the question was on the page:
    one that has just appeared gets a notice instead.
    """
    ensure_editable(request)
    evidence_keep = evidence_keep or {}
    section = form.section
    upload_errors: dict[str, list[str]] = {}
    today = utcnow().date()
    for question in section.answerable:
        if question.type != "file":
            continue
        field = form[question.id]
        kept = evidence.valid_kept_ids(session, request, question, field.data)
        new = [f for f in files.get(question.id, []) if f.filename]
        dates = _upload_dates(form, question, today, bool(new), upload_errors)
        if dates is None:  # the dates beside the new files are wrong: the old stay
            field.data = kept
            continue
        try:
            field.data = evidence.store_uploads(session, request, question, new, kept, dates)
        except evidence.UploadError as exc:
            field.data = kept
            upload_errors[question.id] = [exc.message]
    editable = editable_ids(session, request)
    for question in section.answerable:
        if question.type == "file" or question.evidence == "none":
            continue
        if editable is not None and question.id not in editable:
            continue
        new = [f for f in files.get(f"{question.id}-evidence", []) if f.filename]
        keep = [int(v) for v in evidence_keep.get(question.id, []) if str(v).isdecimal()]
        dates = _upload_dates(form, question, today, bool(new), upload_errors)
        if dates is None:  # nothing changes: the files kept stay, the new wait
            continue
        try:
            evidence.update_attachments(session, request, question, keep, new, dates)
        except evidence.UploadError as exc:
            upload_errors[question.id] = [exc.message]
    bad, conflicts = save_valid_answers(
        session,
        request,
        form,
        {q.id for q in section.answerable},
        revisions,
        editable=editable_ids(session, request),
        by=by,
    )
    for qid, errors in upload_errors.items():
        form[qid].errors = errors
    if bad or upload_errors:
        return SectionOutcome(saved=False, complete=False, conflicts=tuple(conflicts))
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
class AutosaveResult:
    saved: tuple[str, ...]
    errors: dict[str, str]
    conflicts: dict[str, str]
    revisions: dict[str, int]
    shown: dict[str, bool]


def autosave(
    session: Session,
    request: Request,
    section: Section,
    answers: Mapping[str, Any],
    comments: Mapping[str, Any],
    revisions: Mapping[str, Any],
    by: str | None = None,
) -> AutosaveResult:
    """Save answers sent one or a few at a time (JSON), through the section's form.

    Only the questions sent are touched; each is saved if valid and not in
    conflict, whatever happens to the others. Saving the same value again
    changes nothing (no new revision).
    """
    return apply_autosave(
        session,
        request,
        plan_autosave(session, request, section, answers, comments, revisions),
        by=by,
    )


@dataclass(frozen=True)
class AutosavePlan:
    """What an autosave will write, worked out from the answers as they were read."""

    section: Section
    answers: Mapping[str, Any]
    comments: Mapping[str, Any]
    revisions: Mapping[str, Any]
    stored: StoredAnswers
    stand: tuple[Any, ...]
    lock_version: int
    plan: answerset.SectionPlan


def plan_autosave(
    session: Session,
    request: Request,
    section: Section,
    answers: Mapping[str, Any],
    comments: Mapping[str, Any],
    revisions: Mapping[str, Any],
) -> AutosavePlan:
    """Check the answers sent against the stored ones; reads, writes nothing.

    Split from :func:`apply_autosave` so the checking can happen before the
    write lock is taken (see views/supplier.py autosave)."""
    ensure_editable(request)
    questionnaire = questionnaire_of(request)
    own = {q.id: q for q in section.answerable if q.type != "file"}
    ids = {qid for qid in [*answers, *comments] if qid in own}
    editable = editable_ids(session, request)
    if editable is not None:
        ids &= editable  # a clarification round opens only its questions
    # Plain rows, not Answer objects: an autosave is the most frequent write
    # there is, and loading every answer as an object was a third of its time.
    stored = stored_answers(session, request)
    stand = answers_stand(session, request)
    data = {
        **form_data(section, stored.values, stored.comments),
        **{k: answers[k] for k in answers if k in own},
    }
    for qid in comments:
        if qid in own and own[qid].comment:
            data[f"{qid}-comment"] = comments[qid]
    form = from_json(build_section_form(questionnaire, section), data)
    clean_revisions = {
        k: int(v) for k, v in revisions.items() if isinstance(v, int) and not isinstance(v, bool)
    }
    return AutosavePlan(
        section=section,
        answers=answers,
        comments=comments,
        revisions=revisions,
        stored=stored,
        stand=stand,
        lock_version=request.lock_version,
        plan=answerset.plan_section(form, _as_stored(stored), only=ids, revisions=clean_revisions),
    )


def apply_autosave(
    session: Session,
    request: Request,
    plan: AutosavePlan,
    *,
    recheck: bool = False,
    by: str | None = None,
) -> AutosaveResult:
    """Write a plan; with ``recheck``, if anything changed since it was read
    (another tab saved, the request was submitted), check again first, now
    under the write lock."""
    if recheck and (
        request.lock_version != plan.lock_version or answers_stand(session, request) != plan.stand
    ):
        plan = plan_autosave(
            session, request, plan.section, plan.answers, plan.comments, plan.revisions
        )
    saved = plan.plan
    written = _write_changes(
        session, request, plan.stored, saved.changes, confirmed=saved.saved, by=by
    )
    shown = logic.visibility(questionnaire_of(request), saved.answers)
    return AutosaveResult(
        saved=tuple(sorted(saved.saved)),
        errors=saved.errors,
        conflicts=saved.conflicts,
        revisions=written.revisions,
        shown={q.id: shown[q.id] for q in plan.section.questions if q.id in shown},
    )


_ANSWER_TABLE = cast(Table, Answer.__table__)
_ONE_ANSWER = (_ANSWER_TABLE.c.request_id == bindparam("rid")) & (
    _ANSWER_TABLE.c.question_id == bindparam("qid")
)
# Built once: constructing a statement per answer (and its cache key) was a
# tenth of an autosave. Columns are bound as "new_<name>" (a bind parameter
# may not share a column's name in an UPDATE's SET).
_DELETE_ANSWER = delete(_ANSWER_TABLE).where(_ONE_ANSWER)
_INSERT_ANSWER = insert(_ANSWER_TABLE)
_UPDATES: dict[frozenset[str], Any] = {}


def _update_answer(columns: Iterable[str]) -> Any:
    """The UPDATE of one answer setting these columns, built once per set."""
    key = frozenset(columns)
    statement = _UPDATES.get(key)
    if statement is None:
        statement = _UPDATES[key] = (
            update(_ANSWER_TABLE)
            .where(_ONE_ANSWER)
            .values({name: bindparam(f"new_{name}") for name in sorted(key)})
        )
    return statement


def _write_changes(
    session: Session,
    request: Request,
    stored: StoredAnswers,
    changes: Iterable[answerset.Change],
    *,
    confirmed: frozenset[str],
    by: str | None = None,
) -> Written:
    """Write the engine's changes to the request's answer rows: a new revision
    for a changed value, copied answers among ``confirmed`` confirmed. The one
    writer of a supplier's answers."""
    revisions = dict(stored.revisions)
    now = utcnow()
    # Core statements on the table: the ORM's UPDATE and DELETE look through
    # the identity map for objects to keep in step, which more than doubled
    # an autosave's write. Answer objects already loaded are expired below.
    connection = rows_connection(session)
    changed = 0
    to_confirm = set(confirmed & stored.unconfirmed)
    for change in changes:
        qid = change.question_id
        changed += 1
        if change.remove:
            connection.execute(_DELETE_ANSWER, {"rid": request.id, "qid": qid})
            revisions.pop(qid, None)
            to_confirm.discard(qid)
            continue
        if change.insert:
            connection.execute(
                _INSERT_ANSWER,
                {
                    "request_id": request.id, "question_id": qid, "value": change.value,
                    "comment": change.note, "revision": 1, "prefilled": False, "updated_at": now,
                    "answered_by": by,
                },
            )  # fmt: skip
            revisions[qid] = 1
            continue
        update_values: dict[str, Any] = {}
        if change.value_changed:
            revisions[qid] = stored.revisions[qid] + 1
            update_values.update(
                value=change.value, revision=revisions[qid], updated_at=now, answered_by=by
            )
        if change.note_changed:
            update_values["comment"] = change.note
        if qid in to_confirm:
            update_values["prefilled"] = False
            if by is not None:  # confirmed: the answer is now theirs
                update_values["answered_by"] = by
            to_confirm.discard(qid)
        connection.execute(
            _update_answer(update_values),
            {
                "rid": request.id,
                "qid": qid,
                **{f"new_{name}": value for name, value in update_values.items()},
            },
        )
    for qid in sorted(to_confirm):  # saved unchanged: the copy is now the supplier's answer
        confirmed_by = {"prefilled": False, **({"answered_by": by} if by is not None else {})}
        connection.execute(
            _update_answer(confirmed_by),
            {"rid": request.id, "qid": qid, **{f"new_{k}": v for k, v in confirmed_by.items()}},
        )
    if changed:
        change_status(
            session,
            request,
            RequestStatus.IN_PROGRESS,
            actor_label=SUPPLIER_ACTOR,
            only_from={RequestStatus.SENT},
        )
    if "answers" in request.__dict__:
        session.expire(request, ["answers"])  # a loaded collection would be stale now
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, Answer) and loaded.__dict__.get("request_id") == request.id:
            session.expire(loaded)
    session.flush()
    return Written(changed, revisions)


@dataclass(frozen=True)
class Written:
    changed: int
    revisions: dict[str, int]


@dataclass(frozen=True)
class AnswerSheet:
    """Everything a page needs to show a request's answers."""

    questionnaire: Questionnaire
    answers: dict[str, Any]
    comments: dict[str, str | None]
    shown: dict[str, bool]
    files: dict[int, Any]
    triage: compare.TriageResult | None
    answered_by: dict[str, str] = field(default_factory=dict)  # who at the supplier


def answer_sheet(
    session: Session,
    request: Request,
    *,
    confirmed_only: bool = False,
    shared_only: bool = False,
) -> AnswerSheet:
    """The answers as a page shows them; for the school, ``confirmed_only``
    (see answer_values). ``shared_only`` for another organisation (the
    curator): the questionnaire alone, without the school's own questions,
    their answers or their files."""
    if shared_only:
        questionnaire = definition_for(request.questionnaire_version)
    else:
        questionnaire = questionnaire_of(request)
    asked = {q.id for q in questionnaire.questions()}
    answers = {
        qid: value
        for qid, value in answer_values(request, confirmed_only=confirmed_only).items()
        if qid in asked
    }
    comments = answer_comments(request, confirmed_only=confirmed_only)
    return AnswerSheet(
        questionnaire=questionnaire,
        answers=answers,
        comments={qid: text for qid, text in comments.items() if qid in asked},
        shown=logic.visibility(questionnaire, answers),
        files={
            file_id: found
            for file_id, found in evidence.files_for(session, request).items()
            if found.question_id in asked
        },
        triage=compare.triage(questionnaire, answers, submitted=request.submitted_at is not None),
        # Names at the supplier are for the school (and the contact), not another organisation.
        answered_by={} if shared_only else answered_by(session, request),
    )


def attach_evidence(
    session: Session,
    request: Request,
    question: Question,
    files: list[FileStorage],
    given: evidence.Dates | None = None,
    today: date | None = None,
) -> list[int]:
    """Add files to a question (the API's upload): to a file question's answer,
    or as evidence beside any other answer that takes it, with the dates
    ``given`` beside them (checked by :func:`checked_upload_dates`: wrong
    dates store nothing). Returns the ids of every file the question now has."""
    ensure_editable(request)
    editable = editable_ids(session, request)
    if editable is not None and question.id not in editable:
        raise NotEditableError("This question is not part of the school's clarification questions")
    if not [f for f in files if f and f.filename]:
        raise evidence.UploadError("Choose a file to upload")
    if question.type != "file" and question.evidence == "none":
        raise evidence.UploadError("This question does not take evidence files")
    dates = checked_upload_dates(question, given or evidence.Dates(), today or utcnow().date())
    if question.type == "file":
        current = answer_values(request).get(question.id) or []
        ids = evidence.store_uploads(session, request, question, files, list(current), dates)
        save_answers(session, request, {question.id: ids})
        return ids
    keep = [item.id for item in evidence.attached(session, request).get(question.id, [])]
    evidence.update_attachments(session, request, question, keep, files, dates)
    return [item.id for item in evidence.attached(session, request).get(question.id, [])]
