"""Staff API: DPIAs (read, start from a request, answer, ask for and record
the DPO's advice, sign off), what a school shares with its DPO service, and
the DPO service's own caseload. The same services, permissions and messages
as the pages."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask.typing import ResponseReturnValue

from ...extensions import db, keep_changes
from ...models import Dpia, FeedbackShare
from ...permissions import (
    Action,
    api_caller,
    ensure_dpia_approver,
    get_for_org,
    request_for_org,
    shared_for_feedback,
)
from ...questionnaire.forms import sections_holding
from ...questionnaire.risk import residual_level, risks_of
from ...services.errors import ServiceError
from ...services.requests import answering as responses
from ...services.school import dpia as dpias
from ...services.school import feedback, risk_matrix
from ..forms import DpiaDecisionForm, DpoAdviceForm, DpoServiceAdviceForm
from . import bp
from . import dpia_schemas as d
from .common import (
    fill_form,
    form_problem,
    json_body,
    make_cursor,
    model_body,
    page_args,
    raise_problem,
    reply,
    service_problem,
    unknown_ids,
)


def _dpia(dpia_id: int, action: Action) -> Dpia:
    return get_for_org(Dpia, dpia_id, api_caller(action).organisation)


def _detail(row: Dpia) -> d.DpiaDetail:
    stored = dpias.stored_answers(db.session, row)
    values = dpias.answer_values(stored)
    risks = risks_of(values, risk_matrix.matrix_for(row.organisation))
    share = feedback.latest_share(db.session, row.organisation, row)
    return d.DpiaDetail.of(
        row,
        answers={
            qid: d.DpiaAnswer(value=a.value, comment=a.comment, source=a.source)
            for qid, a in sorted(stored.items())
        },
        risks=[d.DpiaRisk.of(r) for r in risks],
        residual_level=residual_level(risks),
        unanswered=[m.question.id for m in dpias.missing(dpias.questionnaire_of(row), values)],
        dpo_share=d.Share.of(share) if share else None,
    )


@bp.get("/dpias")
def list_dpias() -> ResponseReturnValue:
    caller = api_caller(Action.VIEW_REQUESTS)
    before_id, limit = page_args()
    rows = dpias.dpias_after(db.session, caller.organisation, before_id, limit)
    return reply(
        d.DpiaPage(
            items=[d.Dpia.of(row) for row in rows],
            next_cursor=make_cursor(rows[-1].id) if len(rows) == limit else None,
        )
    )


@bp.get("/dpias/<int:dpia_id>")
def get_dpia(dpia_id: int) -> ResponseReturnValue:
    return reply(_detail(_dpia(dpia_id, Action.VIEW_REQUESTS)))


@bp.post("/requests/<reference>/dpia")
def start_dpia(reference: str) -> ResponseReturnValue:
    """Start the DPIA of the tool a request assessed, prefilled from the
    supplier's answers; the one already begun, if there is one."""
    caller = api_caller(Action.MANAGE_DPIA)
    row = request_for_org(reference, caller.organisation)
    before = {found.id for found in dpias.for_request(db.session, row)}
    try:
        started = dpias.start_dpia(db.session, caller.organisation, caller.actor, row)
    except dpias.NotInstalled as exc:
        service_problem(str(exc), None, 409)
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 409)
    location = {"Location": url_for("api.get_dpia", dpia_id=started.id)}
    return reply(_detail(started), 200 if started.id in before else 201, location)


@bp.patch("/dpias/<int:dpia_id>/answers")
def change_dpia_answers(dpia_id: int) -> ResponseReturnValue:
    """Change some answers, each checked as the DPIA's pages check it; the
    valid ones are saved beside those refused (422, by question id)."""
    caller = api_caller(Action.MANAGE_DPIA)
    row = get_for_org(Dpia, dpia_id, caller.organisation)
    body: d.DpiaAnswersBody = model_body(d.DpiaAnswersBody)
    unknown = sections_holding(dpias.questionnaire_of(row), [*body.answers, *body.comments])[1]
    if unknown:
        unknown_ids(unknown, "question of this DPIA")
    try:
        errors = dpias.save_answers(db.session, row, caller.actor, body.answers, body.comments)
    except ServiceError as exc:
        service_problem(exc.message, None, 409)
    if errors:
        keep_changes()  # what was valid stays saved beside what was not
        raise_problem(422, "Some answers were not saved: see errors", kind="validation",
                      errors={k: [m] for k, m in errors.items()})  # fmt: skip
    return reply(_detail(row))


@bp.post("/dpias/<int:dpia_id>/ask-for-advice")
def ask_for_dpo_advice(dpia_id: int) -> ResponseReturnValue:
    caller = api_caller(Action.MANAGE_DPIA)
    row = get_for_org(Dpia, dpia_id, caller.organisation)
    try:
        dpias.ask_for_advice(db.session, row, caller.actor)
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 409)
    return reply(_detail(row))


@bp.post("/dpias/<int:dpia_id>/advice")
def record_dpo_advice(dpia_id: int) -> ResponseReturnValue:
    """The DPO's advice, recorded by the school (given outside the portal)."""
    caller = api_caller(Action.MANAGE_DPIA)
    row = get_for_org(Dpia, dpia_id, caller.organisation)
    form = fill_form(DpoAdviceForm, json_body())
    if not form.validate():
        form_problem(form)
    try:
        dpias.record_advice(
            db.session, row, caller.actor,
            dpias.Advice(form.dpo_name.data or "", form.advice.data or "", form.advised_on.data),
        )  # fmt: skip
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 422 if exc.field else 409)
    return reply(_detail(row))


@bp.post("/dpias/<int:dpia_id>/decision")
def decide_dpia(dpia_id: int) -> ResponseReturnValue:
    """Approve or reject: the SLT digital lead or the headteacher, signed in
    (an API key is no person, so it never signs a DPIA off)."""
    caller = api_caller(Action.VIEW_REQUESTS)
    row = get_for_org(Dpia, dpia_id, caller.organisation)
    roles = ensure_dpia_approver(row.organisation)
    form = fill_form(DpiaDecisionForm, json_body())
    form.approver_role.choices = [(r.value, r.value) for r in roles]
    if not form.validate():
        form_problem(form)
    sign_off = dpias.SignOff(
        approve=form.outcome.data == "approve",
        approver_role=form.approver_role.data or "",
        advice_followed={"yes": True, "no": False}.get(form.advice_followed.data or ""),
        not_followed_reason=form.not_followed_reason.data or "",
        note=form.note.data or "",
        decided_on=form.decided_on.data,
        next_review_date=form.next_review_date.data,
        ico_acknowledged=bool(form.ico_acknowledged.data),
    )
    try:
        dpias.decide(db.session, row, caller.actor, sign_off, [r.value for r in roles])
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 422 if exc.field else 409)
    return reply(_detail(row))


# --- Sharing with the DPO service (the school's side) ------------------------------


def _shared(target: feedback.Shared, organisation: Any) -> d.Share | None:
    found = feedback.latest_share(db.session, organisation, target)
    return d.Share.of(found) if found else None


def _share(target: feedback.Shared, caller: Any) -> ResponseReturnValue:
    body: d.MessageBody = model_body(d.MessageBody)
    try:
        found = feedback.share(db.session, caller.organisation, caller.actor, target, body.message)
    except ServiceError as exc:
        service_problem(exc.message, None, 409)
    return reply(d.Share.of(found), 201)


def _withdraw(target: feedback.Shared, caller: Any) -> ResponseReturnValue:
    found = feedback.active_share(db.session, caller.organisation, target)
    if found is None:
        service_problem("Nothing of this is shared with the DPO service", None, 409)
    feedback.withdraw(db.session, caller.organisation, caller.actor, found)
    return reply(d.Share.of(found))


def _current(target: feedback.Shared, caller: Any) -> ResponseReturnValue:
    found = _shared(target, caller.organisation)
    if found is None:
        service_problem("Not shared with the DPO service", None, 404)
    return reply(found)


@bp.get("/dpias/<int:dpia_id>/dpo-share")
def get_dpia_share(dpia_id: int) -> ResponseReturnValue:
    caller = api_caller(Action.VIEW_REQUESTS)
    return _current(get_for_org(Dpia, dpia_id, caller.organisation), caller)


@bp.post("/dpias/<int:dpia_id>/dpo-share")
def share_dpia(dpia_id: int) -> ResponseReturnValue:
    caller = api_caller(Action.MANAGE_DPIA)
    return _share(get_for_org(Dpia, dpia_id, caller.organisation), caller)


@bp.post("/dpias/<int:dpia_id>/dpo-share/withdraw")
def withdraw_dpia_share(dpia_id: int) -> ResponseReturnValue:
    caller = api_caller(Action.MANAGE_DPIA)
    return _withdraw(get_for_org(Dpia, dpia_id, caller.organisation), caller)


@bp.get("/requests/<reference>/feedback")
def get_request_feedback(reference: str) -> ResponseReturnValue:
    caller = api_caller(Action.VIEW_REQUESTS)
    return _current(request_for_org(reference, caller.organisation), caller)


@bp.post("/requests/<reference>/feedback")
def share_request(reference: str) -> ResponseReturnValue:
    caller = api_caller(Action.REVIEW_REQUESTS)
    return _share(request_for_org(reference, caller.organisation), caller)


@bp.post("/requests/<reference>/feedback/withdraw")
def withdraw_request_share(reference: str) -> ResponseReturnValue:
    caller = api_caller(Action.REVIEW_REQUESTS)
    return _withdraw(request_for_org(reference, caller.organisation), caller)


@bp.get("/standards/feedback")
def get_tracker_feedback() -> ResponseReturnValue:
    return _current(None, api_caller(Action.VIEW_REQUESTS))


@bp.post("/standards/feedback")
def share_tracker() -> ResponseReturnValue:
    return _share(None, api_caller(Action.MANAGE_STANDARDS))


@bp.post("/standards/feedback/withdraw")
def withdraw_tracker_share() -> ResponseReturnValue:
    return _withdraw(None, api_caller(Action.MANAGE_STANDARDS))


# --- The DPO service's caseload ------------------------------------------------------


@bp.get("/dpo/cases")
def list_cases() -> ResponseReturnValue:
    """What schools shared with this DPO service: waiting for an answer
    (oldest first), or ``show=answered`` (most recently answered first)."""
    caller = api_caller(Action.CURATE)
    show = request.args.get("show", "waiting")
    if show not in ("waiting", "answered"):
        service_problem("show must be waiting or answered", "show", 400)
    offset, limit = page_args()
    number = (offset or 0) // limit + 1
    if (offset or 0) % limit:
        service_problem("cursor is not one this API gave out", "cursor", 400)
    found = feedback.open_shares(
        db.session, caller.organisation, number, answered=show == "answered", size=limit
    )
    return reply(
        d.CasePage(
            items=[d.Case.of(share, comments) for share, comments in found.items],
            total=found.total,
            next_cursor=make_cursor(number * limit) if found.has_next else None,
        )
    )


def _case(share_id: int, action: Action = Action.CURATE) -> FeedbackShare:
    return shared_for_feedback(share_id, api_caller(action).organisation)


def _case_detail(found: FeedbackShare) -> d.CaseDetail:
    comments = len(found.comments)
    answers = None
    if found.request is not None and found.dpia is None:
        sheet = responses.answer_sheet(db.session, found.request, shared_only=True)
        answers = dict(sheet.answers)
    return d.CaseDetail(
        **d.Case.of(found, comments).model_dump(),
        message=found.message,
        shared_by=found.shared_by.name if found.shared_by else None,
        thread=d.Share.of(found).comments,
        dpia=_detail(found.dpia) if found.dpia is not None else None,
        answers=answers,
    )


@bp.get("/dpo/cases/<int:share_id>")
def get_case(share_id: int) -> ResponseReturnValue:
    return reply(_case_detail(_case(share_id)))


@bp.post("/dpo/cases/<int:share_id>/comments")
def comment_on_case(share_id: int) -> ResponseReturnValue:
    found = _case(share_id)
    body: d.CommentBody = model_body(d.CommentBody)
    try:
        feedback.comment(db.session, api_caller(Action.CURATE).actor, found, body.body)
    except ServiceError as exc:
        service_problem(exc.message, exc.field)
    return reply(_case_detail(found), 201)


@bp.post("/dpo/cases/<int:share_id>/advice")
def advise_on_case(share_id: int) -> ResponseReturnValue:
    """The DPO service's advice on a shared DPIA: then the school decides."""
    found = _case(share_id)
    if found.dpia is None:
        service_problem("Advice is given on a shared DPIA; comment on the rest", None, 409)
    form = fill_form(DpoServiceAdviceForm, json_body())
    if not form.validate():
        form_problem(form)
    try:
        feedback.give_advice(
            db.session, api_caller(Action.CURATE).actor, found,
            dpias.Advice(form.dpo_name.data or "", form.advice.data or "", form.advised_on.data),
            {"yes": True, "no": False}.get(form.ico.data or ""),
        )  # fmt: skip
    except ServiceError as exc:
        service_problem(exc.message, exc.field, 422 if exc.field else 409)
    return reply(_case_detail(found))
