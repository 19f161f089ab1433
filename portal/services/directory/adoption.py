"""A school adopting a directory entry as its assessment of a supplier, and
asking the supplier for fresh answers instead."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ...models import Adoption, DirectoryEntry, EntryStatus, Membership, Organisation, Role, User
from ...questionnaire.display import format_day
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


def _told(session: Session, adoption: Adoption) -> list[str]:
    """Who hears of a new version: whoever adopted the listing, while still
    an active member of the school; else the school's admins."""
    adopter = adoption.adopted_by
    if (
        adopter is not None
        and adopter.is_active
        and any(m.organisation_id == adoption.organisation_id for m in adopter.memberships)
    ):
        return [adopter.email]
    return list(
        session.scalars(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organisation_id == adoption.organisation_id,
                Membership.role == Role.ADMIN,
                User.is_active.is_(True),
                User.is_service.is_(False),
            )
            .order_by(User.email)
        )
    )


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
    for address in _told(session, adoption):
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
