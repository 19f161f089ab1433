"""Feedback from the curator (the DPO service): a school shares a request or
its standards tracker, the curator comments, the school withdraws."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..extensions import db
from ..identity.staff_sessions import current_actor, current_organisation
from ..models import Dpia, Request, utcnow
from ..permissions import Action, get_for_org, requires, shared_for_feedback
from ..services.errors import ServiceError
from ..services.platform.paging import page_number
from ..services.school import dpia as dpias
from ..services.school import feedback
from .forms import DpoServiceAdviceForm

bp = Blueprint("feedback", __name__)


def _share(target: feedback.Shared, back: str) -> ResponseReturnValue:
    try:
        feedback.share(
            db.session, current_organisation(), current_actor(), target,
            request.form.get("message", ""),
        )  # fmt: skip
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(
            "Sent to the DPO service for its advice"
            if isinstance(target, Dpia)
            else "Shared with the DPO service for feedback",
            "success",
        )
    return redirect(back)


def _withdraw(target: feedback.Shared, back: str) -> ResponseReturnValue:
    organisation = current_organisation()
    found = feedback.active_share(db.session, organisation, target)
    if found is not None:
        feedback.withdraw(db.session, organisation, current_actor(), found)
        flash("Share withdrawn: the DPO service no longer sees it", "success")
    return redirect(back)


@bp.post("/requests/<int:request_id>/feedback")
@requires(Action.REVIEW_REQUESTS)
def share_request(request_id: int) -> ResponseReturnValue:
    row = get_for_org(Request, request_id, current_organisation())
    return _share(row, url_for("school.view_request", request_id=row.id) + "#feedback")


@bp.post("/requests/<int:request_id>/feedback/withdraw")
@requires(Action.REVIEW_REQUESTS)
def withdraw_request(request_id: int) -> ResponseReturnValue:
    row = get_for_org(Request, request_id, current_organisation())
    return _withdraw(row, url_for("school.view_request", request_id=row.id) + "#feedback")


@bp.post("/standards/feedback")
@requires(Action.MANAGE_STANDARDS)
def share_tracker() -> ResponseReturnValue:
    return _share(None, url_for("standards.overview") + "#feedback")


@bp.post("/standards/feedback/withdraw")
@requires(Action.MANAGE_STANDARDS)
def withdraw_tracker() -> ResponseReturnValue:
    return _withdraw(None, url_for("standards.overview") + "#feedback")


@bp.post("/dpias/<int:dpia_id>/dpo-share")
@requires(Action.MANAGE_DPIA)
def share_dpia(dpia_id: int) -> ResponseReturnValue:
    row = get_for_org(Dpia, dpia_id, current_organisation())
    return _share(row, url_for("dpia.show", dpia_id=row.id) + "#feedback")


@bp.post("/dpias/<int:dpia_id>/dpo-share/withdraw")
@requires(Action.MANAGE_DPIA)
def withdraw_dpia(dpia_id: int) -> ResponseReturnValue:
    row = get_for_org(Dpia, dpia_id, current_organisation())
    return _withdraw(row, url_for("dpia.show", dpia_id=row.id) + "#feedback")


@bp.get("/curator/feedback")
@requires(Action.CURATE)
def shares() -> ResponseReturnValue:
    """The DPO service's caseload: what waits for an answer (oldest first),
    or what it has answered."""
    answered = request.args.get("show") == "answered"
    return render_template(
        "curator/feedback_list.html",
        answered=answered,
        page=feedback.open_shares(
            db.session,
            current_organisation(),
            page_number(request.args.get("page")),
            answered=answered,
        ),
    )


@bp.route("/curator/feedback/<int:share_id>", methods=["GET", "POST"])
@requires(Action.CURATE)
def shared(share_id: int) -> ResponseReturnValue:
    found = shared_for_feedback(share_id, current_organisation())
    error = None
    form = DpoServiceAdviceForm() if found.dpia is not None else None
    if request.method == "POST" and form is not None and request.form.get("action") == "advice":
        if form.validate():
            try:
                feedback.give_advice(
                    db.session, current_actor(), found,
                    dpias.Advice(form.dpo_name.data or "", form.advice.data or "",
                                 form.advised_on.data),
                    {"yes": True, "no": False}.get(form.ico.data or ""),
                )  # fmt: skip
            except ServiceError as exc:
                form[f"{exc.field}" if exc.field in form else "advice"].errors = [exc.message]
            else:
                flash(f"Your advice is sent to {found.organisation.name}", "success")
                return redirect(url_for("feedback.shared", share_id=share_id))
    elif request.method == "POST":
        try:
            feedback.comment(db.session, current_actor(), found, request.form.get("body", ""))
        except ServiceError as exc:
            error = exc.message
        else:
            flash("Feedback sent to the school", "success")
            return redirect(url_for("feedback.shared", share_id=share_id))
    elif form is not None and not form.dpo_name.data:
        form.dpo_name.data = f"{current_actor().name}, {found.curator.name}"
        form.advised_on.process_data(utcnow().date())  # shown in its input, not only held
    shown = feedback.shared_material(db.session, found)
    failed = bool(error) or bool(form is not None and form.errors)
    return render_template(
        "curator/feedback_view.html",
        share=found,
        sheet=shown.sheet,
        progress=shown.progress,
        gaps=shown.gaps,
        dpia=shown.dpia,
        form=form,
        today=utcnow().date(),
        error=error,
        typed=request.form.get("body", "") if error else "",
    ), (422 if failed else 200)
