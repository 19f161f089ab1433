"""A due-diligence request and what the supplier gives back."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Organisation, User
from .base import Base, created_at, enum_check, intpk, str_email, str_name, utcnow
from .questionnaires import QuestionnaireSupplement, QuestionnaireVersion
from .suppliers import Supplier


class RequestStatus(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    CLARIFICATION = "clarification"
    RESUBMITTED = "resubmitted"
    ACCEPTED = "accepted"
    ACCEPTED_WITH_CONDITIONS = "accepted_with_conditions"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


# Answers are in and a decision is still to be made.
UNDECIDED_STATUSES = frozenset(
    {RequestStatus.SUBMITTED, RequestStatus.RESUBMITTED, RequestStatus.CLARIFICATION}
)
DECIDED_STATUSES = frozenset(
    {RequestStatus.ACCEPTED, RequestStatus.ACCEPTED_WITH_CONDITIONS, RequestStatus.REJECTED}
)
ANSWERED_STATUSES = UNDECIDED_STATUSES | DECIDED_STATUSES
# The supplier may still open the link and change answers.
OPEN_STATUSES = frozenset(
    {RequestStatus.SENT, RequestStatus.IN_PROGRESS, RequestStatus.CLARIFICATION}
)
# Answers are in (first time or after a clarification round), waiting for the school.
AWAITING_REVIEW_STATUSES = frozenset({RequestStatus.SUBMITTED, RequestStatus.RESUBMITTED})
# A reviewer may record a decision, or change one already made.
DECIDABLE_STATUSES = AWAITING_REVIEW_STATUSES | DECIDED_STATUSES
# The school may reissue or revoke the link (a revoked one may be reissued).
LINK_MANAGED_STATUSES = OPEN_STATUSES | {RequestStatus.REVOKED}


class Request(Base):
    __tablename__ = "request"
    __table_args__ = (
        enum_check("status", RequestStatus),
        # Every index here serves a page's filter or sort (issue 23; the
        # statements are EXPLAINed on PostgreSQL in tests/test_query_plans.py).
        # The school's list, newest first.
        Index("ix_request_organisation_created", "organisation_id", "created_at"),
        # Its status filter and counts, and what is overdue.
        Index("ix_request_organisation_status_due", "organisation_id", "status", "due_date"),
        # The register: each supplier's latest assessment.
        Index("ix_request_organisation_supplier", "organisation_id", "supplier_id"),
        # The curator's queue: only submissions shared with the directory.
        Index(
            "ix_request_shared_submitted",
            # Status and version too: the queue is counted from the index alone.
            "submitted_at",
            "status",
            "questionnaire_version_id",
            # The queue asks "directory_consent = 1" (SQLite uses a partial index
            # only for the very term its WHERE names).
            sqlite_where=text("directory_consent = 1"),
            postgresql_where=text("directory_consent"),
        ),
        # The queue's count: a seek per (status, version) it counts, from the
        # index alone. Led by submitted_at, the index above serves the queue's
        # order but has every shared row's status and version tested one by
        # one (9 of the workspace's 33 ms at 100,000 requests).
        Index(
            "ix_request_shared_status",
            "status",
            "questionnaire_version_id",
            "submitted_at",
            sqlite_where=text("directory_consent = 1"),
            postgresql_where=text("directory_consent"),
        ),
    )

    id: Mapped[intpk]
    reference: Mapped[str] = mapped_column(String(20), unique=True, comment="shown to people")
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"), index=True)
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    contact_name: Mapped[str_name]
    contact_email: Mapped[str_email]
    message: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(30), default=RequestStatus.DRAFT)
    token_hash: Mapped[str | None] = mapped_column(
        String(64), unique=True, comment="SHA-256 of the supplier link token; never the token"
    )
    token_expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    declared_name: Mapped[str | None] = mapped_column(
        String(200), comment="who signed the declaration"
    )
    declared_role: Mapped[str | None] = mapped_column(String(200))
    directory_consent: Mapped[bool] = mapped_column(
        default=False,
        server_default=false(),
        comment="answers may be shared in the curated directory",
    )
    reuse_consent: Mapped[bool] = mapped_column(
        default=False,
        server_default=false(),
        comment="the supplier agreed these answers may start its later questionnaires "
        "for other organisations, after a code sent to this contact",
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]
    lock_version: Mapped[int] = mapped_column(default=1, comment="optimistic locking")
    # Kept up to date from the comparison (on submit, review and profile edits)
    # so lists and the dashboard need not compare every request.
    rating: Mapped[str | None] = mapped_column(String(10), comment="green, amber or red")
    score: Mapped[int | None] = mapped_column(comment="0-100, see questionnaire/compare.py")
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decision_conditions: Mapped[list[str] | None] = mapped_column(JSON)
    next_review_date: Mapped[date | None]
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Deferred: tens of kilobytes of JSON that only a comparison reads; lists
    # of requests decoding it for every row spent most of their time there.
    decided_rules: Mapped[dict[str, Any] | None] = mapped_column(
        JSON,
        deferred=True,
        comment="the profile's rules when decided, so the record stays as judged",
    )
    follows_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("request.id", ondelete="SET NULL"),
        comment="the screening this request follows up",
    )
    supplement_id: Mapped[int | None] = mapped_column(
        ForeignKey("questionnaire_supplement.id"),
        comment="the organisation's own extra questions, as they were when it was sent",
    )

    organisation: Mapped[Organisation] = relationship()
    supplier: Mapped[Supplier] = relationship()
    questionnaire_version: Mapped[QuestionnaireVersion] = relationship()
    supplement: Mapped[QuestionnaireSupplement | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    follows: Mapped[Request | None] = relationship(remote_side="Request.id")
    answers: Mapped[list[Answer]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="Answer.id"
    )
    evidence: Mapped[list[Evidence]] = relationship(order_by="Evidence.id", viewonly=True)

    __mapper_args__ = {"version_id_col": lock_version}

    # Where the request stands, for pages to ask instead of spelling statuses out.
    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_answered(self) -> bool:
        return self.status in ANSWERED_STATUSES

    @property
    def awaiting_review(self) -> bool:
        return self.status in AWAITING_REVIEW_STATUSES

    @property
    def is_decided(self) -> bool:
        return self.status in DECIDED_STATUSES

    @property
    def can_decide(self) -> bool:
        return self.status in DECIDABLE_STATUSES

    @property
    def link_managed(self) -> bool:
        return self.status in LINK_MANAGED_STATUSES

    @property
    def is_revoked(self) -> bool:
        return self.status == RequestStatus.REVOKED


class Answer(Base):
    __tablename__ = "answer"
    __table_args__ = (
        UniqueConstraint("request_id", "question_id", name="uq_answer_request_question"),
    )

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(default=1)
    answered_by: Mapped[str | None] = mapped_column(
        String(200), comment="who at the supplier gave the answer: the contact or a colleague"
    )
    prefilled: Mapped[bool] = mapped_column(
        default=False,
        server_default=false(),
        comment="copied from an earlier submission and not yet confirmed",
    )
    updated_at: Mapped[created_at]

    request: Mapped[Request] = relationship(back_populates="answers")


class Evidence(Base):
    __tablename__ = "evidence"

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255), comment="as the supplier named it")
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[created_at]
    # Its dates, as the supplier gave them beside the upload (issue 26):
    # only asked where the question says how its evidence expires.
    issued_on: Mapped[date | None] = mapped_column(comment="the document's issue date")
    expires_on: Mapped[date | None] = mapped_column(comment="the expiry date given beside it")
    renewing: Mapped[bool] = mapped_column(
        default=False,
        server_default=false(),
        comment="uploaded after it ran out, the supplier saying it is being renewed",
    )


class Clarification(Base):
    __tablename__ = "clarification"

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str | None] = mapped_column(String(64))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    round: Mapped[int] = mapped_column(default=1, server_default="1", comment="1 for the first ask")
    text: Mapped[str] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    resolved_at: Mapped[datetime | None]

    author: Mapped[User | None] = relationship()


class RequestOnBehalf(Base):
    """A trust's request made for some of its schools: the supplier answers
    once, and each school sees the answers against its own requirements and
    the assessment in its register."""

    __tablename__ = "request_on_behalf"
    __table_args__ = (UniqueConstraint("request_id", "organisation_id"),)

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    # The request's answers against this school's own requirements, kept
    # current like Request.rating (services/requirements/ratings.py) so the
    # school's register and its trust's overview read it instead of comparing.
    rating: Mapped[str | None] = mapped_column(String(10), comment="green, amber or red")
    rated_at: Mapped[datetime | None] = mapped_column(
        comment="null: never rated (a row from before)"
    )


class ReuseCode(Base):
    """A one-time code that lets the person at a supplier link copy in answers
    their company submitted to another organisation: sent to the contact who
    submitted them, never to an address the asking school typed."""

    __tablename__ = "reuse_code"

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True, comment="the request asking"
    )
    # None when no submission matched the address typed: the code is made and
    # counted all the same (and sent nowhere), so the person at the link cannot
    # tell whether another organisation holds answers from that address.
    source_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"),
        index=True,
        comment="the submission to copy from; none if the address matched none",
    )
    sent_to: Mapped[str] = mapped_column(
        String(320), default="", server_default="", comment="the address typed, masked"
    )
    code_hash: Mapped[str] = mapped_column(String(64), comment="SHA-256 hex of the code")
    attempts: Mapped[int] = mapped_column(default=0, comment="wrong codes typed")
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    source: Mapped[Request | None] = relationship(foreign_keys=[source_request_id])


class AnswerUpload(Base):
    """An answers workbook the supplier uploaded (issue 25), kept with what
    came of it: the answers saved, those refused and why, the conflicts."""

    __tablename__ = "answer_upload"

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    # Deferred: the list of uploads never reads the files themselves.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_at: Mapped[created_at]
    applied_at: Mapped[datetime | None]
    report: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, comment="what the upload saved, refused and left in conflict"
    )


class Colleague(Base):
    """Someone at the supplier the contact handed sections to (issue 25):
    their own link, for those sections only. The contact alone checks the
    answers, signs the declaration and submits."""

    __tablename__ = "colleague"

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str_name]
    email: Mapped[str_email]
    sections: Mapped[list[str]] = mapped_column(JSON, comment="the section ids handed over")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[created_at]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    reminded_at: Mapped[datetime | None]

    request: Mapped[Request] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class TrackedEvidence(Base):
    """A piece of a submitted request's evidence whose expiry the school
    follows (issue 26): one per question that says how its evidence
    expires. Worked out again whenever the answers are submitted,
    resubmitted or renewed (services/requests/evidence_life.py), so the
    school's pages, reminders and the API read dates, not answers."""

    __tablename__ = "tracked_evidence"
    __table_args__ = (UniqueConstraint("request_id", "question_id"),)

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), comment="certificate, test_report, ...")
    expires_on: Mapped[date | None] = mapped_column(
        index=True, comment="the earliest expiry of its files; none when no date was given"
    )
    # The expiry each renewal ask was sent for: a new expiry asks again,
    # the same one never twice.
    asked_before_on: Mapped[date | None] = mapped_column(
        comment="the expiry whose renewal was asked for before it"
    )
    asked_after_on: Mapped[date | None] = mapped_column(
        comment="the expiry whose renewal was asked for once it had passed"
    )
    accepted_reason: Mapped[str | None] = mapped_column(
        Text, comment="why the school accepted it without an expiry date"
    )
    accepted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[Request] = relationship()


class EvidenceRenewal(Base):
    """An ask to the supplier's contact for renewed evidence (issue 26): its
    own link, which opens only the evidence named and changes nothing else of
    the request (its decision stands). Sent by the daily job 30 days before
    an expiry and once it has passed, or by the school."""

    __tablename__ = "evidence_renewal"

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(
        ForeignKey("request.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    questions: Mapped[list[str]] = mapped_column(JSON, comment="the evidence questions to renew")
    reason: Mapped[str] = mapped_column(
        String(20), comment="before (30 days ahead), after (it ran out) or school (by hand)"
    )
    sent_at: Mapped[created_at]
    sent_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    link_expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]

    request: Mapped[Request] = relationship()
    sent_by: Mapped[User | None] = relationship()

    @property
    def open(self) -> bool:
        return self.completed_at is None and self.link_expires_at > utcnow()
