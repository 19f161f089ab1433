"""A school's own requirements, and a reviewer's judgement of one request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import User
from .base import Base, created_at, intpk


class RequirementRule(Base):
    """One question's rule in an organisation's requirement profile.

    A profile is kept by questionnaire key, not version, so it carries over
    when a questionnaire is revised; a rule that no longer fits a version's
    question is ignored for that version (compare.effective_requirements).
    """

    __tablename__ = "requirement_rule"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id",
            "questionnaire_key",
            "question_id",
            name="uq_requirement_rule_question",
        ),
    )

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    questionnaire_key: Mapped[str] = mapped_column(String(64))
    question_id: Mapped[str] = mapped_column(String(64))
    operator: Mapped[str] = mapped_column(String(30))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    severity: Mapped[str] = mapped_column(String(10))
    off: Mapped[bool] = mapped_column(default=False, server_default=false())
    note: Mapped[str] = mapped_column(Text, comment="why this school's rule differs")
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    updated_at: Mapped[created_at]

    updated_by: Mapped[User | None] = relationship()


class FindingReview(Base):
    """A reviewer's outcome for one finding in place of the computed one."""

    __tablename__ = "finding_review"
    __table_args__ = (
        UniqueConstraint("request_id", "question_id", name="uq_finding_review_question"),
    )

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime | None]

    author: Mapped[User | None] = relationship()
