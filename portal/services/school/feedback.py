"""A school asks the curator organisation (often its DPO service) for feedback
on one request or on its standards tracker, or for its advice on a DPIA: it
shares it, the curator reads it and comments (or records its advice on the
DPIA), and the school can withdraw the share at any time, after which the
curator sees nothing of it. Each side is emailed (through the outbox) when
the other acts: the DPO service when something is shared with it, the school
when advice or a comment arrives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session, joinedload

from ...models import (
    Dpia,
    DpiaStatus,
    FeedbackComment,
    FeedbackShare,
    Organisation,
    OrgKind,
    Request,
    Role,
    User,
    utcnow,
)
from ...questionnaire import Questionnaire
from ...questionnaire.risk import Risk, residual_level, risks_of
from ..accounts.users import active_emails, person_or_admins
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.mail import queue_email
from ..platform.paging import PAGE_SIZE, Page, page_of
from ..platform.runtime import runtime
from ..requests import answering as responses
from . import dpia as dpias
from . import raci, risk_matrix, standards

MESSAGE_LIMIT = 2000
COMMENT_LIMIT = 4000


def curator_of_portal(session: Session) -> Organisation | None:
    """The curator organisation feedback goes to (the first, if there were several)."""
    return session.scalar(
        select(Organisation).where(Organisation.kind == OrgKind.CURATOR).order_by(Organisation.id)
    )


Shared = Request | Dpia | None  # a request, a DPIA, or (None) the standards tracker


def _of_target(target: Shared) -> ColumnElement[bool]:
    if isinstance(target, Request):
        return FeedbackShare.request_id == target.id
    if isinstance(target, Dpia):
        return FeedbackShare.dpia_id == target.id
    return and_(FeedbackShare.request_id.is_(None), FeedbackShare.dpia_id.is_(None))


def active_share(
    session: Session, organisation: Organisation, target: Shared
) -> FeedbackShare | None:
    """The organisation's live share of this request, DPIA (or its tracker)."""
    query = select(FeedbackShare).where(
        FeedbackShare.organisation_id == organisation.id,
        FeedbackShare.withdrawn_at.is_(None),
        _of_target(target),
    )
    return session.scalar(query.options(joinedload(FeedbackShare.comments)))


def latest_share(
    session: Session, organisation: Organisation, target: Shared
) -> FeedbackShare | None:
    """The newest share of this request, DPIA (or tracker), live or withdrawn:
    a school keeps the comments it was given after it withdraws."""
    query = select(FeedbackShare).where(
        FeedbackShare.organisation_id == organisation.id, _of_target(target)
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


def what_is_shared(found: FeedbackShare) -> str:
    """The share's subject in words, for events, emails and lists."""
    if found.dpia is not None:
        return f"the DPIA of {found.dpia.title}"
    if found.request is not None:
        return f"request {found.request.reference} ({found.request.supplier.name})"
    return "the standards tracker"


def share(
    session: Session,
    organisation: Organisation,
    actor: User,
    target: Shared,
    message: str,
) -> FeedbackShare:
    """Share a request or the standards tracker for feedback, or a DPIA
    waiting for the DPO's advice for that advice."""
    if target is not None and target.organisation_id != organisation.id:
        raise ServiceError("That is not this organisation's")  # views 404 first
    if isinstance(target, Dpia) and target.status != DpiaStatus.AWAITING_ADVICE:
        raise ServiceError(
            "Send the DPIA for the DPO's advice first: every question answered", "message"
        )
    message = message.strip()
    if len(message) > MESSAGE_LIMIT:
        raise ServiceError(f"Keep the message to {MESSAGE_LIMIT:,} characters or fewer", "message")
    if active_share(session, organisation, target) is not None:
        raise ServiceError(
            "This DPIA is already with the DPO service for advice"
            if isinstance(target, Dpia)
            else "This is already shared for feedback",
            "message",
        )
    curator = curator_of_portal(session)
    if curator is None:
        raise ServiceError("No DPO service is set up on this portal to send it to", "message")
    found = FeedbackShare(
        organisation_id=organisation.id,
        curator_id=curator.id,
        request_id=target.id if isinstance(target, Request) else None,
        dpia_id=target.id if isinstance(target, Dpia) else None,
        message=message or None,
        shared_by_id=actor.id,
    )
    session.add(found)
    session.flush()
    what = what_is_shared(found)
    record_event(
        session, "feedback_shared", organisation=organisation, actor=actor,
        request=target if isinstance(target, Request) else None,
        what=what, curator=curator.name, dpia=found.dpia_id,
    )  # fmt: skip
    links = runtime(session).links
    for address in active_emails(session, curator.id, (Role.CURATOR, Role.ADMIN)):
        queue_email(
            session, to=address,
            subject=f"{organisation.name} asks for your {'advice' if found.dpia else 'feedback'}",
            template="feedback_shared", organisation=organisation, share=found, what=what,
            link=links.url("feedback.shared", share_id=found.id),
        )  # fmt: skip
    return found


def withdraw(
    session: Session, organisation: Organisation, actor: User, found: FeedbackShare
) -> None:
    if found.organisation_id != organisation.id or found.withdrawn_at is not None:
        raise ServiceError("This share has already been withdrawn")
    found.withdrawn_at = utcnow()
    record_event(
        session, "feedback_withdrawn", organisation=organisation, actor=actor,
        request=found.request, what=what_is_shared(found),
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
    found.answered_at = found.answered_at or utcnow()
    record_event(
        session, "feedback_given", organisation=found.organisation, actor=actor,
        actor_label=f"{actor.name} ({found.curator.name})", request=found.request,
        what=what_is_shared(found),
    )  # fmt: skip
    session.flush()
    _tell_the_school(session, found, "commented on")
    return added


def give_advice(
    session: Session, actor: User, found: FeedbackShare, advice: dpias.Advice, ico: bool | None
) -> None:
    """The DPO service's advice on a shared DPIA, recorded by the DPO: the
    school's accountable person then decides, as when its staff record it."""
    if found.dpia is None or found.withdrawn_at is not None:
        raise ServiceError("The school has withdrawn this DPIA")  # views 404 first
    if ico is None:
        raise ServiceError(
            "Say whether the school should consult the ICO before the processing starts", "ico"
        )
    dpias.record_advice(session, found.dpia, actor, advice)
    found.dpia.dpo_advises_ico = ico
    found.answered_at = found.answered_at or utcnow()
    session.flush()
    _tell_the_school(session, found, "gave its advice on")


def _tell_the_school(session: Session, found: FeedbackShare, did: str) -> None:
    """Email whoever shared it (else the school's admins): the DPO service answered."""
    what = what_is_shared(found)
    if found.dpia is not None:
        link = runtime(session).links.url("dpia.show", dpia_id=found.dpia.id)
    elif found.request is not None:
        link = runtime(session).links.url("school.view_request", request_id=found.request.id)
    else:
        link = runtime(session).links.url("standards.overview")
    for address in person_or_admins(session, found.organisation_id, found.shared_by):
        queue_email(
            session, to=address, subject=f"{found.curator.name} {did} {what}",
            template="feedback_answered", organisation=found.organisation, share=found,
            what=what, did=did, link=link,
        )  # fmt: skip


def open_shares(
    session: Session,
    curator: Organisation,
    number: int = 1,
    *,
    answered: bool = False,
    size: int = PAGE_SIZE,
) -> Page[tuple[FeedbackShare, int]]:
    """The DPO service's caseload: what schools have shared with this curator
    and not withdrawn, a page at a time, each with how many comments it has
    (counted by the database, not loaded). Waiting for an answer: oldest
    first; ``answered``: the most recently answered first."""
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
            joinedload(FeedbackShare.dpia),
        )
    )
    if answered:
        query = query.where(FeedbackShare.answered_at.is_not(None)).order_by(
            FeedbackShare.answered_at.desc(), FeedbackShare.id.desc()
        )
    else:
        query = query.where(FeedbackShare.answered_at.is_(None)).order_by(
            FeedbackShare.shared_at, FeedbackShare.id
        )
    found = page_of(session, query, number, size, scalars=False)
    return found.map([(share, count) for share, count in found.items])


@dataclass(frozen=True)
class SharedMaterial:
    """What the curator reads of a share: a request's answers, or the
    tracker's standards and the RACI tasks without a clear owner."""

    sheet: responses.AnswerSheet | None = None
    progress: standards.Progress | None = None
    gaps: tuple[raci.Task, ...] = ()
    dpia: SharedDpia | None = None


@dataclass(frozen=True)
class SharedDpia:
    """A DPIA as the DPO reads it to advise: its answers and risk register."""

    questionnaire: Questionnaire
    answers: dict[str, Any]
    risks: list[Risk]
    residual: str | None


def shared_material(session: Session, found: FeedbackShare) -> SharedMaterial:
    if found.dpia is not None:
        values = dpias.answer_values(dpias.stored_answers(session, found.dpia))
        risks = risks_of(values, risk_matrix.matrix_for(found.dpia.organisation))
        return SharedMaterial(
            dpia=SharedDpia(
                dpias.questionnaire_of(found.dpia), values, risks, residual_level(risks)
            )
        )
    if found.request is not None:
        # The curator reads the questionnaire's answers, never the school's own questions.
        sheet = responses.answer_sheet(session, found.request, shared_only=True)
        return SharedMaterial(sheet=sheet)
    school = found.organisation
    progress = standards.progress(session, school)
    tasks = raci.tasks(session, school, progress.questionnaire)
    return SharedMaterial(progress=progress, gaps=tuple(t for t in tasks if t.gaps))
