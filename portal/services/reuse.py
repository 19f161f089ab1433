"""Answer once, reuse: a supplier may start from the answers it last submitted
for the same questionnaire, and confirms them section by section."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Answer, QuestionnaireVersion, Request, RequestStatus
from ..questionnaire import logic
from .audit import SUPPLIER_ACTOR, record_event
from .errors import ServiceError
from .requests import change_status
from .responses import ensure_editable, questionnaire_of

SUBMITTED = [
    RequestStatus.SUBMITTED,
    RequestStatus.RESUBMITTED,
    RequestStatus.ACCEPTED,
    RequestStatus.ACCEPTED_WITH_CONDITIONS,
]


def email_domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower()


def earlier_submission(session: Session, request: Request) -> Request | None:
    """The same supplier's latest submission of this questionnaire (any version).

    'The same supplier' is the same supplier record or the same email domain,
    so a colleague at the same company is recognised too.
    """
    if request.answers:
        return None  # only offered before any answer is given
    key = request.questionnaire_version.key
    return session.scalar(
        select(Request)
        .join(Request.questionnaire_version)
        .where(
            Request.id != request.id,
            QuestionnaireVersion.key == key,
            Request.status.in_([str(s) for s in SUBMITTED]),
            (Request.supplier_id == request.supplier_id)
            | (func.lower(Request.contact_email).like(f"%@{email_domain(request.contact_email)}")),
        )
        .order_by(Request.submitted_at.desc())
        .limit(1)
    )


def prefill_from(session: Session, request: Request, source: Request) -> int:
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
        # The source may be another school's request: record when, not which.
        submitted=source.submitted_at.date().isoformat() if source.submitted_at else None,
        answers=len(kept),
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
