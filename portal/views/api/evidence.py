"""Staff API: the organisation's evidence that has run out or runs out soon (issue 26)."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from ...extensions import db
from ...models import utcnow
from ...permissions import Action, api_caller
from ...questionnaire.expiry import EXPIRING_DAYS
from ...services.school import expiring_evidence
from . import bp
from . import schemas as s
from .common import dated_page_args, make_dated_cursor, raise_problem, reply

MOST_DAYS = expiring_evidence.MOST_DAYS


def _within() -> int:
    raw = request.args.get("within", str(EXPIRING_DAYS)).strip()
    if not raw.isdecimal() or int(raw) > MOST_DAYS:
        message = f"within must be a whole number of days from 0 to {MOST_DAYS}"
        raise_problem(
            422,
            message,
            kind="validation",
            errors={"within": [f"Enter a whole number of days from 0 to {MOST_DAYS}"]},
        )
    return int(raw)


@bp.get("/evidence/expiring")
def expiring_evidence_list() -> ResponseReturnValue:
    """Evidence that has run out or runs out within ``within`` days, oldest expiry first."""
    caller = api_caller(Action.VIEW_REQUESTS)
    within = _within()
    after, limit = dated_page_args()
    today = utcnow().date()
    lines = expiring_evidence.expiring_page(
        db.session, caller.organisation, today, within, after=after, limit=limit
    )
    last = lines[-1] if len(lines) == limit else None
    return reply(
        s.ExpiringEvidencePage(
            items=[s.ExpiringEvidence.of(line) for line in lines],
            next_cursor=make_dated_cursor(last.expires_on, last.id) if last else None,
            total=expiring_evidence.count_expiring(db.session, caller.organisation, today, within),
            within=within,
        )
    )
