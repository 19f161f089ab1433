"""Schools reading the directory: published entries found by what they
type and choose, and an entry's answers against the school's own requirements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from ...models import (
    DirectoryEntry,
    EntryStatus,
    Organisation,
    QuestionnaireVersion,
    Supplier,
    utcnow,
)
from ...questionnaire.compare import Comparison
from ..platform.matching import contains_pattern
from ..requirements import ratings


@dataclass(frozen=True)
class Search:
    text: str = ""
    category: str = ""
    rating: str = ""
    questionnaire: str = ""
    freshness: str = ""  # "", "current" or "overdue"


def search(session: Session, criteria: Search, today: date | None = None) -> list[DirectoryEntry]:
    """Published entries matching every criterion given."""
    now = today or utcnow().date()
    query = (
        select(DirectoryEntry)
        .join(DirectoryEntry.supplier)
        .join(DirectoryEntry.questionnaire_version)
        .where(DirectoryEntry.status == EntryStatus.PUBLISHED)
        .options(
            joinedload(DirectoryEntry.supplier), joinedload(DirectoryEntry.questionnaire_version)
        )
    )
    text = criteria.text.strip()
    if text:
        pattern = contains_pattern(text)
        query = query.where(
            or_(
                func.lower(DirectoryEntry.product).like(pattern, escape="\\"),
                func.lower(Supplier.name).like(pattern, escape="\\"),
                func.lower(DirectoryEntry.summary).like(pattern, escape="\\"),
            )
        )
    if criteria.category:
        query = query.where(DirectoryEntry.category == criteria.category)
    if criteria.rating:
        query = query.where(DirectoryEntry.rating == criteria.rating)
    if criteria.questionnaire:
        query = query.where(QuestionnaireVersion.key == criteria.questionnaire)
    if criteria.freshness == "current":
        query = query.where(DirectoryEntry.review_due >= now)
    elif criteria.freshness == "overdue":
        query = query.where(DirectoryEntry.review_due < now)
    return list(session.scalars(query.order_by(func.lower(DirectoryEntry.product)).limit(500)))


def comparison_for_school(
    session: Session, entry: DirectoryEntry, organisation: Organisation
) -> Comparison:
    """The entry's answers against this school's own requirements."""
    return ratings.comparison_for_entry(session, entry, organisation)
