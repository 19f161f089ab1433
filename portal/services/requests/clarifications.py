"""Clarification rounds: the school queries some answers, the supplier changes
only those (and what hangs on them) and resubmits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import Clarification, Request, RequestStatus, User, utcnow
from ...questionnaire import Questionnaire
from ...questionnaire.conditions import names
from ..errors import ServiceError
from ..platform.audit import record_event
from ..platform.mail import queue_email
from ..platform.questionnaire_registry import definition_for_request
from .lifecycle import change_status, issue_link

ASKABLE = frozenset({RequestStatus.SUBMITTED, RequestStatus.RESUBMITTED})


@dataclass(frozen=True)
class Round:
    number: int
    items: list[Clarification]


def current_round(session: Session, request: Request) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(Clarification.round), 0)).where(
                Clarification.request_id == request.id
            )
        )
        or 0
    )


def ask_clarification(
    session: Session, request: Request, actor: User, notes: Mapping[str, str]
) -> list[Clarification]:
    """Open a new round on the questions with a note, and email the supplier a link."""
    if request.status not in ASKABLE:
        raise ServiceError("You can ask for clarification once the supplier has submitted")
    questionnaire = definition_for_request(request)
    asked = {qid: note.strip() for qid, note in notes.items() if note and note.strip()}
    if not asked:
        raise ServiceError(
            "Write a note against at least one answer you want the supplier to clarify"
        )
    for qid in asked:
        try:
            questionnaire.question(qid)
        except KeyError as exc:
            raise ServiceError(f"There is no question {qid} in this questionnaire") from exc
    number = current_round(session, request) + 1
    items = [
        Clarification(
            request_id=request.id, question_id=qid, author_id=actor.id, round=number, text=note
        )
        for qid, note in asked.items()
    ]
    session.add_all(items)
    change_status(session, request, RequestStatus.CLARIFICATION, actor=actor)
    record_event(
        session,
        "clarification_requested",
        organisation=request.organisation,
        actor=actor,
        request=request,
        round=number,
        questions=sorted(asked),
    )
    # Only a hash of the first link is kept, so the email carries a new link.
    link = issue_link(session, request, actor)
    queue_email(
        session,
        to=request.contact_email,
        subject=f"{request.organisation.name} has questions about your answers ({request.reference})",
        template="clarification_request",
        organisation=request.organisation,
        request=request,
        link=link.url,
        items=[(questionnaire.question(c.question_id or ""), c.text) for c in items],
    )
    session.flush()
    return items


def open_items(session: Session, request: Request) -> list[Clarification]:
    """The clarifications of the round the supplier is answering now."""
    if request.status != RequestStatus.CLARIFICATION:
        return []
    number = current_round(session, request)
    return list(
        session.scalars(
            select(Clarification)
            .where(Clarification.request_id == request.id, Clarification.round == number)
            .order_by(Clarification.id)
        )
    )


def editable_questions(questionnaire: Questionnaire, flagged: set[str]) -> set[str]:
    """The flagged questions, what their conditions read, and what depends on them."""
    editable = set(flagged)
    changed = True
    while changed:
        changed = False
        for question in questionnaire.questions():
            reads = {
                ident
                for node in (
                    question.show_if_node,
                    question.required_if_node,
                    question.constraint_node,
                )
                if node is not None
                for ident in names(node)
            }
            if question.id in editable and not reads <= editable:
                editable |= reads - {"value"}
                changed = True
            if question.id not in editable and reads & editable:
                editable.add(question.id)
                changed = True
    return {qid for qid in editable if qid != "value"}


def resolve_round(session: Session, request: Request) -> None:
    """Close the open round when the supplier resubmits."""
    now = utcnow()
    for item in open_items(session, request):
        item.resolved_at = now


def rounds(session: Session, request: Request) -> list[Round]:
    """Every round, oldest first, for the request's history."""
    items = list(
        session.scalars(
            select(Clarification)
            .where(Clarification.request_id == request.id)
            .order_by(Clarification.round, Clarification.id)
        )
    )
    found: dict[int, list[Clarification]] = {}
    for item in items:
        found.setdefault(item.round, []).append(item)
    return [Round(number, group) for number, group in found.items()]
