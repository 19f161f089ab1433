"""The curated directory: supplier assessments schools reuse, and who adopted one."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, event, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Organisation, User
from .base import Base, created_at, enum_check, intpk, utcnow
from .questionnaires import QuestionnaireVersion
from .requests import Request
from .suppliers import Supplier


class EntryStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    # A newer version of the same listing was published in its place.
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


CATEGORIES = (
    ("it_support", "IT support"),
    ("mis", "Management information system (MIS)"),
    ("safeguarding", "Safeguarding and wellbeing"),
    ("learning_platform", "Learning platform"),
    ("communication", "Communication with parents"),
    ("assessment", "Assessment and tracking"),
    ("ai_tool", "AI tool"),
    ("filtering_monitoring", "Filtering and monitoring"),
    ("finance_hr", "Finance and HR"),
    ("other", "Other"),
)


# The full-text index of published entries (PostgreSQL: a tsvector table;
# SQLite: an FTS5 table and its shadow tables). The database builds it and
# keeps it in step by triggers (migration e1093e68055b), so it is no model, and
# comparing the models with the database leaves it alone. So too the index of
# entries by product name in any case: an expression on PostgreSQL, a collation
# on SQLite, neither of which a model can declare for both.
DIRECTORY_SEARCH = "directory_search"
BY_PRODUCT_NAME = "ix_directory_entry_published_product"


def outside_the_models(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name``: False for the search indexes."""
    if name is None:
        return True
    if type_ == "table":
        return not (name == DIRECTORY_SEARCH or name.startswith(f"{DIRECTORY_SEARCH}_"))
    return not (type_ == "index" and name == BY_PRODUCT_NAME)


class DirectoryEntry(Base):
    """One version of one listing. A listing's versions share ``listing_id`` (the
    id of its first version); republishing adds a version and supersedes the last."""

    __tablename__ = "directory_entry"
    __table_args__ = (
        enum_check("status", EntryStatus),
        UniqueConstraint("listing_id", "version", name="uq_directory_entry_listing_version"),
        # The curator's lists: by state, newest change first, and the overdue by date.
        Index("ix_directory_entry_status_updated", "status", "updated_at"),
        Index("ix_directory_entry_status_review", "status", "review_due"),
        # The curator's evidence to refresh: a range read, not every entry's dates.
        Index("ix_directory_entry_status_first_expiry", "status", "evidence_first_expiry"),
    )

    id: Mapped[intpk]
    listing_id: Mapped[int | None] = mapped_column(index=True, comment="id of the first version")
    version: Mapped[int] = mapped_column(default=1)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"), index=True)
    product: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, comment="copied, never linked")
    evidence_questions: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="questions the source answered with evidence files"
    )
    # When the evidence behind a question runs out (issue 26): taken from the
    # source request's tracked evidence or the curator, so an entry never
    # shows a stale certificate as current.
    evidence_expiry: Mapped[dict[str, str] | None] = mapped_column(
        JSON, comment="question id -> the ISO date its evidence expires"
    )
    # The first of those dates, kept in step by the listener below, so the
    # curator's list of entries to refresh reads an index instead of every
    # published entry's JSON (measured: 24 ms, 17x its floor, at 5,000 entries).
    evidence_first_expiry: Mapped[date | None] = mapped_column(
        comment="the earliest date in evidence_expiry"
    )
    source_request_id: Mapped[int | None] = mapped_column(
        # Indexed for the curator's queue ("not used by an entry yet"): without
        # it each look reads every entry, answers and all (8 ms at 5,000).
        ForeignKey("request.id", ondelete="SET NULL"),
        index=True,
    )
    curator_authored: Mapped[bool] = mapped_column(
        default=False,
        server_default=false(),
        comment="filled in by the curator from public documents",
    )
    sources: Mapped[str] = mapped_column(Text, default="", comment="public documents used")
    summary: Mapped[str] = mapped_column(Text, default="")
    rating: Mapped[str | None] = mapped_column(
        String(10), comment="the curator's: green, amber, red"
    )
    conditions: Mapped[str] = mapped_column(Text, default="")
    review_due: Mapped[date]
    status: Mapped[str] = mapped_column(String(20), default=EntryStatus.DRAFT)
    reviewed_on: Mapped[date | None] = mapped_column(
        comment="when the assessment was last reviewed"
    )
    published_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, list[str]] | None] = mapped_column(
        JSON, comment="answers added, changed, removed since the previous version"
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    supplier: Mapped[Supplier] = relationship()
    questionnaire_version: Mapped[QuestionnaireVersion] = relationship()
    source_request: Mapped[Request | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    # Where the entry stands, for pages to ask instead of spelling statuses out.
    @property
    def is_draft(self) -> bool:
        return self.status == EntryStatus.DRAFT

    @property
    def is_published(self) -> bool:
        return self.status == EntryStatus.PUBLISHED

    @property
    def is_withdrawn(self) -> bool:
        return self.status == EntryStatus.WITHDRAWN

    @property
    def is_superseded(self) -> bool:
        return self.status == EntryStatus.SUPERSEDED


class Adoption(Base):
    """A school took a directory listing as its assessment of that supplier."""

    __tablename__ = "adoption"
    __table_args__ = (
        UniqueConstraint("organisation_id", "listing_id", name="uq_adoption_organisation_listing"),
        Index("ix_adoption_entry_id", "entry_id"),
    )

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    listing_id: Mapped[int] = mapped_column(index=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("directory_entry.id"), comment="the version adopted"
    )
    adopted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    adopted_at: Mapped[created_at]
    # The adopted version's answers against the school's own requirements,
    # kept current (services/requirements/ratings.py) for the register.
    rating: Mapped[str | None] = mapped_column(String(10), comment="green, amber or red")
    rated_at: Mapped[datetime | None] = mapped_column(
        comment="null: never rated (a row from before)"
    )

    organisation: Mapped[Organisation] = relationship()
    entry: Mapped[DirectoryEntry] = relationship()
    adopted_by: Mapped[User | None] = relationship()


def evidence_dates(dates: dict[str, str] | None) -> dict[str, date]:
    """An entry's ``evidence_expiry`` as dates by question; a date that does
    not parse is no date."""
    found: dict[str, date] = {}
    for question_id, text in (dates or {}).items():
        try:
            found[question_id] = date.fromisoformat(str(text))
        except ValueError:
            continue
    return found


def first_expiry(dates: dict[str, str] | None) -> date | None:
    """The earliest of an entry's evidence dates."""
    return min(evidence_dates(dates).values(), default=None)


@event.listens_for(DirectoryEntry.evidence_expiry, "set")
def _keep_first_expiry(entry: DirectoryEntry, value: Any, _old: Any, _initiator: Any) -> None:
    # Every writer assigns the whole map (curation.py, entry_evidence.py).
    entry.evidence_first_expiry = first_expiry(value)
