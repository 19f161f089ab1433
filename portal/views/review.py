"""Reviewing a submitted request: overrides, the decision, the screening's follow-up,
and several suppliers side by side."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..extensions import db
from ..identity.staff_sessions import current_actor, current_organisation
from ..input_hygiene import safe_ids
from ..models import Request, RequestStatus
from ..permissions import Action, get_for_org, requires
from ..questionnaire.forms import SelectChoice
from ..services.errors import ServiceError
from ..services.requirements import ratings
from ..services.review import decisions as review
from ..services.review import side_by_side
from ..services.review.decisions import Decision
from .forms import DecisionForm, FollowUpForm, ReviewFindingForm
from .school import show_new_request

bp = Blueprint("review", __name__)


def _redirect_to_request(
    row: Request, anchor: str = "", judged: str | None = None
) -> ResponseReturnValue:
    # ``judged`` unfolds the group the finding now sits in, so the reviewer
    # lands on what they just judged even when it is now among the met ones.
    return redirect(
        url_for("school.view_request", request_id=row.id, judged=judged, _anchor=anchor or None)
    )


@bp.route("/requests/<int:request_id>/findings/<question_id>", methods=["GET", "POST"])
@requires(Action.REVIEW_REQUESTS)
def review_finding(request_id: int, question_id: str) -> ResponseReturnValue:
    row = get_for_org(Request, request_id, current_organisation())
    comparison = ratings.comparison_for(db.session, row)
    finding = comparison.finding(question_id)
    if finding is None:
        abort(404)
    form = ReviewFindingForm(
        data={"outcome": finding.review.outcome.value, "reason": finding.review.reason}
        if finding.review and request.method == "GET"
        else None
    )
    if request.method == "POST" and request.form.get("action") == "remove":
        try:
            review.remove_review(db.session, row, current_actor(), question_id)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(f"The finding for “{finding.question.label}” is computed again", "success")
        return _redirect_to_request(row, f"finding-{question_id}", judged=question_id)
    if form.validate_on_submit():
        try:
            review.set_review(
                db.session,
                row,
                current_actor(),
                question_id,
                form.outcome.data or "",
                form.reason.data or "",
            )
        except ServiceError as exc:
            form[exc.field or "reason"].errors = [exc.message]
        else:
            flash(f"Your judgement of “{finding.question.label}” is recorded", "success")
            return _redirect_to_request(row, f"finding-{question_id}", judged=question_id)
    return render_template("review/finding.html", row=row, finding=finding, form=form)


@bp.route("/requests/<int:request_id>/decision", methods=["GET", "POST"])
@requires(Action.REVIEW_REQUESTS)
def decide(request_id: int) -> ResponseReturnValue:
    row = get_for_org(Request, request_id, current_organisation())
    form = DecisionForm()
    if request.method == "GET":
        form.next_review.process_data(row.next_review_date or review.default_review_date())
        if row.status in review.DECISIONS:
            form.outcome.data = row.status
            form.reason.data = row.decision_reason
            form.conditions.data = "\n".join(row.decision_conditions or [])
    if form.validate_on_submit():
        try:
            review.decide(
                db.session,
                row,
                current_actor(),
                Decision(
                    outcome=form.outcome.data or "",
                    reason=form.reason.data or "",
                    conditions=(form.conditions.data or "").splitlines(),
                    next_review=form.next_review.data,
                ),
            )
        except ServiceError as exc:
            form[exc.field or "outcome"].errors = [exc.message]
        else:
            flash(f"Decision recorded: {review.DECISIONS[RequestStatus(row.status)]}", "success")
            return _redirect_to_request(row)
    return render_template(
        "review/decision.html",
        row=row,
        form=form,
        comparison=ratings.comparison_for(db.session, row),
    )


@bp.post("/requests/<int:request_id>/reopen")
@requires(Action.REVIEW_REQUESTS)
def reopen(request_id: int) -> ResponseReturnValue:
    row = get_for_org(Request, request_id, current_organisation())
    try:
        review.reopen(db.session, row, current_actor())
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(
            "The decision is withdrawn: the request is judged against your current requirements again",
            "success",
        )
    return _redirect_to_request(row)


@bp.route("/requests/<int:request_id>/follow-up", methods=["GET", "POST"])
@requires(Action.REVIEW_REQUESTS)
def follow_up(request_id: int) -> ResponseReturnValue:
    row = get_for_org(Request, request_id, current_organisation())
    comparison = ratings.comparison_for(db.session, row)
    if comparison.triage is None:
        abort(404)
    form = FollowUpForm()
    options = review.follow_up_choices(db.session, row)
    form.questionnaire.choices = [SelectChoice(key, title) for key, title in options]
    if request.method == "GET" and options:
        form.questionnaire.data = options[0][0]
    if form.validate_on_submit():
        try:
            issued = review.create_follow_up(
                db.session, row, current_actor(), form.questionnaire.data or "", form.due_date.data
            )
        except ServiceError as exc:
            form[exc.field or "questionnaire"].errors = [exc.message]
        else:
            return show_new_request(issued)
    return render_template("review/follow_up.html", row=row, form=form, triage=comparison.triage)


@bp.get("/compare")
@requires(Action.VIEW_REQUESTS)
def compare_suppliers() -> ResponseReturnValue:
    """Choose requests for one questionnaire and see their findings side by side."""
    organisation = current_organisation()
    key = request.args.get("questionnaire", "")
    chosen_ids = safe_ids(request.args.getlist("request", type=int))
    supplier = request.args.get("supplier", "").strip()[:200]
    options = side_by_side.comparable_requests(db.session, organisation, supplier, chosen_ids)
    error = None
    matrix = None
    if chosen_ids:
        chosen = [get_for_org(Request, request_id, organisation) for request_id in chosen_ids]
        try:
            matrix = side_by_side.build_matrix(
                db.session,
                chosen,
                differences_only=request.args.get("differences") == "1",
            )
        except ServiceError as exc:
            error = exc.message
    return render_template(
        "review/compare.html",
        options=options,
        key=key or (matrix.key if matrix else ""),
        chosen_ids=chosen_ids,
        matrix=matrix,
        error=error,
        differences_only=request.args.get("differences") == "1",
        supplier=supplier,
        shown=side_by_side.CHOICES_SHOWN,
    )
