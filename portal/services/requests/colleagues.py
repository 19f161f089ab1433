"""The supplier's contact hands sections to colleagues (issue 25).

Each colleague gets their own link (a token of their own, stored as its
hash, working only while the request's link works) to the sections handed
to them, and sees nothing else of the request. Only the contact checks the
answers, signs the declaration and submits. The contact and the school can
each take a colleague's link back. Each answer records who gave it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Colleague, Request, utcnow
from ..errors import ServiceError
from ..platform.audit import SUPPLIER_ACTOR, record_event
from ..platform.mail import queue_email
from ..platform.runtime import runtime
from ..platform.tokens import hash_token, new_token
from .answering import ensure_editable, questionnaire_of

MAX_COLLEAGUES = 20
EMAIL_SHAPE = "Enter an email address in the correct format, like name@example.com"


def of_request(session: Session, request: Request) -> list[Colleague]:
    """Every colleague the contact handed sections to, newest last."""
    return list(
        session.scalars(
            select(Colleague).where(Colleague.request_id == request.id).order_by(Colleague.id)
        )
    )


def hand_over(
    session: Session, request: Request, name: str, email: str, sections: Sequence[str]
) -> tuple[Colleague, str]:
    """A colleague with their own link to these sections, emailed to them.
    Returns the colleague and the link (shown once to the contact)."""
    ensure_editable(request)
    name, email = " ".join(name.split()), email.strip()
    if not name:
        raise ServiceError("Enter your colleague's name", "name")
    if "@" not in email or " " in email or len(email) > 320 or email.startswith("@"):
        raise ServiceError(EMAIL_SHAPE, "email")
    questionnaire = questionnaire_of(request)
    known = {section.id for section in questionnaire.sections}
    chosen = [s for s in dict.fromkeys(sections) if s in known]
    if not chosen:
        raise ServiceError("Choose at least one section to hand over", "sections")
    active = [c for c in of_request(session, request) if c.active]
    if len(active) >= MAX_COLLEAGUES:
        raise ServiceError(f"You have handed sections to {MAX_COLLEAGUES} colleagues, the most")
    token, digest = new_token()
    colleague = Colleague(
        request_id=request.id, name=name[:200], email=email, sections=chosen, token_hash=digest
    )
    session.add(colleague)
    session.flush()
    link = runtime(session).links.url("supplier.open_colleague_link", token=token)
    titles = [questionnaire.section(s).title for s in chosen]
    queue_email(
        session,
        to=email,
        subject=f"{request.contact_name} asks you to answer part of a questionnaire for "
        f"{request.organisation.name}",
        template="colleague_invitation",
        organisation=request.organisation,
        request=request,
        link=link,
        colleague=colleague,
        sections=titles,
        school=request.organisation,
    )
    record_event(
        session,
        "sections_handed_over",
        organisation=request.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=request,
        colleague=name,
        sections=chosen,
    )
    return colleague, link


def revoke(session: Session, request: Request, colleague_id: int, by: str) -> Colleague:
    """Take a colleague's link back; what they answered stays."""
    found = session.scalar(
        select(Colleague).where(Colleague.id == colleague_id, Colleague.request_id == request.id)
    )
    if found is None or not found.active:
        raise ServiceError("That colleague's link is not active")
    found.revoked_at = utcnow()
    found.revoked_by = by[:200]
    record_event(
        session,
        "colleague_link_revoked",
        organisation=request.organisation,
        actor_label=by,
        request=request,
        colleague=found.name,
    )
    session.flush()
    return found


def by_token(session: Session, token: str) -> Colleague | None:
    """The active colleague a link belongs to, or None (a 404 to the caller)."""
    found = session.scalar(select(Colleague).where(Colleague.token_hash == hash_token(token)))
    return found if found is not None and found.active else None


def holding(session: Session, request: Request, unfinished: set[str]) -> list[Colleague]:
    """Active colleagues holding any of these (unfinished) sections: whom a reminder reaches."""
    return [c for c in of_request(session, request) if c.active and unfinished & set(c.sections)]
