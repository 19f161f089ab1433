"""What the directory workbook shows: one block per questionnaire version,
its entries read in batches (the builder is portal/exports/directory.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ...exports.directory import DirectoryBlock, DirectoryRow
from ...models import DirectoryEntry, EntryStatus, QuestionnaireVersion, utcnow
from ..directory import entry_evidence
from ..directory.curation import CATEGORY_LABELS, ENTRY_STATUS_LABELS, review_overdue
from ..platform.questionnaire_registry import definition_for


def export_blocks(
    session: Session, statuses: set[str], today: date | None = None
) -> Iterator[DirectoryBlock]:
    """One block per questionnaire version, its entries read in batches."""
    now = today or utcnow().date()
    versions = session.scalars(
        select(QuestionnaireVersion)
        .where(
            QuestionnaireVersion.id.in_(
                select(DirectoryEntry.questionnaire_version_id).where(
                    DirectoryEntry.status.in_(statuses)
                )
            )
        )
        .order_by(QuestionnaireVersion.key, QuestionnaireVersion.version)
    ).all()
    for version in versions:
        yield DirectoryBlock(
            definition_for(version), _export_rows(session, version.id, statuses, now)
        )


def export_count(session: Session, statuses: set[str]) -> int:
    return (
        session.scalar(
            select(func.count(DirectoryEntry.id)).where(DirectoryEntry.status.in_(statuses))
        )
        or 0
    )


def _export_rows(
    session: Session, version_id: int, statuses: set[str], today: date
) -> Iterator[DirectoryRow]:
    query = (
        select(DirectoryEntry)
        .where(
            DirectoryEntry.questionnaire_version_id == version_id,
            DirectoryEntry.status.in_(statuses),
        )
        .options(joinedload(DirectoryEntry.supplier))
        .order_by(DirectoryEntry.id)
        .execution_options(yield_per=500)
    )
    for entry in session.scalars(query):
        status = ENTRY_STATUS_LABELS[EntryStatus(entry.status)]
        if review_overdue(entry, today):
            status = "Review overdue"
        yield DirectoryRow(
            supplier=entry.supplier.name,
            product=entry.product,
            category=CATEGORY_LABELS.get(entry.category, entry.category),
            rating=entry.rating,
            score=None,
            status=status,
            reviewed=entry.reviewed_on,
            review_due=entry.review_due,
            summary=entry.summary,
            conditions=entry.conditions,
            answers=entry.answers,
            evidence=entry_evidence.expired_words(entry, today),
        )
