"""A reviewer's work on a submitted request: overrides, the decision, the follow-up.

Every step is audited; an override never silently changes a finding (the
computed outcome stays beside it with the reviewer's reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ...models import DECIDABLE_STATUSES, FindingReview, Request, RequestStatus, User, utcnow
from ...questionnaire.compare import OUTCOME_LABELS, REVIEW_OUTCOMES, Comparison, Outcome
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.questionnaire_registry import (
    current_definitions,
    definition_for_request,
)
from ..requests import lifecycle as requests
from ..requests.lifecycle import STATUS_LABELS
from ..requirements import ratings

# The decisions in the order offered, with the status labels the pages show.
DECISIONS = {
    status: STATUS_LABELS[status]
    for status in (
        RequestStatus.ACCEPTED,
        RequestStatus.ACCEPTED_WITH_CONDITIONS,
        RequestStatus.REJECTED,
    )
}
DECIDABLE = DECIDABLE_STATUSES  # answers in (first time or after a clarification), or decided
# DfE standard: review IT support (and so its due diligence) at least once a year.
REVIEW_AFTER_MONTHS = 12


def default_review_date(today: date | None = None) -> date:
    day = today or utcnow().date()
    try:
        return day.replace(year=day.year + REVIEW_AFTER_MONTHS // 12)
    except ValueError:  # 29 February
        return day.replace(year=day.year + REVIEW_AFTER_MONTHS // 12, day=28)


def _ensure_reviewable(request: Request) -> None:
    if request.status not in DECIDABLE | {RequestStatus.CLARIFICATION}:
        raise ServiceError("You can review the answers once the supplier has submitted them")
    if request.status in DECISIONS:
        raise ServiceError(
            "This request has been decided: change the decision first to review it again"
        )


def set_review(
    session: Session,
    request: Request,
    actor: User,
    question_id: str,
    outcome: str,
    reason: str,
) -> Comparison:
    """Replace one finding's outcome with the reviewer's, with a reason."""
    _ensure_reviewable(request)
    current = ratings.comparison_for(session, request).finding(question_id)
    if current is None:
        raise ServiceError("That question has no requirement to review in this request")
    if outcome not in {o.value for o in REVIEW_OUTCOMES}:
        raise ServiceError("Choose what you judge the finding to be", "outcome")
    reason = reason.strip()
    if not reason:
        raise ServiceError(
            "Say why you judge it differently, for example the compensating control you accept",
            "reason",
        )
    row = ratings.reviews_for(session, request).get(question_id)
    if row is None:
        row = FindingReview(request_id=request.id, question_id=question_id)
        session.add(row)
    else:
        row.updated_at = utcnow()
    row.outcome, row.reason, row.author_id = outcome, reason, actor.id
    record_event(
        session,
        "finding_overridden",
        organisation=request.organisation,
        actor=actor,
        request=request,
        question=question_id,
        computed=current.computed.value,
        outcome=outcome,
        reason=reason,
    )
    session.flush()
    return ratings.refresh_rating(session, request)


def remove_review(session: Session, request: Request, actor: User, question_id: str) -> None:
    _ensure_reviewable(request)
    row = ratings.reviews_for(session, request).get(question_id)
    if row is None:
        return
    session.execute(delete(FindingReview).where(FindingReview.id == row.id))
    record_event(
        session,
        "finding_override_removed",
        organisation=request.organisation,
        actor=actor,
        request=request,
        question=question_id,
        outcome=row.outcome,
    )
    session.flush()
    ratings.refresh_rating(session, request)


@dataclass(frozen=True)
class Decision:
    outcome: str
    reason: str
    conditions: list[str]
    next_review: date | None


def decide(session: Session, request: Request, actor: User, decision: Decision) -> None:
    """Accept, accept with conditions, or reject; freezes the rules it was judged by."""
    if request.status not in DECIDABLE:
        if request.status == RequestStatus.CLARIFICATION:
            raise ServiceError(
                "The supplier is answering your clarification questions: decide once they resubmit"
            )
        raise ServiceError("You can decide once the supplier has submitted their answers")
    try:
        outcome = RequestStatus(decision.outcome)
    except ValueError:
        outcome = None
    if outcome not in DECISIONS:
        raise ServiceError("Choose accept, accept with conditions or reject", "outcome")
    reason = decision.reason.strip()
    if not reason:
        raise ServiceError("Give the reason for your decision", "reason")
    conditions = [c.strip() for c in decision.conditions if c.strip()]
    if outcome == RequestStatus.ACCEPTED_WITH_CONDITIONS and not conditions:
        raise ServiceError("List the conditions, one per line", "conditions")
    if outcome != RequestStatus.ACCEPTED_WITH_CONDITIONS:
        conditions = []
    today = utcnow().date()
    next_review = decision.next_review
    if next_review is None and outcome != RequestStatus.REJECTED:
        next_review = default_review_date(today)
    if next_review is not None and next_review <= today:
        raise ServiceError("The next review date must be in the future", "next_review")
    if request.decided_rules is None:
        request.decided_rules = ratings.freeze_rules(ratings.rules_for(session, request))
    request.decision_reason = reason
    request.decision_conditions = conditions
    request.next_review_date = next_review
    request.decided_at = utcnow()
    request.decided_by_id = actor.id
    changed_from = request.status
    requests.change_status(session, request, outcome, actor=actor)
    record_event(
        session,
        "decision_recorded",
        organisation=request.organisation,
        actor=actor,
        request=request,
        decision=outcome.value,
        reason=reason,
        conditions=conditions,
        next_review=next_review.isoformat() if next_review else None,
        changed=changed_from in DECISIONS,
    )
    ratings.refresh_rating(session, request)


def reopen(session: Session, request: Request, actor: User) -> None:
    """Take back a decision to review the request again against today's profile."""
    if request.status not in DECISIONS:
        raise ServiceError("Only a decided request can be reopened")
    request.decided_rules = None
    requests.change_status(session, request, RequestStatus.RESUBMITTED, actor=actor)
    record_event(
        session,
        "decision_reopened",
        organisation=request.organisation,
        actor=actor,
        request=request,
    )
    ratings.refresh_rating(session, request)


def follow_up_choices(session: Session, request: Request) -> list[tuple[str, str]]:
    """The questionnaires a screening can lead to: every supplier one but screening."""
    found = [
        q
        for q in current_definitions(session)
        if q.triage is None
        and not q.answered_by_staff
        and q.key != request.questionnaire_version.key
    ]
    # A screened tool is most often a cloud or edtech product: offer that first.
    found.sort(key=lambda q: (q.audience != "cloud", q.title))
    return [(q.key, q.title) for q in found]


def create_follow_up(
    session: Session,
    request: Request,
    actor: User,
    questionnaire_key: str,
    due_date: date | None,
) -> requests.IssuedLink:
    """Send the extended due-diligence questionnaire to the same supplier and contact."""
    questionnaire = definition_for_request(request)
    triage = ratings.comparison_for(session, request).triage
    if triage is None:
        raise ServiceError("Only a screening can be followed up this way")
    if request.status not in DECIDABLE:
        raise ServiceError("Follow up once the supplier has submitted the screening")
    if triage.risk == "low":
        raise ServiceError("A low-risk screening needs no extended due diligence")
    if questionnaire_key not in {key for key, _ in follow_up_choices(session, request)}:
        raise ServiceError("Choose the questionnaire to send", "questionnaire")
    issued = requests.create_request(
        session,
        request.organisation,
        actor,
        requests.NewRequest(
            supplier_name=request.supplier.name,
            contact_name=request.contact_name,
            contact_email=request.contact_email,
            questionnaire_key=questionnaire_key,
            due_date=due_date if due_date is not None else utcnow().date() + timedelta(days=30),
            message=(
                f"Thank you for completing our screening ({request.reference}). "
                f"It found a {triage.risk} risk, so we need more detail: "
                f"{triage.next_step}"
            ),
        ),
    )
    issued.request.follows_request_id = request.id
    record_event(
        session,
        "follow_up_sent",
        organisation=request.organisation,
        actor=actor,
        request=request,
        follow_up=issued.request.reference,
        questionnaire=questionnaire_key,
        risk=triage.risk,
        screening=questionnaire.key,
    )
    session.flush()
    return issued


def outcome_label(outcome: Outcome | str) -> str:
    return OUTCOME_LABELS[Outcome(outcome)]
