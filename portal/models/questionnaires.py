"""Every questionnaire version the portal has seen, frozen as sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, intpk


class QuestionnaireVersion(Base):
    __tablename__ = "questionnaire_version"
    __table_args__ = (
        UniqueConstraint("key", "version", name="uq_questionnaire_version_key_version"),
    )

    id: Mapped[intpk]
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    # Deferred: every page of a request loads its version, but the parsed
    # definition is cached by sha256, so the (large) snapshot is read only once.
    snapshot: Mapped[dict[str, Any]] = mapped_column(
        JSON, comment="canonical definition", deferred=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created_at]
