"""Trust API: a trust's schools, and every request of the trust and its
schools in one list (``school=<id>``: one school's only). Each school's own
data is read through the staff endpoints with ``school=<id>``
(permissions.api_caller)."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from ...extensions import db
from ...models import RequestStatus, utcnow
from ...permissions import Action, api_caller, school_of_trust, schools_of_trust
from ...services.requests import lifecycle as requests
from . import bp
from . import schemas as s
from .common import make_cursor, page_args, reply, service_problem

RATINGS = ("green", "amber", "red")


@bp.get("/trust/schools")
def trust_schools() -> ResponseReturnValue:
    caller = api_caller(Action.VIEW_REQUESTS, in_school=False)
    schools = schools_of_trust(caller.organisation)  # 404 for anyone but a trust
    return reply(s.SchoolList(items=[s.School.model_validate(school) for school in schools]))


@bp.get("/trust/requests")
def trust_requests() -> ResponseReturnValue:
    """The trust's requests and its schools', newest first, as the page lists them."""
    caller = api_caller(Action.VIEW_REQUESTS, in_school=False)
    trust = caller.organisation
    schools = schools_of_trust(trust)
    before_id, limit = page_args()
    status = request.args.get("status") or None
    if status is not None and status not in set(RequestStatus):
        service_problem(f"status must be one of: {', '.join(RequestStatus)}", "status", 400)
    rating = request.args.get("rating") or None
    if rating is not None and rating not in RATINGS:
        service_problem(f"rating must be one of: {', '.join(RATINGS)}", "rating", 400)
    overdue = request.args.get("overdue") or None
    if overdue not in (None, "true", "false"):
        service_problem("overdue must be true or false", "overdue", 400)
    school = request.args.get("school")
    if school is not None:
        if not school.isdecimal():
            service_problem("school must be the id of one of the trust's schools", "school", 400)
        ids = [school_of_trust(int(school), trust).id]  # 404: not one of ours
    else:
        ids = [trust.id, *(school.id for school in schools)]
    criteria = requests.RequestFilter(
        status=status,
        supplier=request.args.get("supplier") or None,
        questionnaire=request.args.get("questionnaire") or None,
        rating=rating,
        overdue_on=utcnow().date() if overdue == "true" else None,
    )
    rows = requests.page_of_requests(db.session, ids, criteria, before_id=before_id, limit=limit)
    return reply(
        s.TrustRequestPage(
            items=[
                s.TrustRequest.of(
                    row,
                    in_school=row.organisation_id if row.organisation_id != trust.id else None,
                    organisation=s.School.model_validate(row.organisation),
                )
                for row in rows
            ],
            next_cursor=make_cursor(rows[-1].id) if len(rows) == limit else None,
            total=requests.count_requests(db.session, ids, criteria),
        )
    )
