"""The audit trail: every state change of a request writes an event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from ...models import AuditEvent, Organisation, Request, User
from .matching import contains_pattern
from .paging import count

SUPPLIER_ACTOR = "Supplier"


def record_event(
    session: Session,
    action: str,
    *,
    organisation: Organisation | None,
    actor: User | None = None,
    actor_label: str | None = None,
    request: Request | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event. ``detail`` must never hold a token or a password."""
    event = AuditEvent(
        organisation_id=organisation.id if organisation else None,
        request_id=request.id if request else None,
        actor_id=actor.id if actor else None,
        actor_label=actor_label or (actor.name if actor else "System"),
        action=action,
        detail=detail,
    )
    session.add(event)
    session.flush()
    return event


def request_history(session: Session, request: Request) -> list[AuditEvent]:
    """A request's events, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.request_id == request.id)
            .order_by(AuditEvent.created_at, AuditEvent.id)
        )
    )


def organisation_history(
    session: Session, organisation: Organisation, actions: set[str], limit: int = 100
) -> list[AuditEvent]:
    """An organisation's events of some kinds (not about one request), newest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.organisation_id == organisation.id,
                AuditEvent.action.in_(actions),
            )
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    who: str = ""  # part of the actor's name, any case
    since: date | None = None
    until: date | None = None  # inclusive


def search_events(
    session: Session,
    organisation: Organisation,
    criteria: AuditFilter,
    *,
    before_id: int | None = None,
    limit: int | None = 100,
) -> list[AuditEvent]:
    """The organisation's events matching the filter, newest first (by id, so
    paging by ``before_id`` never skips or repeats one)."""
    query = _matching(organisation, criteria).options(
        joinedload(AuditEvent.request).load_only(Request.reference)
    )
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query.order_by(AuditEvent.id.desc())))


def count_events(session: Session, organisation: Organisation, criteria: AuditFilter) -> int:
    """How many of the organisation's events match the filter (every page shows it)."""
    return count(session, _matching(organisation, criteria))


def _matching(organisation: Organisation, criteria: AuditFilter) -> Select[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.organisation_id == organisation.id)
    if criteria.action:
        query = query.where(AuditEvent.action == criteria.action)
    if criteria.who:
        query = query.where(
            func.lower(AuditEvent.actor_label).like(contains_pattern(criteria.who), escape="\\")
        )
    if criteria.since:
        query = query.where(AuditEvent.created_at >= _start_of(criteria.since))
    if criteria.until:
        query = query.where(AuditEvent.created_at < _start_of(criteria.until + timedelta(days=1)))
    return query


def actions_in(session: Session, organisation: Organisation) -> list[str]:
    """The kinds of event this organisation's trail holds, for the filter."""
    return sorted(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.organisation_id == organisation.id)
            .distinct()
        )
    )


def event_details(event: AuditEvent) -> str:
    """The event's detail as "key: value" pairs, for the page and the workbook."""
    return "; ".join(
        f"{key.replace('_', ' ')}: {_plain(value)}" for key, value in (event.detail or {}).items()
    )


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
