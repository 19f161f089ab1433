"""Outgoing email."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, intpk, str_email


class OutgoingEmail(Base):
    """Every email the portal sends, kept as the outbox and the record of it."""

    __tablename__ = "outgoing_email"
    # The outbox the workers poll: only the unsent few, however many were sent.
    __table_args__ = (
        Index(
            "ix_outgoing_email_unsent",
            "id",
            sqlite_where=text("sent_at IS NULL"),
            postgresql_where=text("sent_at IS NULL"),
        ),
    )

    id: Mapped[intpk]
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )
    to_address: Mapped[str_email]
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)  # the last failure, kept for retry
    # A sender's lease (services/platform/mail.claim): until then no other
    # worker or request sends it; a sender that died lets it lapse.
    claimed_until: Mapped[datetime | None]
    # After a failed try, the worker waits until then (longer after each try).
    retry_at: Mapped[datetime | None]
