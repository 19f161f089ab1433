"""Answering a request in a spreadsheet (issue 25): the supplier downloads
every question of its request as a workbook, fills it in wherever it likes,
and uploads it back.

An upload goes through the pages' own path, section by section
(answering.autosave): each answer is checked by its section's form and
saved if it is sound; each one refused is listed at its sheet and row with
the page's message, the rest are kept. An answer changed on the web since
the workbook was downloaded is never overwritten: it is listed with both
values. The upload is kept with the request, with what came of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...exports.answer_workbook import About, NotOurWorkbook, ReadBack, read, write
from ...models import AnswerUpload, Request, utcnow
from ...questionnaire import Questionnaire, Section, logic
from ...questionnaire import answer_workbook as layout
from ...questionnaire.display import display_value
from ..errors import ServiceError
from ..platform.audit import SUPPLIER_ACTOR, record_event
from ..platform.filetypes import upload_archive_problem
from . import answering

KEPT = 10  # the newest uploads a request keeps; older ones go


def workbook(session: Session, request: Request) -> bytes:
    """Every question the supplier may be asked, with the answers so far."""
    questionnaire = answering.questionnaire_of(request)
    stored = answering.stored_answers(session, request)
    about = About(
        reference=request.reference,
        school=request.organisation.name,
        supplier=request.supplier.name,
        questionnaire=questionnaire.title,
        key=questionnaire.key,
        version=questionnaire.version,
        local_version=request.supplement.version if request.supplement else 0,
        made_at=utcnow(),
    )
    shown = logic.visibility(questionnaire, stored.values)
    sources = answering.answered_by(session, request) if stored.unconfirmed else {}
    copied = {
        qid: sources.get(qid) or "Copied from your earlier answers" for qid in stored.unconfirmed
    }
    return write(
        about,
        layout.plan(questionnaire, stored.values, stored.comments, stored.revisions, shown, copied),
    )


@dataclass(frozen=True)
class Conflict:
    where: str  # "Security row 4"
    question: str
    yours: str  # in the workbook
    theirs: str  # saved on the web since it was downloaded


@dataclass
class Report:
    saved: int = 0  # questions whose answer or comment the upload changed
    refused: list[str] = field(default_factory=list)  # "Security row 4: Question: message"
    conflicts: list[Conflict] = field(default_factory=list)
    still_needed: list[str] = field(default_factory=list)  # "Section: question"
    files_needed: list[str] = field(default_factory=list)
    # "Security row 4: Question: “answer” (why)": answers the upload took away
    removed: list[str] = field(default_factory=list)
    # "Security row 4: Question": copied answers left as they were, still to confirm
    unconfirmed: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        return cls(
            saved=data.get("saved", 0),
            refused=list(data.get("refused", [])),
            conflicts=[Conflict(**c) for c in data.get("conflicts", [])],
            still_needed=list(data.get("still_needed", [])),
            files_needed=list(data.get("files_needed", [])),
            removed=list(data.get("removed", [])),
            unconfirmed=list(data.get("unconfirmed", [])),
        )


@dataclass(frozen=True)
class Parsed:
    """An upload read and matched to the request's questions, before anything is written."""

    by_section: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, int]]]
    where: dict[str, str]  # question id -> "Sheet row N"
    refused: list[str]
    # question id -> its comment when the workbook was made, for the comments
    # changed in the workbook (the others are not sent)
    comments_then: dict[str, str] = field(default_factory=dict)


def parse(request: Request, data: bytes) -> Parsed:
    """Read an upload and check it is this request's workbook; raises
    ServiceError saying why not. Reads nothing from the database beyond the
    request, so it runs before the write lock."""
    found = read_upload(data)
    _same_request(request, found)
    return matched(answering.questionnaire_of(request), found)


def read_upload(data: bytes) -> ReadBack:
    """An uploaded answers workbook's cells, or ServiceError saying why it
    cannot be one."""
    problem = upload_archive_problem(data)
    if problem:
        raise ServiceError(problem, "workbook")
    try:
        return read(data)
    except NotOurWorkbook as exc:
        raise ServiceError(str(exc), "workbook") from exc


def matched(questionnaire: Questionnaire, found: ReadBack) -> Parsed:
    """The workbook's cells as each section's answers, in the forms' JSON shape."""
    by_section: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, int]]] = {}
    where: dict[str, str] = {}
    comments_then: dict[str, str] = {}
    refused = list(found.problems)
    for section in questionnaire.sections:
        answers: dict[str, Any] = {}
        comments: dict[str, Any] = {}
        revisions: dict[str, int] = {}
        for question in section.answerable:
            if question.type == "file":
                continue
            if question.type == "table":
                if question.id in found.tables:
                    sheet, rows = found.tables[question.id]
                    where[question.id] = f"{sheet}"
                    answers[question.id] = layout.table_answer(question, rows)
                    revisions[question.id] = found.revisions.get(question.id, 0)
                continue
            if question.id not in found.cells:
                continue
            sheet, row, label, cell, comment = found.cells[question.id]
            where[question.id] = f"{sheet} row {row}"
            if str(label or "").strip() != question.label.strip():
                refused.append(
                    f"{sheet} row {row}: this row no longer holds “{question.label}” (rows "
                    "moved or edited?): its answer was not read"
                )
                continue
            answers[question.id] = layout.answer_of(question, cell)
            if question.comment:
                typed = "" if comment is None else str(comment)
                then = found.comments_then.get(question.id)
                # Only a comment changed in the workbook is sent: one left as
                # it was must not undo a change made on the web meanwhile.
                if then is not None and typed.strip() != then.strip():
                    comments[question.id] = typed
                    comments_then[question.id] = then
                elif then is None and comment is not None:  # a workbook from before
                    comments[question.id] = typed
            revisions[question.id] = found.revisions.get(question.id, 0)
        by_section[section.id] = (answers, comments, revisions)
    asked = {q.id for q in questionnaire.questions()}
    for qid, (sheet, row, *_rest) in found.cells.items():
        if qid not in asked:
            refused.append(
                f"{sheet} row {row}: the workbook's hidden list of questions names "
                f"“{qid}”, which this questionnaire does not ask (was it edited?): not read"
            )
    return Parsed(by_section, where, refused, comments_then)


def _same_request(request: Request, found: ReadBack) -> None:
    about = found.about
    if about.get("reference") != request.reference:
        raise ServiceError(
            f"This workbook is for request {about.get('reference')}, not this one "
            f"({request.reference}): download this request's workbook from its task list",
            "workbook",
        )
    version = request.questionnaire_version
    local = request.supplement.version if request.supplement else 0
    if (about.get("questionnaire"), about.get("version"), about.get("local_version")) != (
        version.key,
        version.version,
        local,
    ):
        raise ServiceError(
            "This workbook was made for another version of the questionnaire: download a new "
            "one from the task list and copy your answers into it",
            "workbook",
        )


def apply(
    session: Session, request: Request, filename: str, data: bytes, parsed: Parsed
) -> AnswerUpload:
    """Save what the upload holds, section by section in one transaction,
    and keep the upload with its report."""
    answering.ensure_editable(request)
    questionnaire = answering.questionnaire_of(request)
    report = Report(refused=list(parsed.refused))
    before = answering.stored_answers(session, request)
    emptied: set[str] = set()
    for section in questionnaire.sections:
        answers, comments, revisions = parsed.by_section.get(section.id, ({}, {}, {}))
        stored = answering.stored_answers(session, request)
        sent = {}
        for qid, value in answers.items():
            if value is None and stored.revisions.get(qid, 0) != revisions.get(qid, 0):
                # A blank cell over an answer given on the web since the
                # download means nothing was typed there: the web's stands.
                continue
            if qid in stored.unconfirmed and value == stored.values.get(qid):
                # A copied answer left as it was is not confirmed by an
                # upload: nobody may have read it. Its section's page does.
                report.unconfirmed.append(_line(questionnaire, parsed, qid, section))
                continue
            if value is None and qid in stored.values:
                emptied.add(qid)
            sent[qid] = value
        comments = _comments_to_send(questionnaire, parsed, stored, comments, report)
        if not sent and not comments:
            continue
        result = answering.autosave(
            session,
            request,
            section,
            sent,
            comments,
            {qid: revisions.get(qid, 0) for qid in sent},
            by=request.contact_name,
        )
        for qid, message in result.errors.items():
            question = questionnaire.question(qid)
            report.refused.append(
                f"{parsed.where.get(qid, section.title)}: {question.label}: {message}"
            )
        for qid in result.conflicts:
            question = questionnaire.question(qid)
            report.conflicts.append(
                Conflict(
                    where=parsed.where.get(qid, section.title),
                    question=question.label,
                    yours=display_value(question, sent.get(qid)),
                    theirs=display_value(question, stored.values.get(qid)),
                )
            )
    session.expire(request, ["answers", "evidence"])
    after = answering.stored_answers(session, request)
    report.saved = sum(
        1
        for qid, value in after.values.items()
        if value != before.values.get(qid) or after.comments.get(qid) != before.comments.get(qid)
    )
    for qid, value in before.values.items():
        if qid not in after.values:
            question = questionnaire.question(qid)
            why = (
                "you emptied its cell"
                if qid in emptied
                else "it is no longer asked after your other answers"
            )
            report.removed.append(
                f"{_line(questionnaire, parsed, qid)}: “{display_value(question, value)}” "
                f"was removed ({why})"
            )
    for missing in answering.missing_answers(request):
        line = f"{missing.section.title}: {missing.question.label}"
        if missing.message == answering.EVIDENCE_NEEDED or missing.question.type == "file":
            report.files_needed.append(line)
        else:
            report.still_needed.append(line)
    upload = AnswerUpload(
        request_id=request.id,
        filename=filename[:200] or "answers.xlsx",
        data=data,
        applied_at=utcnow(),
        report=report.as_json(),
    )
    session.add(upload)
    _keep_newest(session, request)
    record_event(
        session,
        "answers_uploaded",
        organisation=request.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=request,
        saved=report.saved,
        refused=len(report.refused),
        conflicts=len(report.conflicts),
    )
    session.flush()
    return upload


def _line(
    questionnaire: Questionnaire, parsed: Parsed, qid: str, section: Section | None = None
) -> str:
    """Where an answer is, for the report: "Security row 4: Question"."""
    question = questionnaire.question(qid)
    where = parsed.where.get(qid) or (section or questionnaire.section_of(qid)).title
    return f"{where}: {question.label}"


def _comments_to_send(
    questionnaire: Questionnaire,
    parsed: Parsed,
    stored: answering.StoredAnswers,
    comments: dict[str, Any],
    report: Report,
) -> dict[str, Any]:
    """The workbook's changed comments, less those also changed on the web
    since the download: both are listed, the web's is kept."""
    sending = {}
    for qid, typed in comments.items():
        then = parsed.comments_then.get(qid)
        now = stored.comments.get(qid) or ""
        if then is not None and now.strip() != then.strip() and now.strip() != typed.strip():
            question = questionnaire.question(qid)
            report.conflicts.append(
                Conflict(
                    where=parsed.where.get(qid, ""),
                    question=f"{question.label} (comment)",
                    yours=typed,
                    theirs=now,
                )
            )
            continue
        sending[qid] = typed
    return sending


def _keep_newest(session: Session, request: Request) -> None:
    session.flush()
    old = session.scalars(
        select(AnswerUpload)
        .where(AnswerUpload.request_id == request.id)
        .order_by(AnswerUpload.id.desc())
        .offset(KEPT)
    ).all()
    for upload in old:
        session.delete(upload)


def uploads(session: Session, request: Request) -> list[AnswerUpload]:
    return list(
        session.scalars(
            select(AnswerUpload)
            .where(AnswerUpload.request_id == request.id)
            .order_by(AnswerUpload.id.desc())
        )
    )


def upload_of(session: Session, request: Request, upload_id: int) -> AnswerUpload | None:
    """One of this request's uploads; another request's is not found."""
    return session.scalar(
        select(AnswerUpload).where(
            AnswerUpload.id == upload_id, AnswerUpload.request_id == request.id
        )
    )
