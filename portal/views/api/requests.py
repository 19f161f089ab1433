"""Staff API: requests, their links, answers, findings, clarifications and decisions."""

from __future__ import annotations

import io

from flask import abort, request, send_file, url_for
from flask.typing import ResponseReturnValue

from ...extensions import db, writes_on_get
from ...input_hygiene import valid_id
from ...models import ANSWERED_STATUSES, Request, RequestStatus, utcnow
from ...permissions import Action, api_caller, request_for_org
from ...services.downloads import contents as exports
from ...services.errors import ServiceError
from ...services.jobs import reminders
from ...services.requests import clarifications, evidence, evidence_life
from ...services.requests import lifecycle as requests
from ...services.requirements import ratings
from ...services.review import decisions as review
from ..downloads import register_download, send_request_report
from ..forms import DecisionForm, NewRequestForm, ReviewFindingForm
from . import bp
from . import schemas as s
from .common import (
    fill_form,
    form_problem,
    json_body,
    make_cursor,
    page_args,
    reply,
    service_problem,
)


def _issued(issued: requests.IssuedLink) -> s.IssuedRequest:
    # The only time the token exists in clear: we keep its hash.
    return s.IssuedRequest.of(issued.request, supplier_link=issued.url)


def _own_request(reference: str, action: Action) -> Request:
    return request_for_org(reference, api_caller(action).organisation)


@bp.get("/requests")
def list_requests() -> ResponseReturnValue:
    caller = api_caller(Action.VIEW_REQUESTS)
    before_id, limit = page_args()
    status = request.args.get("status") or None
    if status is not None and status not in set(RequestStatus):
        service_problem(f"status must be one of: {', '.join(RequestStatus)}", "status", 400)
    criteria = requests.RequestFilter(
        status=status,
        supplier=request.args.get("supplier") or None,
        questionnaire=request.args.get("questionnaire") or None,
    )
    rows = requests.page_of_requests(
        db.session, caller.organisation, criteria, before_id=before_id, limit=limit
    )
    return reply(
        s.RequestPage(
            items=[s.Request.of(row) for row in rows],
            next_cursor=make_cursor(rows[-1].id) if len(rows) == limit else None,
            total=requests.count_requests(db.session, caller.organisation, criteria),
        )
    )


@bp.post("/requests")
def create_request() -> ResponseReturnValue:
    """Create a request and send it (or not: ``email_supplier: false``)."""
    from ...services.platform import questionnaire_registry as questionnaires

    caller = api_caller(Action.SEND_REQUESTS)
    body = json_body()
    form = fill_form(NewRequestForm, body)
    form.questionnaire.choices = [
        (q.key, q.title) for q in questionnaires.for_suppliers(db.session)
    ]
    email_supplier = body.get("email_supplier", True)
    valid = form.validate()
    if not isinstance(email_supplier, bool):
        form_problem(form, {"email_supplier": ["Send true or false"]})
    schools = form.on_behalf_of.data or []
    if not all(isinstance(v, str) and v.isdecimal() and valid_id(int(v)) for v in schools):
        valid = False
        form.on_behalf_of.errors = ["Send the ids of the trust's schools, from GET /trust/schools"]
    if not valid:
        form_problem(form)
    try:
        issued = requests.create_request(
            db.session,
            caller.organisation,
            caller.actor,
            requests.NewRequest(
                supplier_name=form.supplier_name.data or "",
                contact_name=form.contact_name.data or "",
                contact_email=form.contact_email.data or "",
                questionnaire_key=form.questionnaire.data or "",
                due_date=form.due_date.data,
                message=form.message.data or "",
                link_days=form.link_days.data,
                email_supplier=email_supplier,
                on_behalf_of=tuple(int(v) for v in schools),
            ),
        )
    except ServiceError as exc:
        service_problem(exc.message, exc.field)
    location = url_for("api.get_request", reference=issued.request.reference)
    return reply(_issued(issued), 201, {"Location": location})


@bp.get("/requests/<reference>")
def get_request(reference: str) -> ResponseReturnValue:
    """The request, with its evidence files and the evidence whose expiry the school follows."""
    row = _own_request(reference, Action.VIEW_REQUESTS)
    return reply(
        s.RequestDetail.of(
            row,
            tracked=evidence_life.tracked(db.session, row, utcnow().date()),
            files=evidence.files_for(db.session, row).values(),
        )
    )


@bp.post("/requests/<reference>/revoke")
def revoke_request_link(reference: str) -> ResponseReturnValue:
    caller = api_caller(Action.SEND_REQUESTS)
    row = request_for_org(reference, caller.organisation)
    try:
        requests.revoke_link(db.session, row, caller.actor)
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 409)
    return reply(s.Request.of(row))


@bp.post("/requests/<reference>/extend")
def extend_request_link(reference: str) -> ResponseReturnValue:
    caller = api_caller(Action.SEND_REQUESTS)
    row = request_for_org(reference, caller.organisation)
    days = json_body().get("days")
    if not isinstance(days, int) or isinstance(days, bool):
        service_problem("Enter a whole number of days between 1 and 90", "days")
    try:
        requests.extend_link(db.session, row, caller.actor, days)
    except ServiceError as exc:
        service_problem(exc.message, exc.field or "days")
    return reply(s.Request.of(row))


@bp.post("/requests/<reference>/reissue")
def reissue_request_link(reference: str) -> ResponseReturnValue:
    caller = api_caller(Action.SEND_REQUESTS)
    row = request_for_org(reference, caller.organisation)
    try:
        issued = requests.reissue_link(db.session, row, caller.actor)
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 409)
    return reply(_issued(issued))


@bp.post("/requests/<reference>/remind")
def remind_supplier(reference: str) -> ResponseReturnValue:
    caller = api_caller(Action.SEND_REQUESTS)
    row = request_for_org(reference, caller.organisation)
    try:
        reminder = reminders.remind_now(db.session, row, caller.actor)
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 409)
    return reply(s.Reminded(reference=row.reference, sent_to=row.contact_email, kind=reminder.kind))


@bp.get("/requests/<reference>/answers")
def request_answers(reference: str) -> ResponseReturnValue:
    row = _own_request(reference, Action.VIEW_REQUESTS)
    return reply(s.Answers.of(row))


@bp.get("/requests/<reference>/findings")
def request_findings(reference: str) -> ResponseReturnValue:
    """The answers compared against the organisation's requirements."""
    row = _own_request(reference, Action.VIEW_REQUESTS)
    if row.status not in ANSWERED_STATUSES:
        service_problem(
            "There are no findings until the supplier has submitted their answers", None, 409
        )
    comparison = ratings.comparison_for(db.session, row)
    return reply(s.Findings.of(comparison, reference=row.reference))


@bp.get("/requests/<reference>/export.xlsx")
@writes_on_get
def request_export(reference: str) -> ResponseReturnValue:
    caller = api_caller(Action.VIEW_REQUESTS)
    row = request_for_org(reference, caller.organisation)
    exports.record_download(db.session, caller.actor, row.organisation, "request", "xlsx", row)
    return send_file(
        io.BytesIO(exports.request_xlsx(db.session, row)),
        mimetype=exports.XLSX,
        as_attachment=True,
        download_name=exports.download_name(row.reference, row.supplier.name, extension="xlsx"),
        max_age=0,
    )


@bp.get("/requests/<reference>/report.pdf")
def request_report(reference: str) -> ResponseReturnValue:
    caller = api_caller(Action.VIEW_REQUESTS)
    row = request_for_org(reference, caller.organisation)
    return send_request_report(row, caller.actor)


@bp.post("/requests/<reference>/clarifications")
def ask_clarification(reference: str) -> ResponseReturnValue:
    """``{"notes": {"question_id": "what to clarify"}}``: a new round, emailed with a new link."""
    caller = api_caller(Action.SEND_REQUESTS)
    row = request_for_org(reference, caller.organisation)
    notes = json_body().get("notes")
    if not isinstance(notes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in notes.items()
    ):
        service_problem(
            "notes must be an object of question ids and the text to ask about each", "notes"
        )
    try:
        items = clarifications.ask_clarification(db.session, row, caller.actor, notes)
    except ServiceError as exc:
        service_problem(exc.message, exc.field or "notes")
    asked = s.ClarificationAsked(
        reference=row.reference,
        status=row.status,
        round=items[0].round,
        questions=[item.question_id for item in items if item.question_id is not None],
    )
    return reply(asked, 201)


@bp.post("/requests/<reference>/decision")
def decide(reference: str) -> ResponseReturnValue:
    """Accept, accept with conditions or reject, with the same checks as the page."""
    caller = api_caller(Action.REVIEW_REQUESTS)
    row = request_for_org(reference, caller.organisation)
    body = json_body()
    if isinstance(body.get("conditions"), list):
        body = {**body, "conditions": "\n".join(str(c) for c in body["conditions"])}
    form = fill_form(DecisionForm, body)
    if not form.validate():
        form_problem(form)
    try:
        review.decide(
            db.session,
            row,
            caller.actor,
            review.Decision(
                outcome=form.outcome.data or "",
                reason=form.reason.data or "",
                conditions=(form.conditions.data or "").splitlines(),
                next_review=form.next_review.data,
            ),
        )
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 422 if exc.field else 409)
    return reply(s.Request.of(row))


@bp.put("/requests/<reference>/findings/<question_id>/review")
def review_finding(reference: str, question_id: str) -> ResponseReturnValue:
    """Judge one finding differently, with a reason (kept beside the computed one)."""
    caller = api_caller(Action.REVIEW_REQUESTS)
    row = request_for_org(reference, caller.organisation)
    if ratings.comparison_for(db.session, row).finding(question_id) is None:
        abort(404, description=f"Question {question_id} has no requirement in this request")
    form = fill_form(ReviewFindingForm, json_body())
    if not form.validate():
        form_problem(form)
    try:
        comparison = review.set_review(
            db.session,
            row,
            caller.actor,
            question_id,
            form.outcome.data or "",
            form.reason.data or "",
        )
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 422 if exc.field else 409)
    return reply(s.Findings.of(comparison, reference=row.reference))


@bp.delete("/requests/<reference>/findings/<question_id>/review")
def remove_finding_review(reference: str, question_id: str) -> ResponseReturnValue:
    """Go back to the computed finding."""
    caller = api_caller(Action.REVIEW_REQUESTS)
    row = request_for_org(reference, caller.organisation)
    try:
        review.remove_review(db.session, row, caller.actor, question_id)
    except ServiceError as exc:
        service_problem(exc.message, None, 409)
    comparison = ratings.comparison_for(db.session, row)
    return reply(s.Findings.of(comparison, reference=row.reference))


@bp.post("/requests/<reference>/reopen")
def reopen_decision(reference: str) -> ResponseReturnValue:
    """Take back a decision to review the request again against today's requirements."""
    caller = api_caller(Action.REVIEW_REQUESTS)
    row = request_for_org(reference, caller.organisation)
    try:
        review.reopen(db.session, row, caller.actor)
    except ServiceError as exc:
        service_problem(exc.message, None, 409)
    return reply(s.Request.of(row))


@bp.get("/register.xlsx")
@writes_on_get
def register_export() -> ResponseReturnValue:
    """The supplier register (every request and adopted directory entry) as a
    workbook; ``answer`` (repeatable) adds a question's answers as a column."""
    caller = api_caller(Action.VIEW_REQUESTS)
    return register_download(
        caller.organisation, caller.actor, "xlsx", request.args.getlist("answer")
    )
