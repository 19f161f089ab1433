"""The audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, created_at, intpk

if TYPE_CHECKING:
    from .requests import Request


class AuditEvent(Base):
    """Who did what, when. Never holds a token or a password."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # The trail, newest first a page at a time, and filtered by kind.
        Index("ix_audit_event_organisation_id_id", "organisation_id", "id"),
        Index("ix_audit_event_organisation_action", "organisation_id", "action", "id"),
    )

    id: Mapped[intpk]
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(200), comment="name at the time, or 'supplier'")
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[created_at]

    request: Mapped[Request | None] = relationship()
