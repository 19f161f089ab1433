"""A school asks the curator organisation (often its DPO service) for feedback
on one request, or on its standards tracker: it shares it, the curator reads
it and comments, and the school can withdraw the share at any time, after
which the curator sees nothing of it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ...models import FeedbackComment, FeedbackShare, Organisation, OrgKind, Request, User, utcnow
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.paging import Page, page_of
from ..requests import answering as responses
from . import raci, standards

MESSAGE_LIMIT = 2000
COMMENT_LIMIT = 4000


def curator_of_portal(session: Session) -> Organisation | None:
    """The curator organisation feedback goes to (the first, if there were several)."""
    return session.scalar(
        select(Organisation).where(Organisation.kind == OrgKind.CURATOR).order_by(Organisation.id)
    )


def active_share(
    session: Session, organisation: Organisation, request: Request | None
) -> FeedbackShare | None:
    """The organisation's live share of this request (or of its tracker)."""
    query = select(FeedbackShare).where(
        FeedbackShare.organisation_id == organisation.id, FeedbackShare.withdrawn_at.is_(None)
    )
    query = query.where(
        FeedbackShare.request_id == request.id
        if request is not None
        else FeedbackShare.request_id.is_(None)
    )
    return session.scalar(query.options(joinedload(FeedbackShare.comments)))


def latest_share(
    session: Session, organisation: Organisation, request: Request | None
) -> FeedbackShare | None:
    """The newest share of this request (or tracker), live or withdrawn: a
    school keeps the comments it was given after it withdraws."""
    query = select(FeedbackShare).where(FeedbackShare.organisation_id == organisation.id)
    query = query.where(
        FeedbackShare.request_id == request.id
        if request is not None
        else FeedbackShare.request_id.is_(None)
    )
    return (
        session.scalars(
            query.options(joinedload(FeedbackShare.comments))
            .order_by(FeedbackShare.id.desc())
            .limit(1)
        )
        .unique()
        .first()
    )


def share(
    session: Session,
    organisation: Organisation,
    actor: User,
    request: Request | None,
    message: str,
) -> FeedbackShare:
    if request is not None and request.organisation_id != organisation.id:
        raise ServiceError("That request is not this organisation's")  # views 404 first
    message = message.strip()
    if len(message) > MESSAGE_LIMIT:
        raise ServiceError(f"Keep the message to {MESSAGE_LIMIT:,} characters or fewer", "message")
    if active_share(session, organisation, request) is not None:
        raise ServiceError("This is already shared for feedback", "message")
    curator = curator_of_portal(session)
    if curator is None:
        raise ServiceError("No DPO service is set up on this portal to send it to", "message")
    found = FeedbackShare(
        organisation_id=organisation.id,
        curator_id=curator.id,
        request_id=request.id if request else None,
        message=message or None,
        shared_by_id=actor.id,
    )
    session.add(found)
    record_event(
        session, "feedback_shared", organisation=organisation, actor=actor, request=request,
        what="request" if request else "standards tracker", curator=curator.name,
    )  # fmt: skip
    session.flush()
    return found


def withdraw(
    session: Session, organisation: Organisation, actor: User, found: FeedbackShare
) -> None:
    if found.organisation_id != organisation.id or found.withdrawn_at is not None:
        raise ServiceError("This share has already been withdrawn")
    found.withdrawn_at = utcnow()
    record_event(
        session, "feedback_withdrawn", organisation=organisation, actor=actor,
        request=found.request, what="request" if found.request_id else "standards tracker",
    )  # fmt: skip
    session.flush()


def comment(session: Session, actor: User, found: FeedbackShare, body: str) -> FeedbackComment:
    text = body.strip()
    if not text:
        raise ServiceError("Enter your feedback", "body")
    if len(text) > COMMENT_LIMIT:
        raise ServiceError(f"Keep your feedback to {COMMENT_LIMIT:,} characters or fewer", "body")
    if found.withdrawn_at is not None:
        raise ServiceError("The school has withdrawn this share", "body")
    added = FeedbackComment(share_id=found.id, author_id=actor.id, body=text)
    session.add(added)
    record_event(
        session, "feedback_given", organisation=found.organisation, actor=actor,
        actor_label=f"{actor.name} ({found.curator.name})", request=found.request,
    )  # fmt: skip
    session.flush()
    return added


def open_shares(
    session: Session, curator: Organisation, number: int = 1
) -> Page[tuple[FeedbackShare, int]]:
    """What schools have shared with this curator and not withdrawn, newest
    first, a page at a time, each with how many comments it has (counted by
    the database, not loaded)."""
    comments = (
        select(func.count(FeedbackComment.id))
        .where(FeedbackComment.share_id == FeedbackShare.id)
        .correlate(FeedbackShare)
        .scalar_subquery()
    )
    query = (
        select(FeedbackShare, comments)
        .where(FeedbackShare.curator_id == curator.id, FeedbackShare.withdrawn_at.is_(None))
        .options(
            joinedload(FeedbackShare.organisation),
            joinedload(FeedbackShare.request).joinedload(Request.supplier),
        )
        .order_by(FeedbackShare.shared_at.desc(), FeedbackShare.id.desc())
    )
    found = page_of(session, query, number, scalars=False)
    return found.map([(share, count) for share, count in found.items])


@dataclass(frozen=True)
class SharedMaterial:
    """What the curator reads of a share: a request's answers, or the
    tracker's standards and the RACI tasks without a clear owner."""

    sheet: responses.AnswerSheet | None = None
    progress: standards.Progress | None = None
    gaps: tuple[raci.Task, ...] = ()


def shared_material(session: Session, found: FeedbackShare) -> SharedMaterial:
    if found.request is not None:
        # The curator reads the questionnaire's answers, never the school's own questions.
        sheet = responses.answer_sheet(session, found.request, shared_only=True)
        return SharedMaterial(sheet=sheet)
    school = found.organisation
    progress = standards.progress(session, school)
    tasks = raci.tasks(session, school, progress.questionnaire)
    return SharedMaterial(progress=progress, gaps=tuple(t for t in tasks if t.gaps))
