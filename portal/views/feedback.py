"""Feedback from the curator (the DPO service): a school shares a request or
its standards tracker, the curator comments, the school withdraws."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..extensions import db
from ..identity.staff_sessions import current_actor, current_organisation
from ..models import Request, utcnow
from ..permissions import Action, get_for_org, requires, shared_for_feedback
from ..services.errors import ServiceError
from ..services.platform.paging import page_number
from ..services.school import feedback

bp = Blueprint("feedback", __name__)


def _share(target: Request | None, back: str) -> ResponseReturnValue:
    try:
        feedback.share(
            db.session, current_organisation(), current_actor(), target,
            request.form.get("message", ""),
        )  # fmt: skip
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash("Shared with the DPO service for feedback", "success")
    return redirect(back)


def _withdraw(target: Request | None, back: str) -> ResponseReturnValue:
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


@bp.get("/curator/feedback")
@requires(Action.CURATE)
def shares() -> ResponseReturnValue:
    return render_template(
        "curator/feedback_list.html",
        page=feedback.open_shares(
            db.session, current_organisation(), page_number(request.args.get("page"))
        ),
    )


@bp.route("/curator/feedback/<int:share_id>", methods=["GET", "POST"])
@requires(Action.CURATE)
def shared(share_id: int) -> ResponseReturnValue:
    found = shared_for_feedback(share_id, current_organisation())
    error = None
    if request.method == "POST":
        try:
            feedback.comment(db.session, current_actor(), found, request.form.get("body", ""))
        except ServiceError as exc:
            error = exc.message
        else:
            flash("Feedback sent to the school", "success")
            return redirect(url_for("feedback.shared", share_id=share_id))
    shown = feedback.shared_material(db.session, found)
    return render_template(
        "curator/feedback_view.html",
        share=found,
        sheet=shown.sheet,
        progress=shown.progress,
        gaps=shown.gaps,
        today=utcnow().date(),
        error=error,
        typed=request.form.get("body", "") if error else "",
    ), (422 if error else 200)
