"""The JSON shapes of DPIAs and of what a school shares with its DPO service
(the school's side and the DPO's caseload), as schemas.py writes the rest."""

from __future__ import annotations

from datetime import date
from typing import Any, Self

from flask import url_for
from pydantic import BaseModel, Field

from ... import models
from ...models import DpiaStatus
from ...questionnaire.risk import LEVELS, Risk
from ...services.school import feedback
from ...vocabulary import DPIA_STATUS_LABELS
from .schemas import iso, one_of


class DpiaAdvice(BaseModel):
    """The DPO's advice, as recorded by school staff or given by the DPO
    service in the portal."""

    dpo_name: str
    advice: str
    advised_on: date | None
    advises_ico: bool | None = Field(
        description="The DPO advises consulting the ICO before the processing starts "
        "(null: not said, when school staff recorded the advice)"
    )
    recorded_by: str | None = Field(description="Who recorded it in the portal")


class DpiaSignOff(BaseModel):
    approved: bool
    approver_role: str | None = Field(description="SLT digital lead or Headteacher")
    advice_followed: bool | None
    advice_not_followed_reason: str | None
    note: str | None
    decided_on: date | None
    decided_by: str | None
    ico_consultation: bool = Field(
        description="Approved with a high risk left: the ICO is consulted before processing"
    )


class Comment(BaseModel):
    author: str
    body: str
    created_at: str


class Share(BaseModel):
    """A share with the DPO service: live until withdrawn_at."""

    id: int
    dpo_service: str
    message: str | None
    shared_by: str | None
    shared_at: str
    withdrawn_at: str | None
    answered_at: str | None = Field(description="When the DPO service first answered")
    comments: list[Comment]

    @classmethod
    def of(cls, found: models.FeedbackShare) -> Self:
        return cls(
            id=found.id,
            dpo_service=found.curator.name,
            message=found.message,
            shared_by=found.shared_by.name if found.shared_by else None,
            shared_at=found.shared_at.isoformat(),
            withdrawn_at=iso(found.withdrawn_at),
            answered_at=iso(found.answered_at),
            comments=[
                Comment(
                    author=c.author.name if c.author else found.curator.name,
                    body=c.body,
                    created_at=c.created_at.isoformat(),
                )
                for c in found.comments
            ],
        )


class DpiaLinks(BaseModel):
    self: str
    answers: str = Field(description="PATCH here to change answers (a draft only)")


class Dpia(BaseModel):
    id: int
    title: str
    status: str = one_of(*DpiaStatus)
    status_label: str
    supplier: str | None
    request: str | None = Field(description="The reference of the request it was started from")
    questionnaire: str = Field(description="The DPIA questionnaire's key")
    version: int
    created_at: str
    updated_at: str | None
    advice: DpiaAdvice | None
    sign_off: DpiaSignOff | None
    next_review_date: date | None
    links: DpiaLinks

    @classmethod
    def of(cls, row: models.Dpia, **more: Any) -> Self:
        advice = (
            DpiaAdvice(
                dpo_name=row.dpo_name or "",
                advice=row.dpo_advice,
                advised_on=row.dpo_advised_on,
                advises_ico=row.dpo_advises_ico,
                recorded_by=row.advice_recorded_by.name if row.advice_recorded_by else None,
            )
            if row.dpo_advice
            else None
        )
        sign_off = (
            DpiaSignOff(
                approved=row.status == DpiaStatus.APPROVED,
                approver_role=row.approver_role,
                advice_followed=row.advice_followed,
                advice_not_followed_reason=row.advice_not_followed_reason,
                note=row.decision_note,
                decided_on=row.decided_on,
                decided_by=row.decided_by.name if row.decided_by else None,
                ico_consultation=row.ico_consultation,
            )
            if row.is_decided
            else None
        )
        return cls(
            id=row.id,
            title=row.title,
            status=row.status,
            status_label=DPIA_STATUS_LABELS[DpiaStatus(row.status)],
            supplier=row.supplier.name if row.supplier else None,
            request=row.request.reference if row.request else None,
            questionnaire=row.questionnaire_version.key,
            version=row.questionnaire_version.version,
            created_at=row.created_at.isoformat(),
            updated_at=iso(row.updated_at),
            advice=advice,
            sign_off=sign_off,
            next_review_date=row.next_review_date,
            links=DpiaLinks(
                self=url_for("api.get_dpia", dpia_id=row.id),
                answers=url_for("api.change_dpia_answers", dpia_id=row.id),
            ),
            **more,
        )


class DpiaPage(BaseModel):
    items: list[Dpia]
    next_cursor: str | None = Field(description="Pass as cursor for the next page")


class DpiaAnswer(BaseModel):
    value: Any = Field(description="As the questionnaire's type says (a table: a list of rows)")
    comment: str | None
    source: str | None = Field(
        description="Where a prefilled answer came from; null once the school changed it"
    )


class DpiaRisk(BaseModel):
    number: int
    risk: str
    likelihood: str | None
    severity: str | None
    level: str | None = one_of(*LEVELS, None)
    measure: str
    measure_approved: bool
    residual_level: str | None = one_of(*LEVELS, None, description="The risk left")

    @classmethod
    def of(cls, risk: Risk) -> Self:
        return cls(
            number=risk.number,
            risk=risk.risk,
            likelihood=risk.likelihood,
            severity=risk.severity,
            level=risk.level,
            measure=risk.measure,
            measure_approved=risk.measure_approved,
            residual_level=risk.residual_level,
        )


class DpiaDetail(Dpia):
    """One DPIA: its answers by question id, its risk register with each
    level on the school's matrix, what is still unanswered, and its share
    with the DPO service."""

    answers: dict[str, DpiaAnswer]
    risks: list[DpiaRisk]
    residual_level: str | None = one_of(*LEVELS, None, description="The highest risk left")
    unanswered: list[str] = Field(description="Question ids still to answer before advice")
    dpo_share: Share | None = Field(description="The newest share with the DPO service")


class DpiaAnswersBody(BaseModel):
    """Answers to change, by question id (null clears one); the others stay."""

    answers: dict[str, Any] = Field(default_factory=dict)
    comments: dict[str, str | None] = Field(default_factory=dict)


class MessageBody(BaseModel):
    message: str = Field(default="", max_length=feedback.MESSAGE_LIMIT)


class CommentBody(BaseModel):
    body: str = Field(max_length=feedback.COMMENT_LIMIT)


# --- The DPO service's caseload ----------------------------------------------------


class Case(BaseModel):
    """One thing a school shared with the DPO service."""

    id: int
    school: str
    kind: str = one_of("dpia", "request", "standards")
    title: str
    shared_at: str
    answered_at: str | None
    comments: int
    link: str

    @classmethod
    def of(cls, found: models.FeedbackShare, comments: int) -> Self:
        return cls(
            id=found.id,
            school=found.organisation.name,
            kind="dpia" if found.dpia_id else "request" if found.request_id else "standards",
            title=feedback.what_is_shared(found),
            shared_at=found.shared_at.isoformat(),
            answered_at=iso(found.answered_at),
            comments=comments,
            link=url_for("api.get_case", share_id=found.id),
        )


class CasePage(BaseModel):
    items: list[Case]
    total: int
    next_cursor: str | None = Field(description="Pass as cursor for the next page")


class CaseDetail(Case):
    message: str | None
    shared_by: str | None
    thread: list[Comment]
    dpia: DpiaDetail | None = Field(description="A DPIA shared for advice: all of it")
    answers: dict[str, Any] | None = Field(
        description="A request shared for feedback: the supplier's answers by question id"
    )
