"""The organisation's evidence that has run out or runs out soon, for the
API (issue 26): a program walks it to the end, oldest expiry first, so it
pages by a keyset of (expiry, id) rather than by page number.

The same evidence the school's Evidence page watches (evidence_watch.py):
each supplier's latest answered assessment, an older one being superseded.
Only the organisation's own requests, as every API list is: a trust's
requests on a school's behalf are the trust's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, joinedload

from ...models import Organisation, Request, TrackedEvidence
from ...questionnaire.expiry import KINDS, STATUS_LABELS, Status, status_of
from ..platform.paging import count
from ..platform.questionnaire_registry import definition_for_request
from .evidence_watch import latest_answered

MOST_DAYS = 365  # a year ahead: beyond it nothing is "running out"


@dataclass(frozen=True)
class ExpiringLine:
    id: int  # the tracked evidence's: the keyset's tie-breaker
    reference: str
    supplier: str
    question_id: str
    question: str  # its label
    kind: str  # a key of expiry.KINDS
    expires_on: date
    status: Status

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def _expiring(organisation: Organisation, today: date, within: int) -> Select[Any]:
    latest = latest_answered(organisation, on_behalf=False)
    return (
        select(TrackedEvidence)
        .join(latest, latest.c.request_id == TrackedEvidence.request_id)
        .where(TrackedEvidence.expires_on <= today + timedelta(days=within))
    )


def expiring_page(
    session: Session,
    organisation: Organisation,
    today: date,
    within: int,
    *,
    after: tuple[date, int] | None,
    limit: int,
) -> list[ExpiringLine]:
    """Evidence expired, or expiring within ``within`` days of ``today``,
    oldest expiry first; ``after`` is the (expiry, id) the last page ended on.
    One statement for the page (the requests and suppliers joined in)."""
    query = _expiring(organisation, today, within)
    if after is not None:
        day, last_id = after
        query = query.where(
            or_(
                TrackedEvidence.expires_on > day,
                and_(TrackedEvidence.expires_on == day, TrackedEvidence.id > last_id),
            )
        )
    rows = session.scalars(
        query.order_by(TrackedEvidence.expires_on, TrackedEvidence.id)
        .limit(limit)
        .options(
            joinedload(TrackedEvidence.request).joinedload(Request.supplier),
            joinedload(TrackedEvidence.request).joinedload(Request.questionnaire_version),
            joinedload(TrackedEvidence.request).joinedload(Request.organisation),
        )
    )
    return [_line(row, today) for row in rows]


def count_expiring(session: Session, organisation: Organisation, today: date, within: int) -> int:
    """How many pieces of evidence the whole listing holds."""
    return count(session, _expiring(organisation, today, within))


def _line(row: TrackedEvidence, today: date) -> ExpiringLine:
    request = row.request
    try:
        label = definition_for_request(request).question(row.question_id).label
    except KeyError:  # no longer in the questionnaire: its id says what it was
        label = row.question_id
    return ExpiringLine(
        id=row.id,
        reference=request.reference,
        supplier=request.supplier.name,
        question_id=row.question_id,
        question=label,
        kind=row.kind,
        # Dated: a NULL expiry never passes the query's "on or before".
        expires_on=cast(date, row.expires_on),
        status=status_of(row.expires_on, today),
    )
