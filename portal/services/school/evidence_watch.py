"""A school's evidence and when it runs out (issue 26): for each supplier in
its register, the evidence of the latest answered assessment (its own
request, or one its trust made on its behalf), each piece expired, expiring
within 60 days, current, or undated.

Reads ``tracked_evidence`` (worked out when answers are submitted:
services/requests/evidence_life.py), so a page costs the rows it shows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, case, func, or_, select
from sqlalchemy.orm import Session, joinedload

from ...models import (
    ANSWERED_STATUSES,
    Organisation,
    Request,
    RequestOnBehalf,
    TrackedEvidence,
)
from ...questionnaire.expiry import EXPIRING_DAYS, KINDS, STATUS_LABELS, Status, status_of
from ..platform.paging import Page, page_of
from ..platform.questionnaire_registry import definition_for_request

SHOWN = ("expired", "expiring", "current", "unknown")


@dataclass(frozen=True)
class EvidenceLine:
    request: Request
    supplier: str
    question_id: str
    what: str  # the question's label
    kind: str  # "Certificate"
    expires_on: date | None
    status: Status
    accepted_reason: str | None

    @property
    def status_label(self) -> str:
        if self.status == "unknown" and self.accepted_reason:
            return "Accepted without a date"
        return STATUS_LABELS[self.status]


def latest_answered(organisation: Organisation, *, on_behalf: bool = True) -> Subquery:
    """Per supplier, the newest answered request the school reads: its own,
    or its trust's made on its behalf (``on_behalf=False``: its own alone,
    as the API lists them)."""
    read: ColumnElement[bool] = Request.organisation_id == organisation.id
    if on_behalf:
        read = or_(
            read,
            Request.id.in_(
                select(RequestOnBehalf.request_id).where(
                    RequestOnBehalf.organisation_id == organisation.id
                )
            ),
        )
    ranked = (
        select(
            Request.id.label("request_id"),
            func.row_number()
            .over(
                partition_by=Request.supplier_id,
                order_by=(Request.submitted_at.desc(), Request.id.desc()),
            )
            .label("newest"),
        )
        .where(
            read,
            Request.status.in_([str(s) for s in ANSWERED_STATUSES]),
        )
        .subquery("ranked")
    )
    return select(ranked.c.request_id).where(ranked.c.newest == 1).subquery("latest")


def _status_is(show: str, today: date) -> ColumnElement[bool]:
    expires = TrackedEvidence.expires_on
    soon = today + timedelta(days=EXPIRING_DAYS)
    match show:
        case "expired":
            return expires <= today
        case "expiring":
            return (expires > today) & (expires <= soon)
        case "current":
            return expires > soon
        case _:
            return expires.is_(None)


def _watched(organisation: Organisation) -> Select[Any]:
    latest = latest_answered(organisation)
    return select(TrackedEvidence).join(latest, latest.c.request_id == TrackedEvidence.request_id)


def lines_page(
    session: Session,
    organisation: Organisation,
    today: date,
    show: str | None = None,
    number: int = 1,
) -> Page[EvidenceLine]:
    """The evidence to watch, first to run out first (undated last)."""
    query = _watched(organisation)
    if show in SHOWN:
        query = query.where(_status_is(show, today))
    query = query.order_by(
        TrackedEvidence.expires_on.is_(None),
        TrackedEvidence.expires_on,
        TrackedEvidence.id,
    ).options(
        joinedload(TrackedEvidence.request).joinedload(Request.supplier),
        joinedload(TrackedEvidence.request).joinedload(Request.questionnaire_version),
        joinedload(TrackedEvidence.request).joinedload(Request.organisation),
    )
    found = page_of(session, query, number)
    return Page([_line(row, today) for row in found.items], found.total, found.number, found.size)


def _line(row: TrackedEvidence, today: date) -> EvidenceLine:
    request = row.request
    questionnaire = definition_for_request(request)
    try:
        what = questionnaire.question(row.question_id).label
    except KeyError:  # not in the version any more: its id says what it was
        what = row.question_id
    return EvidenceLine(
        request=request,
        supplier=request.supplier.name,
        question_id=row.question_id,
        what=what,
        kind=KINDS.get(row.kind, row.kind),
        expires_on=row.expires_on,
        status=status_of(row.expires_on, today),
        accepted_reason=row.accepted_reason,
    )


def counts(session: Session, organisation: Organisation, today: date) -> dict[str, int]:
    """How many pieces of evidence stand each way today, in one statement."""
    latest = latest_answered(organisation)
    columns = [
        func.coalesce(func.sum(case((_status_is(show, today), 1), else_=0)), 0).label(show)
        for show in SHOWN
    ]
    row = session.execute(
        select(*columns)
        .select_from(TrackedEvidence)
        .join(latest, latest.c.request_id == TrackedEvidence.request_id)
    ).one()
    return {show: int(getattr(row, show)) for show in SHOWN}


def next_expiries(session: Session, request_ids: Collection[int]) -> dict[int, date]:
    """Each request's first evidence expiry (for the register's lines)."""
    if not request_ids:
        return {}
    rows = session.execute(
        select(TrackedEvidence.request_id, func.min(TrackedEvidence.expires_on))
        .where(TrackedEvidence.request_id.in_(sorted(request_ids)))
        .group_by(TrackedEvidence.request_id)
    )
    return {request_id: first for request_id, first in rows if first is not None}
