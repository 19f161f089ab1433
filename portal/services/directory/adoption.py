"""A school adopting a directory entry as its assessment of a supplier, and
asking the supplier for fresh answers instead."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ...models import Adoption, DirectoryEntry, EntryStatus, Organisation, User
from ...questionnaire.display import format_day
from ..accounts.users import person_or_admins
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.mail import queue_email
from ..platform.questionnaire_registry import definition_for
from ..platform.runtime import runtime
from ..requirements import ratings
from . import entry_evidence


def adoption_of(
    session: Session, entry: DirectoryEntry, organisation: Organisation
) -> Adoption | None:
    return session.scalar(
        select(Adoption).where(
            Adoption.organisation_id == organisation.id, Adoption.listing_id == entry.listing_id
        )
    )


def adopt(
    session: Session, actor: User, organisation: Organisation, entry: DirectoryEntry
) -> Adoption:
    if entry.status != EntryStatus.PUBLISHED:
        raise ServiceError("Only a published entry can be adopted")
    existing = adoption_of(session, entry, organisation)
    if existing is not None:
        raise ServiceError(
            f"{organisation.name} adopted this entry on {existing.adopted_at:%d/%m/%Y}"
        )
    adoption = Adoption(
        organisation=organisation,
        listing_id=entry.listing_id,
        entry=entry,
        adopted_by_id=actor.id,
    )
    session.add(adoption)
    ratings.rate_adoption(session, adoption)
    record_event(
        session,
        "entry_adopted",
        organisation=organisation,
        actor=actor,
        entry=entry.id,
        supplier=entry.supplier.name,
        product=entry.product,
    )
    session.flush()
    return adoption


def adoptions(session: Session, organisation: Organisation) -> list[Adoption]:
    return adoptions_for(session, [organisation.id])


def adoptions_for(session: Session, organisation_ids: Collection[int]) -> list[Adoption]:
    """The organisations' adoptions, newest first, with each entry and its supplier."""
    return list(
        session.scalars(
            select(Adoption)
            .where(Adoption.organisation_id.in_(organisation_ids))
            .options(joinedload(Adoption.entry).joinedload(DirectoryEntry.supplier))
            .order_by(Adoption.adopted_at.desc())
        )
    )


def fresh_request_defaults(entry: DirectoryEntry) -> dict[str, str]:
    """What a new request to this supplier starts with."""
    return {
        "supplier_name": entry.supplier.name,
        "questionnaire": entry.questionnaire_version.key,
        "message": f"We found {entry.product} in the due-diligence directory and would like "
        "your current answers for our school.",
    }


def tell_of_new_version(
    session: Session,
    adoption: Adoption,
    previous: DirectoryEntry,
    entry: DirectoryEntry,
    today: date,
) -> None:
    """Email a school that adopted the listing that a new version is its
    assessment now, with its rating against the school's requirements and,
    where the curator renewed evidence, what now runs out when."""
    labels = {q.id: q.label for q in definition_for(entry.questionnaire_version).questions()}
    renewed = [
        f"{labels.get(qid, qid)}: now runs out on {format_day(day)}"
        for qid, day in entry_evidence.renewed(previous, entry).items()
    ]
    link = runtime(session).links.url("directory.entry", entry_id=entry.id)
    # Whoever adopted the listing, while still at the school; else its admins.
    for address in person_or_admins(session, adoption.organisation_id, adoption.adopted_by):
        queue_email(
            session,
            to=address,
            subject=f"{entry.product} ({entry.supplier.name}): a new version in the directory"
            + (", evidence renewed" if renewed else ""),
            template="directory_new_version",
            organisation=adoption.organisation,
            entry=entry,
            adoption=adoption,
            renewed=renewed,
            still_expired=entry_evidence.expired_on(entry, today),
            link=link,
        )


def rerate_past_expiry(session: Session, today: date) -> int:
    """Re-rate each adoption whose entry's evidence ran out since it was
    last rated (the daily job): a school's register shows the rating kept
    on the adoption, and an expired file is no file. Returns how many."""
    done = 0
    for adoption in session.scalars(
        select(Adoption)
        .join(DirectoryEntry, DirectoryEntry.id == Adoption.entry_id)
        .where(DirectoryEntry.evidence_expiry.is_not(None))
        .options(joinedload(Adoption.entry), joinedload(Adoption.organisation))
    ):
        rated = adoption.rated_at.date() if adoption.rated_at is not None else None
        if any(
            (rated is None or rated < day) and day <= today
            for day in ratings.entry_evidence_dates(adoption.entry).values()
        ):
            ratings.rate_adoption(session, adoption, today)
            done += 1
    session.flush()
    return done
