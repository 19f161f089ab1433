"""Retention: closed requests and their files go after RETENTION_YEARS.

Closed means decided (accepted, with conditions, rejected), revoked, or never
answered before its link ran out. The clock starts when it closed. A request
waiting for a decision is never purged, however old. What remains of a purged
request is one audit event of the purge, under its organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session, joinedload

from ...models import DECIDED_STATUSES, OPEN_STATUSES, Evidence, Request, RequestStatus, utcnow
from ..platform.audit import record_event
from ..platform.runtime import runtime


@dataclass(frozen=True)
class Purgeable:
    request: Request
    closed_on: date
    files: int


def _closed_at() -> ColumnElement[datetime]:
    # When the request closed: the decision, the revocation, or the link's end.
    return func.coalesce(Request.decided_at, Request.revoked_at, Request.token_expires_at)


def purgeable(session: Session, years: int, today: date | None = None) -> list[Purgeable]:
    """Closed requests whose retention has run out, oldest first."""
    today = today or utcnow().date()
    cutoff = datetime.combine(_years_before(today, years), time.min, tzinfo=UTC)
    closed = or_(
        Request.status.in_([str(s) for s in DECIDED_STATUSES]),
        Request.status.in_([RequestStatus.REVOKED, RequestStatus.EXPIRED]),
        Request.status.in_([str(s) for s in OPEN_STATUSES]) & (Request.token_expires_at < cutoff),
    )
    closed_at = _closed_at()
    rows = session.execute(
        select(Request, closed_at, func.count(Evidence.id))
        .outerjoin(Evidence, Evidence.request_id == Request.id)
        .where(closed, closed_at < cutoff)
        .group_by(Request.id)
        .order_by(closed_at, Request.id)
        .options(joinedload(Request.organisation), joinedload(Request.supplier))
    ).unique()
    return [Purgeable(row, when.date(), files) for row, when, files in rows]


def purge(session: Session, found: list[Purgeable], years: int) -> list[str]:
    """Delete the requests (answers, files, reviews and history with them) and
    record each purge. Returns the storage keys of their files: remove them with
    :func:`remove_files` once the deletion is committed, never before."""
    ids = [item.request.id for item in found]
    keys = list(session.scalars(select(Evidence.storage_key).where(Evidence.request_id.in_(ids))))
    for item in found:
        record_event(
            session,
            "request_purged",
            organisation=item.request.organisation,
            actor_label="Retention",
            reference=item.request.reference,
            supplier=item.request.supplier.name,
            status=item.request.status,
            closed_on=item.closed_on.isoformat(),
            files=item.files,
            years=years,
        )
    # The database's ON DELETE CASCADE takes answers, evidence rows,
    # clarifications, reviews, emails and the request's own events.
    session.execute(delete(Request).where(Request.id.in_(ids)))
    session.flush()
    return keys


def remove_files(session: Session, keys: list[str]) -> None:
    store = runtime(session).storage
    for key in keys:
        store.delete(key)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
