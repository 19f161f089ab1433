"""Organisation API keys for scripts and integrations."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Organisation, User
from .base import Base, created_at, enum_check, intpk, str_name


class ApiScope(enum.StrEnum):
    READ = "read"
    WRITE = "write"


class ApiKey(Base):
    """Only the key's hash is kept; the key itself is shown once when made.

    Each key acts through a service user of its own (``user``), with a
    membership whose role matches the scope, so every use case and every
    audit event names the key as the actor.
    """

    __tablename__ = "api_key"
    __table_args__ = (enum_check("scope", ApiScope),)

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    name: Mapped[str_name]
    scope: Mapped[str] = mapped_column(String(10))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="SHA-256 hex")
    prefix: Mapped[str] = mapped_column(String(16), comment="the key's start, to recognise it")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
