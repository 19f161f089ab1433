"""The school's own side: its standards self-assessment, the plan for each
standard, and who does what (RACI)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Organisation, User
from .base import Base, created_at, enum_check, intpk
from .dpia import Dpia
from .questionnaires import QuestionnaireVersion
from .requests import Request
from .suppliers import Supplier


class Assessment(Base):
    """A questionnaire the organisation's own staff answer, signed in (not by a
    supplier link): the DfE standards self-assessment."""

    __tablename__ = "assessment"
    __table_args__ = (UniqueConstraint("organisation_id", "kind"),)

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30), comment="standards")
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime | None] = mapped_column(comment="when an answer last changed")

    questionnaire_version: Mapped[QuestionnaireVersion] = relationship()


class AssessmentAnswer(Base):
    __tablename__ = "assessment_answer"
    __table_args__ = (UniqueConstraint("assessment_id", "question_id"),)

    id: Mapped[intpk]
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text, comment="the school's own notes on the item")
    updated_at: Mapped[created_at]
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class AssessmentFile(Base):
    """Evidence a school keeps beside one item of its self-assessment."""

    __tablename__ = "assessment_file"

    id: Mapped[intpk]
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[created_at]
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class StandardPlan(Base):
    """When the school means to meet a standard, and when it looks at it again."""

    __tablename__ = "standard_plan"
    __table_args__ = (UniqueConstraint("organisation_id", "standard"),)

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    standard: Mapped[str] = mapped_column(String(200), comment="as the questionnaire names it")
    target_date: Mapped[date | None]
    next_review_date: Mapped[date | None]
    updated_at: Mapped[created_at]


class RaciLetter(enum.StrEnum):
    RESPONSIBLE = "R"
    ACCOUNTABLE = "A"
    CONSULTED = "C"
    INFORMED = "I"


class RaciEntry(Base):
    """One letter of one task's RACI as the school set it. A task with no rows
    keeps the questionnaire's suggestion; once edited, its rows are the whole
    chart for that task (there is always one A)."""

    __tablename__ = "raci_entry"
    __table_args__ = (
        enum_check("letter", RaciLetter),
        UniqueConstraint("organisation_id", "question_id", "letter", "party"),
    )

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(64), comment="the task")
    letter: Mapped[str] = mapped_column(String(1))
    party: Mapped[str] = mapped_column(
        String(120), comment="a role (its name), or user:<id> for a named person"
    )


class SupplierUse(Base):
    """A supplier in a school's register: what the school buys from it, its
    contract, the data it holds and when the school reviews it next."""

    __tablename__ = "supplier_use"
    __table_args__ = (UniqueConstraint("organisation_id", "supplier_id"),)

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"))
    category: Mapped[str | None] = mapped_column(String(40), comment="directory CATEGORIES key")
    contract_start: Mapped[date | None]
    contract_end: Mapped[date | None]
    data_held: Mapped[str | None] = mapped_column(Text, comment="what personal data it holds")
    notes: Mapped[str | None] = mapped_column(Text)
    next_review_date: Mapped[date | None] = mapped_column(
        comment="the school's own date; else the latest decision's"
    )
    last_reviewed_on: Mapped[date | None]
    created_at: Mapped[created_at]

    supplier: Mapped[Supplier] = relationship()


class ReminderSent(Base):
    """A reminder to a school that something falls due: once per item per date."""

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("organisation_id", "item", "due_date"),)

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[str] = mapped_column(String(250), comment="supplier:<id> or standard:<name>")
    due_date: Mapped[date]
    sent_at: Mapped[created_at]


class FeedbackShare(Base):
    """A school shares one request, or its standards tracker, with the curator
    organisation (often its DPO service) for feedback, until it withdraws it."""

    __tablename__ = "feedback_share"

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    curator_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), comment="none: the standards tracker"
    )
    # No ON DELETE: a DPIA goes only with its organisation, and its shares with it.
    dpia_id: Mapped[int | None] = mapped_column(
        ForeignKey("dpia.id"), index=True, comment="a DPIA shared for the DPO's advice"
    )
    message: Mapped[str | None] = mapped_column(Text, comment="what the school asks")
    shared_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    shared_at: Mapped[created_at]
    withdrawn_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None] = mapped_column(
        comment="when the DPO service first answered: advice given, or a comment"
    )

    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id])
    curator: Mapped[Organisation] = relationship(foreign_keys=[curator_id])
    request: Mapped[Request | None] = relationship()
    dpia: Mapped[Dpia | None] = relationship()
    shared_by: Mapped[User | None] = relationship()
    comments: Mapped[list[FeedbackComment]] = relationship(
        order_by="FeedbackComment.id", cascade="all, delete-orphan"
    )


class FeedbackComment(Base):
    __tablename__ = "feedback_comment"

    id: Mapped[intpk]
    share_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_share.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[created_at]

    author: Mapped[User | None] = relationship()


class SchoolSummary(Base):
    """What the trust overview shows of one school (its standards, RACI gaps,
    register and what is overdue), stored where it is read: a trust of fifty
    schools would otherwise gather every school's register on every view
    (services/school/school_summary.py). A change to anything it rests on
    moves ``generation`` on; the stored content stands only while
    ``stored_generation`` matches it and ``computed_on`` is today."""

    __tablename__ = "school_summary"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    generation: Mapped[int] = mapped_column(
        default=0, server_default="0", comment="moved on by every change the summary rests on"
    )
    stored_generation: Mapped[int | None] = mapped_column(
        comment="the generation the content was computed at"
    )
    computed_on: Mapped[date | None] = mapped_column(comment="overdue is a matter of the date")
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
