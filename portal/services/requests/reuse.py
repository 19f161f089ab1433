"""Answer once, reuse: a supplier may start from answers it submitted before
for the same questionnaire, and confirms them section by section.

Answers are copied only to someone who can show they are the supplier's
(issue 20, finding 2). The asking school types the supplier's name and
contact, so neither a name, nor an email domain, nor the contact address of
the asking request proves anything:

- from the same organisation's earlier submission for the same supplier
  record, at once (the school holds those answers already);
- from another organisation's submission only if the supplier agreed, when
  submitting it, that it may start later questionnaires, and only once the
  person at the link types a one-time code emailed to the contact who
  submitted it (the address that request was sent to and submitted from,
  never one the asking school typed).

The person at the link types the address their earlier answers were
submitted from. The page answers the same whether or not another
organisation holds reusable answers from that address: a code is made,
counted and audited either way, and the search for a matching submission and
the email happen after the response (deliver_code), so neither the reply nor
its timing tells a school that opens its own link anything of another
school's supplier: not the school, not the answers, not whether there are any.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, object_session

from ...models import Answer, QuestionnaireVersion, Request, RequestStatus, ReuseCode, utcnow
from ...questionnaire import logic
from ...questionnaire.definition import OWN_PREFIX, Question
from ...questionnaire.mappings import (
    MappingError,
    Meaning,
    load_meanings,
    related_keys,
    translation,
)
from ..errors import ServiceError
from ..platform.audit import SUPPLIER_ACTOR, record_event
from ..platform.mail import queue_email
from ..platform.runtime import runtime
from ..platform.tokens import hash_token
from .answering import ensure_editable, questionnaire_of
from .lifecycle import change_status

log = logging.getLogger(__name__)

SUBMITTED = [
    RequestStatus.SUBMITTED,
    RequestStatus.RESUBMITTED,
    RequestStatus.ACCEPTED,
    RequestStatus.ACCEPTED_WITH_CONDITIONS,
]
CODE_MINUTES = 15
CODE_ATTEMPTS = 5
RESEND_SECONDS = 60
# A 6-digit code with 5 tries is a 1 in 200,000 guess; these caps keep the
# guesses (and the emails) a link can cause to a handful a day.
CODES_PER_REQUEST_PER_DAY = 5
CODES_PER_SOURCE_PER_DAY = 10


def mask_email(address: str) -> str:
    """j***@acme.example: enough to recognise one's own address, not to learn it."""
    local, _, domain = address.strip().partition("@")
    return f"{local[:1].lower()}***@{domain.lower()}"


def _submitted_for(request: Request) -> Select[Request]:
    """Submissions of this questionnaire, or of one sharing questions' meanings
    with it (questionnaires/mappings/same_meaning.toml); this one's first."""
    key = request.questionnaire_version.key
    keys = related_keys(_meanings(request), key)
    return (
        select(Request)
        .join(Request.questionnaire_version)
        .where(
            Request.id != request.id,
            QuestionnaireVersion.key.in_(sorted(keys)),
            Request.status.in_([str(s) for s in SUBMITTED]),
        )
        .order_by(case((QuestionnaireVersion.key == key, 0), else_=1))
    )


def _meanings(request: Request) -> list[Meaning]:
    session = object_session(request)
    if session is None:
        return []
    try:
        return load_meanings(runtime(session).questionnaires.folder / "mappings")
    except MappingError as exc:  # questionnaires check names it; the page goes on
        log.warning("same_meaning.toml not used: %s", "; ".join(exc.problems))
        return []


def earlier_submission(session: Session, request: Request) -> Request | None:
    """The same organisation's latest submission from the same supplier record
    for this questionnaire, which this request may start from at once (only
    before any answer is given). Another organisation's answers are never
    offered here: see send_code."""
    if request.answers:
        return None
    return session.scalar(
        _submitted_for(request)
        .where(
            Request.organisation_id == request.organisation_id,
            Request.supplier_id == request.supplier_id,
        )
        .order_by(Request.submitted_at.desc())
        .limit(1)
    )


def may_reuse_elsewhere(request: Request) -> bool:
    """Offered to every request without answers alike: whether another
    organisation holds reusable answers is not for the page to say."""
    return not request.answers and not questionnaire_of(request).answered_by_staff


def _reusable_elsewhere(session: Session, request: Request, address: str) -> Request | None:
    """Another organisation's latest submission of this questionnaire that its
    supplier agreed may be reused and that was submitted from ``address``
    (the same supplier record first)."""
    return session.scalar(
        _submitted_for(request)
        .where(
            Request.organisation_id != request.organisation_id,
            Request.reuse_consent.is_(True),
            func.lower(Request.contact_email) == address.strip().lower(),
        )
        .order_by(
            case((Request.supplier_id == request.supplier_id, 0), else_=1),
            Request.submitted_at.desc(),
        )
        .limit(1)
    )


def pending_code(session: Session, request: Request) -> ReuseCode | None:
    return session.scalar(
        select(ReuseCode)
        .where(ReuseCode.request_id == request.id, ReuseCode.used_at.is_(None))
        .order_by(ReuseCode.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class CodeAsked:
    """A code made for an address typed at a link, still to be sent (or not):
    deliver_code does that after the response, so neither what the link is
    told nor how long the answer takes depends on whether anything matched.
    Holds the code in clear: keep it in memory only, never log it."""

    code_id: int
    address: str
    code: str = field(repr=False)
    masked: str = ""


def send_code(session: Session, request: Request, address: str) -> CodeAsked:
    """Make a one-time code for ``address`` at this link: the same work,
    stored rows and audit whatever the address. deliver_code, after the
    response, sends it there only if another organisation's submission of
    this questionnaire came from it and may be reused. A new code replaces
    any earlier one."""
    ensure_editable(request)
    if not may_reuse_elsewhere(request):
        raise ServiceError(
            "Answers have already been given here, so earlier ones cannot be copied", "email"
        )
    now = utcnow()
    masked = mask_email(address)
    waiting = pending_code(session, request)
    if waiting is not None and waiting.created_at > now - timedelta(seconds=RESEND_SECONDS):
        # Nobody's inbox is ours to fill: one code a minute at most.
        raise ServiceError(
            "You asked for a code less than a minute ago: check that inbox, "
            "or ask for a new code in a minute",
            "email",
        )
    asked_today = session.scalar(
        select(func.count(ReuseCode.id)).where(
            ReuseCode.request_id == request.id, ReuseCode.created_at > now - timedelta(days=1)
        )
    )
    if (asked_today or 0) >= CODES_PER_REQUEST_PER_DAY:
        raise ServiceError(
            f"You have asked for {CODES_PER_REQUEST_PER_DAY} codes in the last 24 hours. "
            "Start without your earlier answers, or try again tomorrow",
            "email",
        )
    for earlier in session.scalars(
        select(ReuseCode).where(ReuseCode.request_id == request.id, ReuseCode.used_at.is_(None))
    ):
        earlier.used_at = now  # replaced
    code = f"{secrets.randbelow(1_000_000):06d}"
    made = ReuseCode(
        request_id=request.id,
        sent_to=masked,
        code_hash=hash_token(code),
        expires_at=now + timedelta(minutes=CODE_MINUTES),
    )
    session.add(made)
    record_event(
        session,
        "reuse_code_requested",
        organisation=request.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=request,
        sent_to=masked,
    )
    session.flush()
    return CodeAsked(made.id, address, code, masked)


def deliver_code(session: Session, asked: CodeAsked) -> None:
    """After the response: tie the code to another organisation's reusable
    submission from the address typed, if there is one, and email it to the
    address stored on that submission; else it stays tied to nothing, and no
    code typed at the link will be right."""
    made = session.get(ReuseCode, asked.code_id)
    if made is None or made.used_at is not None:
        return  # replaced or used meanwhile
    request = session.get(Request, made.request_id)
    if request is None:
        return
    source = _reusable_elsewhere(session, request, asked.address)
    if source is None:
        return
    sent_for_source = session.scalar(
        select(func.count(ReuseCode.id)).where(
            ReuseCode.source_request_id == source.id,
            ReuseCode.created_at > utcnow() - timedelta(days=1),
        )
    )
    if (sent_for_source or 0) >= CODES_PER_SOURCE_PER_DAY:
        # Asked from many links: the submitting contact's inbox and the
        # code's odds are protected; the links see no difference.
        record_event(
            session,
            "reuse_code_withheld",
            organisation=source.organisation,
            actor_label=SUPPLIER_ACTOR,
            request=source,
            sent_to=asked.masked,
        )
        return
    made.source_request_id = source.id
    # To the address stored on the submission itself, not the one typed.
    queue_email(
        session,
        to=source.contact_email,
        subject="Your code to reuse your earlier answers on the Due Diligence Portal",
        template="reuse_code",
        code=asked.code,
        minutes=CODE_MINUTES,
        title=request.questionnaire_version.title,
    )
    # The organisation whose submission it is sees that a code was sent for
    # it (not who asked).
    record_event(
        session,
        "reuse_code_sent",
        organisation=source.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=source,
        sent_to=asked.masked,
    )
    session.flush()


def copy_with_code(session: Session, request: Request, code: str) -> int:
    """Check the code and copy the other organisation's answers; each wrong
    code counts, and a code works once, for CODE_MINUTES."""
    ensure_editable(request)
    sent = pending_code(session, request)
    now = utcnow()
    if sent is None:
        raise ServiceError("Ask for a code first: none is waiting for this questionnaire", "code")
    if sent.expires_at <= now or sent.attempts >= CODE_ATTEMPTS:
        sent.used_at = now
        _refused(session, request, "expired" if sent.expires_at <= now else "too many tries")
        raise ServiceError(
            "This code has expired or been tried too many times. Ask for a new code.", "code"
        )
    typed = "".join(code.split())
    right = hmac.compare_digest(hash_token(typed), sent.code_hash)
    source = sent.source
    # A code made for an address that matched nothing was sent nowhere: no
    # code typed is right for it, exactly as a wrong code for a real one.
    if not right or source is None:
        sent.attempts += 1
        _refused(session, request, "wrong code")
        left = CODE_ATTEMPTS - sent.attempts
        raise ServiceError(
            "That code is not right. Enter the 6 digits from the email"
            + (f" ({left} tries left)" if left else "; ask for a new code"),
            "code",
        )
    sent.used_at = now
    if (
        not source.reuse_consent
        or source.status not in SUBMITTED
        or source.organisation_id == request.organisation_id
    ):
        _refused(session, request, "source no longer reusable")
        raise ServiceError("Those earlier answers can no longer be copied", "code")
    copied = prefill_from(session, request, source, confirmed_by_code=True)
    # The organisation the answers came from sees that they were reused (and
    # when, how many and that the code was confirmed), not by whom.
    record_event(
        session,
        "answers_reused_elsewhere",
        organisation=source.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=source,
        answers=copied,
        code_confirmed=True,
        sent_to=sent.sent_to,
    )
    session.flush()
    return copied


def _carried(
    request: Request, source: Request, known: dict[str, Question]
) -> tuple[dict[str, Any], dict[str, str | None]]:
    """The source's answers as this questionnaire's: the same question ids
    for the same questionnaire; for another, only the questions declared to
    mean the same, and only an answer that fits (one of its choices)."""
    source_key = source.questionnaire_version.key
    target_key = request.questionnaire_version.key
    if source_key == target_key:
        ids = {qid: qid for qid in known}
    else:
        ids = translation(_meanings(request), source_key, target_key)
    values: dict[str, Any] = {}
    comments: dict[str, str | None] = {}
    for answer in source.answers:
        target = ids.get(answer.question_id)
        if target is None or target not in known:
            continue
        question = known[target]
        allowed = {c.value for c in question.choices}
        given = answer.value if isinstance(answer.value, list) else [answer.value]
        if allowed and not all(isinstance(v, str) and v in allowed for v in given):
            continue
        values[target] = answer.value
        comments[target] = answer.comment
    return values, comments


def _refused(session: Session, request: Request, reason: str) -> None:
    record_event(
        session,
        "reuse_code_refused",
        organisation=request.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=request,
        reason=reason,
    )
    session.flush()


def prefill_from(
    session: Session, request: Request, source: Request, *, confirmed_by_code: bool = False
) -> int:
    """Copy the earlier answers that fit this questionnaire; each is marked as
    prefilled until the supplier saves its section. Files are not copied."""
    ensure_editable(request)
    if request.answers:
        raise ServiceError("Answers have already been given here, so earlier ones cannot be copied")
    if source.organisation_id != request.organisation_id and not confirmed_by_code:
        # Only copy_with_code may cross organisations.
        raise ServiceError("Those earlier answers can no longer be copied")
    questionnaire = questionnaire_of(request)
    # The questionnaire's own questions only: another school's own questions
    # (and an earlier version of this one's) are not the same questions,
    # whatever their ids.
    known = {
        q.id: q
        for q in questionnaire.questions()
        if q.answerable and q.type != "file" and not q.id.startswith(OWN_PREFIX)
    }
    values, comments = _carried(request, source, known)
    kept = logic.drop_hidden(questionnaire, values)
    for qid, value in kept.items():
        request.answers.append(
            Answer(question_id=qid, value=value, comment=comments.get(qid), prefilled=True)
        )
    record_event(
        session,
        "answers_reused",
        organisation=request.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=request,
        # From another organisation: when, not which.
        source=source.reference if not confirmed_by_code else "another organisation",
        submitted=source.submitted_at.date().isoformat() if source.submitted_at else None,
        answers=len(kept),
        code_confirmed=confirmed_by_code,
    )
    change_status(
        session,
        request,
        RequestStatus.IN_PROGRESS,
        actor_label=SUPPLIER_ACTOR,
        only_from={RequestStatus.SENT},
    )
    session.flush()
    return len(kept)
