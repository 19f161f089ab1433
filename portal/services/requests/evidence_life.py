"""The evidence of a submitted request whose expiry the school follows
(issue 26).

When answers are submitted, resubmitted or renewed, :func:`track` works out
each piece of evidence a question says how to date (questionnaire/expiry.py)
and keeps it in ``tracked_evidence``: the school's evidence pages, the
register, the renewal asks and the API then read dates, not answers and
files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Request, TrackedEvidence, User, utcnow
from ...questionnaire import Question, logic
from ...questionnaire.expiry import EXPIRING_DAYS, Status, expiry_of, status_of
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.questionnaire_registry import definition_for_request
from .evidence import attached


@dataclass(frozen=True)
class Tracked:
    """A piece of tracked evidence as pages show it."""

    row: TrackedEvidence
    question: Question
    status: Status

    @property
    def expires_on(self) -> date | None:
        return self.row.expires_on


def track(session: Session, request: Request) -> list[TrackedEvidence]:
    """Work the request's tracked evidence out afresh from its answers and
    files. A question asked, with files or (its expiry being an answer) with
    that answer, is tracked; one no longer asked, or left without either,
    is not. The renewal asks already sent for an expiry stay with it."""
    questionnaire = definition_for_request(request)
    # The answers the school sees: copied ones the supplier never confirmed are not.
    answers = {a.question_id: a.value for a in request.answers if not a.prefilled}
    shown = logic.visibility(questionnaire, answers)
    files = attached(session, request)
    existing = {
        row.question_id: row
        for row in session.scalars(
            select(TrackedEvidence).where(TrackedEvidence.request_id == request.id)
        )
    }
    kept: list[TrackedEvidence] = []
    for question in questionnaire.questions():
        life = question.life if question.takes_files else None
        if life is None or not shown.get(question.id, False):
            continue
        mine = files.get(question.id, [])
        if life.source == "answer":
            if not mine and life.answer_id not in answers:
                continue
            expires = expiry_of(life, answers, None, None)
        else:
            if not mine:
                continue
            dates = [expiry_of(life, answers, f.issued_on, f.expires_on) for f in mine]
            known = [d for d in dates if d is not None]
            # The first to run out is the one the school must watch.
            expires = min(known) if known else None
        row = existing.pop(question.id, None)
        if row is None:
            row = TrackedEvidence(request_id=request.id, question_id=question.id)
            session.add(row)
        row.kind = life.kind
        if row.expires_on != expires:
            row.expires_on = expires
            row.updated_at = utcnow()
        if expires is not None:
            row.accepted_reason = None  # dated now: nothing left to accept
            row.accepted_by_id = None
        kept.append(row)
    for gone in existing.values():
        session.delete(gone)
    session.flush()
    return kept


def tracked(session: Session, request: Request, today: date) -> list[Tracked]:
    """The request's tracked evidence with where each stands today, in the
    questionnaire's order."""
    questionnaire = definition_for_request(request)
    rows = {
        row.question_id: row
        for row in session.scalars(
            select(TrackedEvidence).where(TrackedEvidence.request_id == request.id)
        )
    }
    return [
        Tracked(rows[q.id], q, status_of(rows[q.id].expires_on, today))
        for q in questionnaire.questions()
        if q.id in rows
    ]


def accept_without_dates(
    session: Session, request: Request, question_id: str, actor: User, reason: str
) -> TrackedEvidence:
    """A school accepts evidence whose dates the supplier will not give, saying why."""
    reason = " ".join(reason.split())
    if not reason:
        raise ServiceError("Say why you accept this evidence without an expiry date", "reason")
    row = session.scalar(
        select(TrackedEvidence).where(
            TrackedEvidence.request_id == request.id, TrackedEvidence.question_id == question_id
        )
    )
    if row is None:
        raise ServiceError("There is no such evidence on this request")
    if row.expires_on is not None:
        raise ServiceError("This evidence has an expiry date: there is nothing to accept")
    row.accepted_reason = reason[:2000]
    row.accepted_by_id = actor.id
    record_event(
        session,
        "evidence_accepted_without_dates",
        organisation=request.organisation,
        actor=actor,
        request=request,
        question=question_id,
        reason=row.accepted_reason,
    )
    session.flush()
    return row


__all__ = ["EXPIRING_DAYS", "Tracked", "accept_without_dates", "track", "tracked"]
