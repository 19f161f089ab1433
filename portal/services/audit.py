"""The audit trail: every state change of a request writes an event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEvent, Organisation, Request, User

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
