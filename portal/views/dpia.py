"""Full DPIAs: started from a request, written by the school's staff, advised
on by the DPO and signed off by the accountable person."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from ..exports.dpia import dpia_pdf, dpia_workbook
from ..extensions import db, export_limit, keep_changes, writes_on_get
from ..identity.staff_sessions import current_actor, current_organisation
from ..models import Dpia, DpiaStatus, Request, utcnow
from ..permissions import (
    Action,
    can,
    dpia_signing_roles,
    ensure,
    ensure_dpia_approver,
    get_for_org,
    may_approve_dpia,
    requires,
)
from ..questionnaire import Questionnaire
from ..questionnaire.forms import SelectChoice, build_section_form, form_data
from ..questionnaire.risk import (
    LEVEL_LABELS,
    LEVELS,
    LIKELIHOODS,
    SEVERITIES,
    cell_key,
    residual_level,
    risks_of,
)
from ..request_audit import record_now
from ..services.downloads import contents as exports
from ..services.errors import ServiceError
from ..services.platform.paging import page_number
from ..services.review import decisions as review
from ..services.school import dpia as dpias
from ..services.school import feedback, risk_matrix
from .downloads import send_temporary
from .forms import DpiaDecisionForm, DpiaReturnForm, DpoAdviceForm

bp = Blueprint("dpia", __name__)


@bp.app_errorhandler(dpias.NotInstalled)
def _not_installed(exc: dpias.NotInstalled) -> ResponseReturnValue:
    return render_template("standards/not_installed.html", message=exc.message), 404


def _dpia(dpia_id: int) -> Dpia:
    return get_for_org(Dpia, dpia_id, current_organisation())


def _to(row: Dpia, anchor: str = "") -> ResponseReturnValue:
    return redirect(url_for("dpia.show", dpia_id=row.id, _anchor=anchor or None))


@bp.get("/dpias")
@requires(Action.VIEW_REQUESTS)
def list_all() -> ResponseReturnValue:
    return render_template(
        "dpia/list.html",
        page=dpias.dpias_page(
            db.session, current_organisation(), page_number(request.args.get("page"))
        ),
    )


@bp.post("/requests/<int:request_id>/dpia")
@requires(Action.MANAGE_DPIA)
def start(request_id: int) -> ResponseReturnValue:
    organisation = current_organisation()
    row = get_for_org(Request, request_id, organisation)
    try:
        started = dpias.start_dpia(db.session, organisation, current_actor(), row)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("school.view_request", request_id=row.id, _anchor="dpia"))
    flash("DPIA started: check what was copied from the supplier's answers", "success")
    return _to(started)


@bp.route("/dpias/risk-matrix", methods=["GET", "POST"])
@requires(Action.VIEW_REQUESTS)
def risk_matrix_page() -> ResponseReturnValue:
    """The matrix every DPIA of the organisation is rated with: anyone may
    read it; an administrator may set their own (issue 21)."""
    organisation = current_organisation()
    form = FlaskForm()  # CSRF only: the nine cells are checked by the service
    cells = {cell_key(*k): level for k, level in risk_matrix.matrix_for(organisation).items()}
    error = ""
    if request.method == "POST":
        ensure(Action.MANAGE_REQUIREMENTS)
        posted = {key: request.form.get(key, "") for key in cells}
        if form.validate_on_submit():
            try:
                risk_matrix.set_matrix(db.session, organisation, current_actor(), posted)
            except ServiceError as exc:
                error = exc.message
            else:
                flash("Risk matrix saved: every DPIA not yet decided is rated with it", "success")
                return redirect(url_for("dpia.risk_matrix_page"))
        else:
            error = "Your session timed out: check the levels and save again"
        cells = posted  # what was chosen stays chosen
    return render_template(
        "dpia/risk_matrix.html",
        form=form,
        cells=cells,
        error=error,
        own=risk_matrix.is_own(organisation),
        matrix=risk_matrix.matrix_for(organisation),
        editable=can(Action.MANAGE_REQUIREMENTS),
        **_matrix_words(),
    ), (422 if error else 200)


def _matrix_words() -> dict[str, object]:
    return {
        "likelihoods": LIKELIHOODS,
        "severities": SEVERITIES,
        "levels": LEVELS,
        "level_labels": LEVEL_LABELS,
        "cell_key": cell_key,
    }


def _matrix_page(matrix: object) -> dict[str, object]:
    return {"cells": matrix, **_matrix_words()}


@bp.get("/dpias/<int:dpia_id>")
@requires(Action.VIEW_REQUESTS)
def show(dpia_id: int) -> ResponseReturnValue:
    row = _dpia(dpia_id)
    return render_template("dpia/show.html", **_overview(row))


def _overview(row: Dpia) -> dict[str, object]:
    questionnaire = dpias.questionnaire_of(row)
    stored = dpias.stored_answers(db.session, row)
    values = dpias.answer_values(stored)
    matrix = risk_matrix.matrix_for(row.organisation)
    risks = risks_of(values, matrix)
    return {
        "row": row,
        "questionnaire": questionnaire,
        "stored": stored,
        "values": values,
        "risks": risks,
        "residual": residual_level(risks),
        "missing": dpias.missing(questionnaire, values),
        "history": dpias.history(db.session, row),
        "editable": row.status in dpias.EDITABLE and can(Action.MANAGE_DPIA),
        "may_approve": may_approve_dpia(row.organisation),
        "signing_roles": dpia_signing_roles(row.organisation),
        "reviews": dpias.reviews_of(db.session, row),
        "matrix": _matrix_page(matrix),
        "dpo_share": feedback.latest_share(db.session, row.organisation, row),
    }


@bp.route("/dpias/<int:dpia_id>/sections/<section_id>", methods=["GET", "POST"])
@requires(Action.VIEW_REQUESTS)
def answer_section(dpia_id: int, section_id: str) -> ResponseReturnValue:
    row = _dpia(dpia_id)
    questionnaire = dpias.questionnaire_of(row)
    try:
        section = questionnaire.section(section_id)
    except KeyError:
        abort(404)
    form_class = build_section_form(questionnaire, section)
    stored = dpias.stored_answers(db.session, row)
    status = 200
    if request.method == "POST":
        ensure(Action.MANAGE_DPIA)
        form = form_class(request.form)
        try:
            result = dpias.save_section(db.session, row, current_actor(), section, form)
        except ServiceError as exc:  # no longer a draft: show what was typed, save nothing
            flash(exc.message, "error")
            status = 409
        else:
            keep_changes()  # what was valid stays saved beside what was not
            if not result.errors and request.form.get("action") == "add_row":
                return redirect(request.path)
            if not result.errors:
                flash(f"{section.title}: saved", "success")
                return redirect(_after(row, questionnaire, section_id))
            stored = dpias.stored_answers(db.session, row)
            status = 422
    else:
        values = {qid: a.value for qid, a in stored.items()}
        comments = {qid: a.comment for qid, a in stored.items()}
        form = form_class(data=form_data(section, values, comments))
    form.add_blank_rows()
    return render_template(
        "dpia/section.html",
        row=row,
        questionnaire=questionnaire,
        section=section,
        form=form,
        stored=stored,
        editable=(row.status in dpias.EDITABLE or status == 409) and can(Action.MANAGE_DPIA),
    ), status


def _after(row: Dpia, questionnaire: Questionnaire, section_id: str) -> str:
    ids = [s.id for s in questionnaire.sections]
    index = ids.index(section_id)
    if index + 1 < len(ids):
        return url_for("dpia.answer_section", dpia_id=row.id, section_id=ids[index + 1])
    return url_for("dpia.show", dpia_id=row.id)


@bp.post("/dpias/<int:dpia_id>/ask-for-advice")
@requires(Action.MANAGE_DPIA)
def ask_for_advice(dpia_id: int) -> ResponseReturnValue:
    row = _dpia(dpia_id)
    try:
        dpias.ask_for_advice(db.session, row, current_actor())
    except ServiceError as exc:
        flash(exc.message, "error")
        return _to(row, "missing")
    flash("The DPIA is waiting for the DPO's advice", "success")
    return _to(row)


@bp.route("/dpias/<int:dpia_id>/advice", methods=["GET", "POST"])
@requires(Action.MANAGE_DPIA)
def record_advice(dpia_id: int) -> ResponseReturnValue:
    row = _dpia(dpia_id)
    if row.status != DpiaStatus.AWAITING_ADVICE:
        flash("This DPIA is not waiting for the DPO's advice", "error")
        return _to(row)
    form = DpoAdviceForm()
    if request.method == "GET":
        form.advised_on.process_data(utcnow().date())
    elif form.validate_on_submit():
        advice = dpias.Advice(
            form.dpo_name.data or "", form.advice.data or "", form.advised_on.data
        )
        try:
            dpias.record_advice(db.session, row, current_actor(), advice)
        except ServiceError as exc:
            form[exc.field or "advice"].errors = [exc.message]
        else:
            flash("The DPO's advice is recorded: the DPIA is waiting for approval", "success")
            return _to(row)
    return render_template("dpia/advice.html", row=row, form=form), (422 if form.errors else 200)


@bp.route("/dpias/<int:dpia_id>/decision", methods=["GET", "POST"])
@requires(Action.VIEW_REQUESTS)
def decide(dpia_id: int) -> ResponseReturnValue:
    row = _dpia(dpia_id)
    roles = ensure_dpia_approver(row.organisation)
    if row.status == DpiaStatus.AWAITING_ADVICE:
        flash("Record the DPO's advice before approving or rejecting the DPIA", "error")
        return _to(row)
    if row.status != DpiaStatus.AWAITING_APPROVAL:
        flash("This DPIA is not waiting for a decision", "error")
        return _to(row)
    form = DpiaDecisionForm()
    form.approver_role.choices = [SelectChoice(role, role) for role in roles]
    if request.method == "GET":
        if len(roles) == 1:
            form.approver_role.data = roles[0]
        form.decided_on.process_data(utcnow().date())
        form.next_review_date.process_data(review.default_review_date())
    elif form.validate_on_submit():
        try:
            dpias.decide(db.session, row, current_actor(), _sign_off(form), roles)
        except ServiceError as exc:
            form[exc.field or "outcome"].errors = [exc.message]
        else:
            flash(f"DPIA {dpias.STATUS_LABELS[DpiaStatus(row.status)].lower()}", "success")
            return _to(row)
    return render_template("dpia/decision.html", form=form, **_overview(row)), (
        422 if form.errors else 200
    )


def _sign_off(form: DpiaDecisionForm) -> dpias.SignOff:
    return dpias.SignOff(
        approve=form.outcome.data == "approve",
        approver_role=form.approver_role.data or "",
        advice_followed={"yes": True, "no": False}.get(form.advice_followed.data or ""),
        not_followed_reason=form.not_followed_reason.data or "",
        note=form.note.data or "",
        decided_on=form.decided_on.data,
        next_review_date=form.next_review_date.data,
        ico_acknowledged=bool(form.ico_acknowledged.data),
    )


@bp.post("/dpias/<int:dpia_id>/review")
@requires(Action.MANAGE_DPIA)
def start_review(dpia_id: int) -> ResponseReturnValue:
    row = _dpia(dpia_id)
    try:
        review = dpias.start_review(db.session, row, current_actor())
    except ServiceError as exc:
        flash(exc.message, "error")
        return _to(row)
    flash("Review started from the approved answers: change what is no longer right", "success")
    return _to(review)


@bp.route("/dpias/<int:dpia_id>/return", methods=["GET", "POST"])
@requires(Action.MANAGE_DPIA)
def return_to_draft(dpia_id: int) -> ResponseReturnValue:
    row = _dpia(dpia_id)
    if row.status not in (DpiaStatus.AWAITING_ADVICE, DpiaStatus.AWAITING_APPROVAL):
        flash("Only a DPIA waiting for advice or approval can go back to draft", "error")
        return _to(row)
    form = DpiaReturnForm()
    if form.validate_on_submit():
        try:
            dpias.return_to_draft(db.session, row, current_actor(), form.reason.data or "")
        except ServiceError as exc:
            form.reason.errors = [exc.message]
        else:
            flash("The DPIA is a draft again: change it, then ask for the DPO's advice", "success")
            return _to(row)
    return render_template("dpia/return.html", row=row, form=form), (422 if form.errors else 200)


@bp.get("/dpias/<int:dpia_id>/report.pdf")
@export_limit
@requires(Action.VIEW_REQUESTS)
def report(dpia_id: int) -> ResponseReturnValue:
    """The DPIA to read and file, for the DPO and with its signature trail.
    Drawn as a reader, then recorded."""
    row = _dpia(dpia_id)
    summary, answers = dpias.for_workbook(row, dpias.stored_answers(db.session, row))
    pdf = dpia_pdf(
        summary,
        dpias.questionnaire_of(row),
        answers,
        dpias.trail(db.session, row),
        utcnow(),
        risk_matrix.matrix_for(row.organisation),
        risk_matrix.is_own(row.organisation),
    )
    record_now(
        "export_downloaded", organisation=row.organisation, actor=current_actor(),
        request=row.request, what="dpia", format="pdf", dpia=row.id,
    )  # fmt: skip
    return send_file(
        io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
        download_name=exports.download_name("DPIA", row.title, extension="pdf"), max_age=0,
    )  # fmt: skip


@bp.get("/dpias/<int:dpia_id>/export.xlsx")
@writes_on_get
@export_limit
@requires(Action.VIEW_REQUESTS)
def export(dpia_id: int) -> ResponseReturnValue:
    row = _dpia(dpia_id)
    questionnaire = dpias.questionnaire_of(row)
    summary, answers = dpias.for_workbook(row, dpias.stored_answers(db.session, row))
    exports.record_download(
        db.session, current_actor(), row.organisation, "dpia", "xlsx", row.request
    )
    return send_temporary(
        lambda handle: dpia_workbook(
            handle,
            summary,
            questionnaire,
            answers,
            risk_matrix.matrix_for(row.organisation),
            risk_matrix.is_own(row.organisation),
        ),
        exports.download_name("DPIA", row.title, extension="xlsx"),
        exports.XLSX,
    )
