"""A trust's central team across its schools: every school's requests in
one list, and the way into each (read only: identity/staff_sessions.trust_views)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..extensions import db
from ..identity.staff_sessions import current_organisation, switch_organisation
from ..input_hygiene import valid_id
from ..models import OPEN_STATUSES, Organisation, RequestStatus, utcnow
from ..permissions import Action, requires, schools_of_trust, trust_request
from ..services.platform import questionnaire_registry as questionnaires
from ..services.platform.paging import page_number
from ..services.requests import lifecycle as requests

bp = Blueprint("trust", __name__)

RATINGS = ("green", "amber", "red")


def trust_filter(schools: list[Organisation]) -> tuple[requests.RequestFilter, int | None]:
    """The list's filters from its address; a value no list offers (edited by
    hand) filters nothing rather than failing. Also the chosen school's id."""
    status = request.args.get("status", "")
    rating = request.args.get("rating", "")
    raw_school = request.args.get("school", "")
    school_id = valid_id(int(raw_school)) if raw_school.isdecimal() else None
    if school_id not in {s.id for s in schools}:
        school_id = None
    criteria = requests.RequestFilter(
        status=status if status in RequestStatus.__members__.values() else None,
        supplier=request.args.get("supplier", "").strip()[:200] or None,
        questionnaire=request.args.get("questionnaire", "").strip()[:64] or None,
        rating=rating if rating in RATINGS else None,
        overdue_on=utcnow().date() if request.args.get("overdue") == "yes" else None,
    )
    return criteria, school_id


@bp.get("/trust/requests")
@requires(Action.VIEW_REQUESTS)
def all_requests() -> ResponseReturnValue:
    """Every request of the trust and its schools, newest first (404 for
    anyone but a trust)."""
    trust = current_organisation()
    schools = schools_of_trust(trust)
    criteria, school_id = trust_filter(schools)
    ids = [school_id] if school_id else [trust.id, *(s.id for s in schools)]
    return render_template(
        "trust/requests.html",
        trust=trust,
        schools=schools,
        school_id=school_id,
        criteria=criteria,
        page=requests.requests_page(
            db.session, ids, criteria, page_number(request.args.get("page"))
        ),
        questionnaires=questionnaires.for_suppliers(db.session),
        ratings=RATINGS,
        open_statuses=OPEN_STATUSES,
        today=utcnow().date(),
    )


@bp.get("/trust/requests/<int:request_id>")
@requires(Action.VIEW_REQUESTS)
def open_request(request_id: int) -> ResponseReturnValue:
    """Into a school's request from the trust's list: acts for that school
    (read only, unless its admin gave this person a role there) and opens it.
    A GET that switches organisation: only to one this person may already
    switch to, so a forged link does no more than their own click would."""
    trust = current_organisation()
    row = trust_request(request_id, trust)
    if row.organisation_id != trust.id and not switch_organisation(row.organisation_id):
        abort(404)  # the school's own rules shut this session out (single sign-on)
    return redirect(url_for("school.view_request", request_id=row.id))
