"""A full data protection impact assessment: the school's own document about
one tool, answered by its staff, advised on by its DPO and signed off."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Organisation, User
from .base import Base, created_at, enum_check, intpk
from .questionnaires import QuestionnaireVersion
from .requests import Request
from .suppliers import Supplier


class DpiaStatus(enum.StrEnum):
    DRAFT = "draft"
    AWAITING_ADVICE = "awaiting_advice"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    REJECTED = "rejected"


class SigningRole(enum.StrEnum):
    """Who signs a DPIA off: the school's SLT digital lead, or the headteacher
    (an admin). Also parties of a RACI chart, by the same names."""

    DIGITAL_LEAD = "SLT digital lead"
    HEADTEACHER = "Headteacher"


class Dpia(Base):
    __tablename__ = "dpia"
    __table_args__ = (enum_check("status", DpiaStatus),)

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("request.id", ondelete="SET NULL"),
        index=True,
        comment="the request it was started from, whose answers prefilled it",
    )
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("supplier.id"))
    title: Mapped[str] = mapped_column(String(200), comment="the tool, as the school names it")
    review_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("dpia.id", ondelete="SET NULL"),
        comment="the approved DPIA this one reviews (its answers were the start)",
    )
    status: Mapped[str] = mapped_column(String(30), default=DpiaStatus.DRAFT)
    created_at: Mapped[created_at]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime | None] = mapped_column(comment="when an answer last changed")
    # The DPO's advice (step 7 of the ICO's process), recorded by school staff:
    # the DPO is often an outside service.
    dpo_name: Mapped[str | None] = mapped_column(String(200))
    dpo_advice: Mapped[str | None] = mapped_column(Text)
    dpo_advised_on: Mapped[date | None]
    advice_recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    dpo_advises_ico: Mapped[bool | None] = mapped_column(
        Boolean, comment="the DPO advises consulting the ICO before the processing starts"
    )
    # The accountable person's sign-off.
    advice_followed: Mapped[bool | None] = mapped_column(Boolean)
    advice_not_followed_reason: Mapped[str | None] = mapped_column(Text)
    approver_role: Mapped[str | None] = mapped_column(
        String(60), comment="SLT digital lead or headteacher"
    )
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_on: Mapped[date | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    next_review_date: Mapped[date | None]
    ico_consultation: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        comment="approved with a high residual risk: the ICO is consulted before processing",
    )

    organisation: Mapped[Organisation] = relationship()
    questionnaire_version: Mapped[QuestionnaireVersion] = relationship()
    request: Mapped[Request | None] = relationship()
    supplier: Mapped[Supplier | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    advice_recorded_by: Mapped[User | None] = relationship(foreign_keys=[advice_recorded_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    review_of: Mapped[Dpia | None] = relationship(remote_side="Dpia.id")

    # Where the DPIA stands, for pages to ask instead of spelling statuses out.
    @property
    def is_draft(self) -> bool:
        return self.status == DpiaStatus.DRAFT

    @property
    def awaiting_advice(self) -> bool:
        return self.status == DpiaStatus.AWAITING_ADVICE

    @property
    def awaiting_approval(self) -> bool:
        return self.status == DpiaStatus.AWAITING_APPROVAL

    @property
    def is_approved(self) -> bool:
        return self.status == DpiaStatus.APPROVED

    @property
    def is_rejected(self) -> bool:
        return self.status == DpiaStatus.REJECTED

    @property
    def is_decided(self) -> bool:
        return self.status in (DpiaStatus.APPROVED, DpiaStatus.REJECTED)


class DpiaAnswer(Base):
    __tablename__ = "dpia_answer"
    __table_args__ = (UniqueConstraint("dpia_id", "question_id"),)

    id: Mapped[intpk]
    dpia_id: Mapped[int] = mapped_column(ForeignKey("dpia.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(
        Text, comment="where a prefilled answer came from; cleared when the school changes it"
    )
    updated_at: Mapped[created_at]
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
