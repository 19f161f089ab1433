"""Answer once, reuse: a supplier may start from answers it submitted before
for the same questionnaire, and confirms them section by section.

Answers are copied only to someone who can show they are the supplier's
(issue 20, finding 2). The asking school types the supplier's name and
contact, so a name or an email domain proves nothing:

- from the same organisation's earlier submission for the same supplier
  record, at once (the school holds those answers already);
- from another organisation's submission only if the supplier agreed, when
  submitting it, that it may start later questionnaires, and only once the
  person at the link types a one-time code emailed to the contact who
  submitted it (never to an address the asking school typed).

Nothing about the other organisation (its name, the answers) is shown before
the code is confirmed; the page names the address the code went to, masked.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    Answer,
    QuestionnaireVersion,
    Request,
    RequestStatus,
    ReuseCode,
    utcnow,
)
from ..questionnaire import logic
from .audit import SUPPLIER_ACTOR, record_event
from .errors import ServiceError
from .mail import queue_email
from .requests import change_status
from .responses import ensure_editable, questionnaire_of
from .tokens import hash_token

SUBMITTED = [
    RequestStatus.SUBMITTED,
    RequestStatus.RESUBMITTED,
    RequestStatus.ACCEPTED,
    RequestStatus.ACCEPTED_WITH_CONDITIONS,
]
CODE_MINUTES = 15
CODE_ATTEMPTS = 5
RESEND_SECONDS = 60


@dataclass(frozen=True)
class Offer:
    """What the start page may offer: answers to copy now (same organisation),
    or a code to send (another organisation's), with nothing more about it."""

    source: Request
    needs_code: bool


def email_domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower()


def mask_email(address: str) -> str:
    """j***@acme.example: enough to recognise one's own address, not to learn it."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def earlier_submission(session: Session, request: Request) -> Offer | None:
    """The earlier submission this request may start from, if any (only before
    any answer is given): the organisation's own first, else another's that
    the supplier agreed may be reused."""
    if request.answers:
        return None
    key = request.questionnaire_version.key
    base = (
        select(Request)
        .join(Request.questionnaire_version)
        .where(
            Request.id != request.id,
            QuestionnaireVersion.key == key,
            Request.status.in_([str(s) for s in SUBMITTED]),
        )
        .order_by(Request.submitted_at.desc())
        .limit(1)
    )
    own = session.scalar(
        base.where(
            Request.organisation_id == request.organisation_id,
            Request.supplier_id == request.supplier_id,
        )
    )
    if own is not None:
        return Offer(own, needs_code=False)
    domain = email_domain(request.contact_email)
    elsewhere = session.scalar(
        base.where(
            Request.organisation_id != request.organisation_id,
            Request.reuse_consent.is_(True),
            (Request.supplier_id == request.supplier_id)
            | (func.lower(Request.contact_email).like(f"%@{domain}")),
        )
    )
    return Offer(elsewhere, needs_code=True) if elsewhere is not None else None


def send_code(session: Session, request: Request) -> str:
    """Email a one-time code to the contact who submitted the other
    organisation's answers; returns that address, masked. A new code
    replaces any earlier one."""
    ensure_editable(request)
    offer = earlier_submission(session, request)
    if offer is None or not offer.needs_code:
        raise ServiceError("There are no earlier answers from another organisation to copy")
    now = utcnow()
    waiting = pending_code(session, request)
    if waiting is not None and waiting.created_at > now - timedelta(seconds=RESEND_SECONDS):
        # The contact's inbox is not ours to fill: one code a minute at most.
        raise ServiceError(
            f"A code was sent to {mask_email(waiting.source.contact_email)} less than a minute "
            "ago: check that inbox, or ask for a new code in a minute"
        )
    for earlier in session.scalars(
        select(ReuseCode).where(ReuseCode.request_id == request.id, ReuseCode.used_at.is_(None))
    ):
        earlier.used_at = now  # replaced
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(
        ReuseCode(
            request_id=request.id,
            source_request_id=offer.source.id,
            code_hash=hash_token(code),
            expires_at=now + timedelta(minutes=CODE_MINUTES),
        )
    )
    sent_to = offer.source.contact_email
    queue_email(
        session,
        to=sent_to,
        subject="Your code to reuse your earlier answers on the Due Diligence Portal",
        template="reuse_code",
        code=code,
        minutes=CODE_MINUTES,
        title=request.questionnaire_version.title,
    )
    record_event(
        session,
        "reuse_code_sent",
        organisation=request.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=request,
        sent_to=mask_email(sent_to),
    )
    session.flush()
    return mask_email(sent_to)


def pending_code(session: Session, request: Request) -> ReuseCode | None:
    return session.scalar(
        select(ReuseCode)
        .where(ReuseCode.request_id == request.id, ReuseCode.used_at.is_(None))
        .order_by(ReuseCode.id.desc())
        .limit(1)
    )


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
        session.flush()
        raise ServiceError(
            "This code has expired or been tried too many times. Ask for a new code.", "code"
        )
    typed = "".join(code.split())
    if not hmac.compare_digest(hash_token(typed), sent.code_hash):
        sent.attempts += 1
        session.flush()
        left = CODE_ATTEMPTS - sent.attempts
        raise ServiceError(
            "That code is not right. Enter the 6 digits from the email"
            + (f" ({left} tries left)" if left else "; ask for a new code"),
            "code",
        )
    sent.used_at = now
    source = sent.source
    copied = prefill_from(session, request, source, confirmed_by_code=True)
    # The organisation the answers came from sees that they were reused (and
    # when, and how many), not by whom.
    record_event(
        session,
        "answers_reused_elsewhere",
        organisation=source.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=source,
        answers=copied,
        code_confirmed=True,
    )
    session.flush()
    return copied


def prefill_from(
    session: Session, request: Request, source: Request, *, confirmed_by_code: bool = False
) -> int:
    """Copy the earlier answers that fit this questionnaire; each is marked as
    prefilled until the supplier saves its section. Files are not copied."""
    ensure_editable(request)
    if request.answers:
        raise ServiceError("Answers have already been given here, so earlier ones cannot be copied")
    questionnaire = questionnaire_of(request)
    known = {q.id: q for q in questionnaire.questions() if q.answerable and q.type != "file"}
    values = {a.question_id: a.value for a in source.answers if a.question_id in known}
    kept = logic.drop_hidden(questionnaire, values)
    comments = {a.question_id: a.comment for a in source.answers}
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
