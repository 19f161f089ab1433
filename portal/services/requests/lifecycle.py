"""The school's side of a request: create it, issue its link, follow its status."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, bindparam, func, inspect, select, update
from sqlalchemy.orm import Session, joinedload

from ...database import rows_connection
from ...models import (
    AWAITING_REVIEW_STATUSES,
    LINK_MANAGED_STATUSES,
    OPEN_STATUSES,
    Colleague,
    Organisation,
    OrgKind,
    QuestionnaireVersion,
    Request,
    RequestOnBehalf,
    RequestStatus,
    Supplier,
    User,
    utcnow,
)
from ...vocabulary import REQUEST_STATUS_LABELS
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.mail import queue_email
from ..platform.matching import contains_pattern
from ..platform.paging import Page, count, page_of
from ..platform.questionnaire_registry import find_current, publish_version
from ..platform.runtime import runtime
from ..platform.tokens import hash_token, new_token
from ..requirements import supplements

# No 0/O, 1/I/L: references are read out over the phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


STATUS_LABELS = REQUEST_STATUS_LABELS  # the words live in portal/vocabulary.py


@dataclass(frozen=True)
class NewRequest:
    supplier_name: str
    contact_name: str
    contact_email: str
    questionnaire_key: str
    due_date: date | None
    message: str
    link_days: int | None = None  # the configured default when None
    # An integration that sends its own email turns ours off (the API only).
    email_supplier: bool = True
    # A trust asking for some of its schools: their organisation ids.
    on_behalf_of: tuple[int, ...] = ()


@dataclass(frozen=True)
class IssuedLink:
    request: Request
    url: str


def new_reference(session: Session) -> str:
    while True:
        reference = "DD-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
        if session.scalar(select(Request.id).where(Request.reference == reference)) is None:
            return reference


def find_or_create_supplier(session: Session, name: str) -> Supplier:
    """Suppliers are shared across schools: reuse one with the same name."""
    clean = " ".join(name.split())
    supplier = session.scalar(
        select(Supplier).where(func.lower(Supplier.name) == clean.lower()).order_by(Supplier.id)
    )
    if supplier is None:
        supplier = Supplier(name=clean)
        session.add(supplier)
        session.flush()
    return supplier


def create_request(
    session: Session, organisation: Organisation, author: User, details: NewRequest
) -> IssuedLink:
    """Create a request, issue its link and queue the invitation email."""
    if details.due_date is not None and details.due_date < utcnow().date():
        raise ServiceError("The due date must be today or in the future", "due_date")
    questionnaire = find_current(session, details.questionnaire_key)
    if questionnaire.answered_by_staff:
        raise ServiceError(
            "That questionnaire is answered by our own staff, not sent to a supplier: "
            + (
                "start a DPIA from a request's page"
                if questionnaire.audience == "dpia"
                else "answer it under Standards"
            ),
            "questionnaire",
        )
    schools = _schools_asked_for(session, organisation, details.on_behalf_of)
    version = publish_version(session, questionnaire)
    # A school's own questions go with a questionnaire compared with
    # requirements (not a screening, whose triage reads its own questions).
    own = (
        supplements.in_use(session, organisation.id, questionnaire.key)
        if questionnaire.triage is None
        else None
    )
    request = Request(
        reference=new_reference(session),
        organisation_id=organisation.id,
        supplier=find_or_create_supplier(session, details.supplier_name),
        questionnaire_version=version,
        supplement=own,
        contact_name=details.contact_name.strip(),
        contact_email=details.contact_email.strip(),
        message=details.message.strip(),
        due_date=details.due_date,
        status=RequestStatus.DRAFT,
        created_by=author,
    )
    session.add(request)
    session.flush()
    for school in schools:
        # Not answered yet: rated (as nothing) until the supplier submits.
        session.add(
            RequestOnBehalf(request_id=request.id, organisation_id=school.id, rated_at=utcnow())
        )
    record_event(
        session,
        "request_created",
        organisation=organisation,
        actor=author,
        request=request,
        questionnaire=f"{version.key} v{version.version}",
        own_questions=own.version if own else None,
        on_behalf_of=", ".join(s.name for s in schools) or None,
    )
    link = issue_link(session, request, author, details.link_days)
    if not details.email_supplier:
        return link
    queue_email(
        session,
        to=request.contact_email,
        subject=f"{organisation.name} asks you to complete: {version.title}",
        template="supplier_invitation",
        organisation=organisation,
        request=request,
        link=link.url,
        school=organisation,
        sender=author,
        schools=schools,
    )
    return link


def _schools_asked_for(
    session: Session, organisation: Organisation, ids: tuple[int, ...]
) -> list[Organisation]:
    """The trust's own schools among ``ids`` (a request may be made on behalf
    of a trust's schools only, and only by the trust)."""
    if not ids:
        return []
    if organisation.kind != OrgKind.TRUST:
        raise ServiceError("Only a trust can ask on behalf of schools", "on_behalf_of")
    schools = list(
        session.scalars(
            select(Organisation)
            .where(Organisation.id.in_(ids), Organisation.trust_id == organisation.id)
            .order_by(Organisation.name)
        )
    )
    if len(schools) != len(set(ids)):
        raise ServiceError("Choose schools of this trust from the list", "on_behalf_of")
    return schools


def on_behalf_of(session: Session, request: Request) -> list[Organisation]:
    """The schools a trust made this request for."""
    return list(
        session.scalars(
            select(Organisation)
            .join(RequestOnBehalf, RequestOnBehalf.organisation_id == Organisation.id)
            .where(RequestOnBehalf.request_id == request.id)
            .order_by(Organisation.name)
        )
    )


def issue_link(
    session: Session, request: Request, actor: User, days: int | None = None
) -> IssuedLink:
    """Give the request a fresh token; any earlier link stops working, and
    with it every colleague's link handed out under it."""
    if request.token_hash is not None:
        end_colleague_links(session, request, f"{request.organisation.name}, with a new link")
    token, digest = new_token()
    request.token_hash = digest
    lifetime = days or runtime(session).settings.link_lifetime_days
    request.token_expires_at = utcnow() + timedelta(days=lifetime)
    request.revoked_at = None
    change_status(
        session, request, RequestStatus.SENT, actor=actor, only_from={RequestStatus.DRAFT}
    )
    session.flush()
    return IssuedLink(request, runtime(session).links.url("supplier.open_link", token=token))


def _reopened_status(request: Request) -> RequestStatus:
    # A revoked link that is issued again returns the request to where it was.
    return RequestStatus.IN_PROGRESS if request.answers else RequestStatus.SENT


def revoke_link(session: Session, request: Request, actor: User) -> None:
    """Stop the supplier's link working at once (a new one can be issued later)."""
    if request.status not in OPEN_STATUSES:
        raise ServiceError("Only a link of a request waiting for answers can be revoked")
    request.revoked_at = utcnow()
    end_colleague_links(session, request, request.organisation.name)
    change_status(session, request, RequestStatus.REVOKED, actor=actor)
    session.flush()


def end_colleague_links(session: Session, request: Request, by: str) -> None:
    """Take back every colleague link of the request. A colleague's link works
    only under the link the contact had when handing it out: a school that
    takes the link back or sends a new one (it leaked, the contact left) must
    not leave colleague links that a new contact never gave."""
    ended = session.execute(
        update(Colleague)
        .where(Colleague.request_id == request.id, Colleague.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_by=by[:200]),
        execution_options={"synchronize_session": "fetch"},
    )
    if ended.rowcount:  # type: ignore[attr-defined]
        record_event(
            session,
            "colleague_links_ended",
            organisation=request.organisation,
            actor_label=by,
            request=request,
            colleagues=ended.rowcount,  # type: ignore[attr-defined]
        )


def extend_link(session: Session, request: Request, actor: User, days: int) -> None:
    """Give the current link more time, counted from today or its expiry, whichever is later."""
    if not 1 <= days <= 90:
        raise ServiceError("Enter a number of days between 1 and 90", "days")
    if request.status not in OPEN_STATUSES:
        raise ServiceError("Only a link of a request waiting for answers can be extended")
    start = max(utcnow(), request.token_expires_at or utcnow())
    request.token_expires_at = start + timedelta(days=days)
    record_event(
        session,
        "link_extended",
        organisation=request.organisation,
        actor=actor,
        request=request,
        until=request.token_expires_at.date().isoformat(),
    )
    session.flush()


def reissue_link(session: Session, request: Request, actor: User) -> IssuedLink:
    """A new link replaces the old one, which stops working; the contact gets it by email."""
    if request.status not in LINK_MANAGED_STATUSES:
        raise ServiceError("Only a request waiting for answers can have a new link")
    issued = issue_link(session, request, actor)
    if request.status == RequestStatus.REVOKED:
        change_status(session, request, _reopened_status(request), actor=actor)
    record_event(
        session, "link_reissued", organisation=request.organisation, actor=actor, request=request
    )
    queue_email(
        session,
        to=request.contact_email,
        subject=f"A new link from {request.organisation.name}: {request.questionnaire_version.title}",
        template="supplier_new_link",
        organisation=request.organisation,
        request=request,
        link=issued.url,
        school=request.organisation,
        sender=actor,
    )
    return issued


def change_status(
    session: Session,
    request: Request,
    status: RequestStatus,
    *,
    actor: User | None = None,
    actor_label: str | None = None,
    only_from: set[RequestStatus] | None = None,
) -> bool:
    """Move a request to ``status`` and audit it; False if it was not in ``only_from``."""
    if request.status == status or (only_from is not None and request.status not in only_from):
        return False
    previous = request.status
    request.status = status
    record_event(
        session,
        "status_changed",
        organisation=request.organisation,
        actor=actor,
        actor_label=actor_label,
        request=request,
        **{"from": previous, "to": str(status)},
    )
    return True


def find_request_by_token(session: Session, token: str) -> Request | None:
    return session.scalar(select(Request).where(Request.token_hash == hash_token(token)))


def link_expired(request: Request, now: datetime | None = None) -> bool:
    """The link ran out of time (not revoked, not replaced)."""
    return (
        request.revoked_at is None
        and request.token_expires_at is not None
        and request.token_expires_at <= (now or utcnow())
    )


def link_is_live(request: Request, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        request.token_hash is not None
        and request.revoked_at is None
        and request.token_expires_at is not None
        and request.token_expires_at > now
        and request.status in OPEN_STATUSES | AWAITING_REVIEW_STATUSES
    )


@dataclass(frozen=True)
class RequestFilter:
    status: str | None = None
    supplier: str | None = None  # part of the supplier's name, any case
    questionnaire: str | None = None  # a questionnaire key
    rating: str | None = None  # green, amber or red
    overdue_on: date | None = None  # only those still open after their due date, on this day


def page_of_requests(
    session: Session,
    organisation: Organisation | Sequence[int],
    criteria: RequestFilter,
    *,
    before_id: int | None,
    limit: int,
) -> list[Request]:
    """A page of the organisation's requests (or those of several, by id: a
    trust's with its schools'), newest first, for cursor paging (by id, so a
    request created meanwhile never shifts a page)."""
    query = (
        select(Request)
        .where(_of(organisation))
        .options(
            # Everything an API item shows, in the one query (decided_by too:
            # one more query per decided request otherwise).
            joinedload(Request.supplier),
            joinedload(Request.questionnaire_version),
            joinedload(Request.decided_by),
            joinedload(Request.organisation),
        )
        .order_by(Request.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Request.id < before_id)
    return list(session.scalars(_filtered(query, criteria)))


def count_requests(
    session: Session, organisation: Organisation | Sequence[int], criteria: RequestFilter
) -> int:
    """How many of the organisation's (or organisations') requests match the filter."""
    return count(session, _filtered(select(Request).where(_of(organisation)), criteria))


def requests_page(
    session: Session,
    organisation: Organisation | Sequence[int],
    criteria: RequestFilter,
    number: int,
) -> Page[Request]:
    """A page of the organisation's requests (or several organisations'),
    newest first, with what the list shows loaded: two statements whatever
    the number of requests."""
    query = (
        select(Request)
        .where(_of(organisation))
        .options(
            joinedload(Request.supplier),
            joinedload(Request.organisation),
            # The list needs the title, not the whole definition snapshot.
            joinedload(Request.questionnaire_version).load_only(
                QuestionnaireVersion.title, QuestionnaireVersion.version
            ),
        )
        .order_by(Request.created_at.desc(), Request.id.desc())
    )
    return page_of(session, _filtered(query, criteria), number)


def _of(organisation: Organisation | Sequence[int]) -> ColumnElement[bool]:
    if isinstance(organisation, Organisation):
        return Request.organisation_id == organisation.id
    return Request.organisation_id.in_(list(organisation))


def _filtered(query: Select[Request], criteria: RequestFilter) -> Select[Request]:
    if criteria.status:
        query = query.where(Request.status == criteria.status)
    if criteria.rating:
        query = query.where(Request.rating == criteria.rating)
    if criteria.overdue_on is not None:
        query = query.where(
            Request.status.in_(OPEN_STATUSES), Request.due_date < criteria.overdue_on
        )
    if criteria.questionnaire:
        query = query.where(
            Request.questionnaire_version_id.in_(
                select(QuestionnaireVersion.id).where(
                    QuestionnaireVersion.key == criteria.questionnaire
                )
            )
        )
    if criteria.supplier:
        query = query.where(
            Request.supplier_id.in_(
                select(Supplier.id).where(
                    func.lower(Supplier.name).like(contains_pattern(criteria.supplier), escape="\\")
                )
            )
        )
    return query


# The request with what every supplier page reads beside it, in one query.
_AFRESH = (
    select(Request)
    .where(Request.id == bindparam("id"))
    .options(joinedload(Request.organisation), joinedload(Request.questionnaire_version))
    .with_for_update(of=Request)
    .execution_options(populate_existing=True)
)


_VERSION_NOW = (
    select(Request.__table__.c.lock_version)
    .where(Request.__table__.c.id == bindparam("id"))
    .with_for_update()
)


def lock(session: Session, request: Request) -> None:
    """Hold the request's row until commit, and read it afresh under the lock:
    one writer per request at a time on PostgreSQL (SQLite's BEGIN IMMEDIATE
    already serialises every writer). Reading it before taking the lock would
    keep a version another writer is about to replace.

    Its version number is read first: every change to the row changes it, so
    the rest is read again only when it moved (most of the time it has not,
    and a full read with the school and questionnaire was a tenth of an
    autosave)."""
    state = inspect(request)
    identity = state.identity  # known without loading the row
    if identity is None:
        raise ValueError("lock() takes a request read from the database")
    seen = None if "lock_version" in state.expired_attributes else request.lock_version
    version = rows_connection(session).scalar(_VERSION_NOW, {"id": identity[0]})
    if version != seen:
        session.scalar(_AFRESH, {"id": identity[0]})


def follow_ups(session: Session, request: Request) -> list[Request]:
    """Requests sent to follow up this one (a screening's extended due diligence)."""
    return list(
        session.scalars(
            select(Request)
            .where(
                Request.follows_request_id == request.id,
                Request.organisation_id == request.organisation_id,
            )
            .order_by(Request.id)
        )
    )
