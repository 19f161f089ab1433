"""A school adopting a directory entry as its assessment of a supplier, and
asking the supplier for fresh answers instead."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ...models import Adoption, DirectoryEntry, EntryStatus, Organisation, User
from ..errors import ServiceError
from ..platform.audit import record_event
from ..requirements import ratings


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
