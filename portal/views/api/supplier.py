"""Supplier API: one request, behind its link's token (or the supplier's session)."""

from __future__ import annotations

import io
from datetime import date

from flask import abort, request, send_file, url_for
from flask.typing import ResponseReturnValue

from ...extensions import db, reads_first, start_writing
from ...identity.api_callers import api_supplier_request
from ...models import Request, utcnow
from ...questionnaire import Question, Section, logic
from ...services.downloads.contents import XLSX
from ...services.errors import ServiceError
from ...services.requests import answer_workbooks, clarifications, evidence, lifecycle
from ...services.requests import answering as responses
from ..downloads import record_supplier_download
from ..forms import DeclarationForm
from . import bp
from . import schemas as s
from .common import fill_form, form_problem, json_body, raise_problem, reply, service_problem


def _question(row: Request, question_id: str) -> tuple[Section, Question]:
    questionnaire = responses.questionnaire_of(row)
    for section in questionnaire.sections:
        for question in section.answerable:
            if question.id == question_id:
                return section, question
    abort(404, description=f"There is no question {question_id} to answer in this questionnaire")


@bp.get("/supplier/request")
def supplier_request() -> ResponseReturnValue:
    """The request, its questionnaire, the answers so far and each section's progress."""
    row = api_supplier_request()
    stored = responses.stored_answers(db.session, row)
    questionnaire = responses.questionnaire_of(row)
    return reply(
        s.SupplierRequest.of(
            row,
            stored,
            files=evidence.files_for(db.session, row).values(),
            shown=logic.visibility(questionnaire, stored.values),
            progress=responses.progress(row),
            open_items=clarifications.open_items(db.session, row),
        )
    )


@bp.put("/supplier/answers/<question_id>")
def save_answer(question_id: str) -> ResponseReturnValue:
    """One answer, checked as the page checks it. ``revision`` is the one last
    read (0 for a new answer): if someone changed the answer since, 409."""
    row = api_supplier_request()
    section, question = _question(row, question_id)
    body = json_body()
    revision = body.get("revision")
    problems: dict[str, list[str]] = {}
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
        problems["revision"] = ["Send the revision you last read: 0 for a new answer"]
    if "value" not in body:
        problems["value"] = ["Send the answer as value (null removes it)"]
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        problems["comment"] = ["Send the comment as text"]
    if question.type == "file":
        problems["value"] = [
            f"Upload files for this question to {url_for('api.upload_evidence', question_id=question_id)}"
        ]
    if problems:
        raise_problem(
            422, "The answer could not be saved: see errors", kind="validation", errors=problems
        )
    editable = responses.editable_ids(db.session, row)
    if editable is not None and question_id not in editable:
        service_problem(
            "This question is not part of the school's clarification questions", None, 409
        )
    try:
        result = responses.autosave(
            db.session,
            row,
            section,
            {question_id: body["value"]},
            {question_id: comment} if comment is not None else {},
            {question_id: revision},
            by=row.contact_name,  # the API is the contact's alone (no colleague sessions)
        )
    except ServiceError as exc:
        service_problem(exc.message, None, 409)
    if result.conflicts:
        raise_problem(
            409,
            result.conflicts[question_id],
            kind="stale-revision",
            errors={question_id: [result.conflicts[question_id]]},
            revision=result.revisions.get(question_id, 0),
        )
    if result.errors:
        raise_problem(
            422,
            "The answer could not be saved: see errors",
            kind="validation",
            errors={question_id: [result.errors[question_id]]},
        )
    stored = responses.stored_answers(db.session, row)
    saved = s.SavedAnswer(
        question_id=question_id,
        value=stored.values.get(question_id),
        comment=stored.comments.get(question_id),
        revision=stored.revisions.get(question_id, 0),
        shown=result.shown,
    )
    return reply(saved)


# The multipart fields of the dates beside an upload, by what the service calls them.
DATE_FIELDS = {"issued": "issued_on", "expires": "expires_on", "renewing": "renewing"}


def _given_dates() -> evidence.Dates:
    """The dates sent beside the files: ISO dates and true/false, or a 422
    naming each field that is neither."""
    problems: dict[str, list[str]] = {}
    days: dict[str, date | None] = {}
    for name in ("issued_on", "expires_on"):
        raw = (request.form.get(name) or "").strip()
        try:
            days[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            problems[name] = [f"{name} must be a real date written as YYYY-MM-DD, like 2027-03-31"]
    flags: dict[str, bool] = {}
    for name in ("renewing", "undated"):
        value = (request.form.get(name) or "false").strip().lower()
        if value not in ("true", "false"):
            problems[name] = [f"{name} must be true or false"]
        flags[name] = value == "true"
    if problems:
        raise_problem(
            422, "The dates beside the files need changing: see errors", kind="validation",
            errors=problems,
        )  # fmt: skip
    if flags["undated"] and days["issued_on"] is None and days["expires_on"] is None:
        # The document shows no date: kept undated, as the page does, for the
        # school to accept or not (a date sent with it is still checked).
        return evidence.UNDATED
    return evidence.Dates(days["issued_on"], days["expires_on"], flags["renewing"])


@bp.post("/supplier/evidence/<question_id>")
def upload_evidence(question_id: str) -> ResponseReturnValue:
    """Files (multipart field ``file``, one or more) for a file question or as
    evidence beside an answer, with the dates the question asks for beside
    them (``issued_on``, ``expires_on``, ``renewing``; ``undated=true`` for a
    document that shows no date)."""
    row = api_supplier_request()
    _, question = _question(row, question_id)
    files = request.files.getlist("file")
    try:
        ids = responses.attach_evidence(
            db.session, row, question, files, _given_dates(), utcnow().date()
        )
    except responses.UploadDatesError as exc:
        raise_problem(
            422,
            f"{exc.message}. The files were not stored",
            kind="validation",
            errors={DATE_FIELDS[field]: [message] for field, message in exc.problems.items()},
        )
    except evidence.UploadError as exc:
        service_problem(exc.message, "file")
    except ServiceError as exc:
        service_problem(exc.message, None, 409)
    found = evidence.files_for(db.session, row)
    stored = [s.UploadedFile.model_validate(found[i]) for i in ids if i in found]
    return reply(s.Uploaded(question_id=question_id, files=stored), 201)


@bp.get("/supplier/workbook")
def supplier_workbook() -> ResponseReturnValue:
    """Every question with the answers so far, as the task list's workbook."""
    row = api_supplier_request()
    if not row.is_open:
        service_problem("These answers have been submitted and can no longer be changed", None, 409)
    record_supplier_download(row, "answers workbook")
    return send_file(
        io.BytesIO(answer_workbooks.workbook(db.session, row)),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"{row.reference}-to-answer.xlsx",
        max_age=0,
    )


@bp.post("/supplier/workbook")
@reads_first
def upload_supplier_workbook() -> ResponseReturnValue:
    """The answers of a filled-in workbook, through each section's own checks."""
    row = api_supplier_request()
    sent = request.files.get("workbook")
    if sent is None or not sent.filename:
        service_problem("Send the workbook as the multipart field workbook", "workbook")
    if not row.is_open:
        service_problem("These answers have been submitted and can no longer be changed", None, 409)
    data = sent.read()
    try:
        parsed = answer_workbooks.parse(row, data)
    except ServiceError as exc:
        service_problem(exc.message, exc.field)
    start_writing(db.session)
    lifecycle.lock(db.session, row)
    try:
        upload = answer_workbooks.apply(db.session, row, sent.filename, data, parsed)
    except ServiceError as exc:
        service_problem(exc.message, None, 409)
    return reply(s.WorkbookReport.model_validate(upload.report or {}))


@bp.post("/supplier/submit")
def submit() -> ResponseReturnValue:
    """Submit with the declaration; 422 listing every answer still needed."""
    row = api_supplier_request()
    form = fill_form(DeclarationForm, json_body())
    if not form.validate():
        form_problem(form)
    try:
        responses.submit_response(
            db.session,
            row,
            responses.Declaration(
                name=form.declared_name.data or "",
                role=form.declared_role.data or "",
                directory_consent=bool(form.directory_consent.data),
                reuse_consent=bool(form.reuse_consent.data),
            ),
        )
    except responses.IncompleteError as exc:
        raise_problem(
            422,
            f"{len(exc.missing)} answer{'s' if len(exc.missing) != 1 else ''} still needed: see errors",
            kind="incomplete",
            errors={m.question.id: [m.message] for m in exc.missing},
        )
    except ServiceError as exc:
        service_problem(exc.message, None, 409)
    return reply(
        s.Submitted(
            reference=row.reference, status=row.status, submitted_at=s.iso(row.submitted_at)
        )
    )
