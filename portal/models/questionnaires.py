"""Every questionnaire version the portal has seen, frozen as sent."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import User
from .base import Base, created_at, enum_check, intpk


class VersionOrigin(enum.StrEnum):
    FILE = "file"  # a definition file in questionnaires/, stored when first used
    WORKBOOK = "workbook"  # published by a curator from a workbook (issue 24)


class QuestionnaireVersion(Base):
    __tablename__ = "questionnaire_version"
    __table_args__ = (
        UniqueConstraint("key", "version", name="uq_questionnaire_version_key_version"),
        enum_check("origin", VersionOrigin),
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
    origin: Mapped[str] = mapped_column(
        String(20), default=VersionOrigin.FILE, server_default=VersionOrigin.FILE.value
    )
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    published_at: Mapped[datetime | None]


class RetiredQuestionnaire(Base):
    """A questionnaire no new request may use; requests already sent keep
    their version. Restoring it deletes the row."""

    __tablename__ = "retired_questionnaire"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    retired_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    retired_at: Mapped[created_at]


class QuestionnaireUpload(Base):
    """A workbook a curator uploaded, kept whether or not it is sound: its
    problems to fix, or the questionnaire to check and publish."""

    __tablename__ = "questionnaire_upload"

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    uploaded_at: Mapped[created_at]
    filename: Mapped[str] = mapped_column(String(200))
    # Deferred: the list of uploads never reads the files themselves.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    problems: Mapped[list[str] | None] = mapped_column(
        JSON, comment="one line per problem, by sheet, row and column; null when sound"
    )
    key: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int | None]
    title: Mapped[str | None] = mapped_column(String(200))
    published_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("questionnaire_version.id", ondelete="SET NULL")
    )


class QuestionnaireSupplement(Base):
    """An organisation's own extra questions, asked after a questionnaire's
    own sections in every request it sends of that questionnaire (issue 24).

    Each change is a new version; a request keeps the version it was sent
    with. The newest version is the one in use, and one with no questions
    means the organisation asks none. The questions stay with the
    organisation (and, for a trust, the schools it asks on behalf of): the
    directory and the curator see the questionnaire alone.
    """

    __tablename__ = "questionnaire_supplement"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id", "questionnaire_key", "version", name="uq_questionnaire_supplement"
        ),
    )

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    questionnaire_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    questions: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, comment="the questions as a definition's section lists them, choices inline"
    )
    sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]

    created_by: Mapped[User | None] = relationship()
