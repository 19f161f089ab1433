"""A request's answers compared with its school's requirements, and the rating kept on it.

The comparison itself is the engine's pure function; this module gathers its
inputs (the profile that applies, which questions have files, the reviewer's
overrides) and keeps ``Request.rating`` and ``Request.score`` current so lists
and the dashboard can show them without comparing every request.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import (
    UNDECIDED_STATUSES,
    Evidence,
    FindingReview,
    Organisation,
    QuestionnaireVersion,
    Request,
    User,
)
from ...questionnaire.compare import Comparison, Outcome, Review, compare
from ...questionnaire.definition import Requirement
from ..platform.questionnaire_registry import definition_for
from .profiles import requirements_for


def rules_for(session: Session, request: Request) -> dict[str, Requirement]:
    """The rules a request is judged by: as frozen at its decision, or today's profile."""
    if request.decided_rules is not None:
        return {qid: _thaw(raw) for qid, raw in request.decided_rules.items()}
    return requirements_for(
        session, request.organisation, definition_for(request.questionnaire_version)
    )


def freeze_rules(rules: dict[str, Requirement]) -> dict[str, Any]:
    return {
        qid: {
            "operator": r.operator,
            "value": list(r.value) if isinstance(r.value, tuple) else r.value,
            "severity": r.severity,
            "rationale": r.rationale,
            "maps_to": list(r.maps_to),
            "subject": r.subject,
            "off": r.off,
            "note": r.note,
            "source": r.source,
        }
        for qid, r in rules.items()
    }


def _thaw(raw: dict[str, Any]) -> Requirement:
    value = raw.get("value")
    return Requirement(
        operator=raw["operator"],
        value=tuple(value) if isinstance(value, list) else value,
        severity=raw["severity"],
        rationale=raw.get("rationale", ""),
        maps_to=tuple(raw.get("maps_to", ())),
        subject=raw.get("subject", ""),
        off=bool(raw.get("off", False)),
        note=raw.get("note", ""),
        source=raw.get("source", "baseline"),
    )


def reviews_for(session: Session, request: Request) -> dict[str, FindingReview]:
    return {
        row.question_id: row
        for row in session.scalars(
            select(FindingReview).where(FindingReview.request_id == request.id)
        )
    }


def _files_by_question(session: Session, request: Request) -> Collection[str]:
    return set(
        session.scalars(select(Evidence.question_id).where(Evidence.request_id == request.id))
    )


def _author(user: User | None) -> str:
    return user.name if user is not None else "a former user"


def comparison_for(session: Session, request: Request, today: date | None = None) -> Comparison:
    """The request's findings, score, rating and (for screening) triage."""
    questionnaire = definition_for(request.questionnaire_version)
    reviews = {
        qid: Review(
            Outcome(row.outcome),
            row.reason,
            by=_author(row.author),
            on=(row.updated_at or row.created_at).date(),
        )
        for qid, row in reviews_for(session, request).items()
    }
    return compare(
        questionnaire,
        # Copied in and not yet saved by the supplier: not the school's to judge.
        {a.question_id: a.value for a in request.answers if not a.prefilled},
        rules_for(session, request),
        evidence=_files_by_question(session, request),
        reviews=reviews,
        today=today,
        submitted=request.submitted_at is not None,
    )


def comparison_for_school(
    session: Session, request: Request, organisation: Organisation, today: date | None = None
) -> Comparison:
    """A request's answers against another organisation's own requirements
    (a school a trust asked on behalf of); the trust's own judgements of
    findings are the trust's, so they are not carried over."""
    questionnaire = definition_for(request.questionnaire_version)
    return compare(
        questionnaire,
        # Copied in and not yet saved by the supplier: not the school's to judge.
        {a.question_id: a.value for a in request.answers if not a.prefilled},
        requirements_for(session, organisation, questionnaire),
        evidence=_files_by_question(session, request),
        today=today,
        submitted=request.submitted_at is not None,
    )


def refresh_rating(session: Session, request: Request) -> Comparison:
    result = comparison_for(session, request)
    request.rating, request.score = result.rating, result.score
    session.flush()
    return result


def rerate_requests(session: Session, organisation_ids: list[int], key: str) -> int:
    """Re-rate the undecided requests of these organisations for one questionnaire."""
    rows = session.scalars(
        select(Request)
        .join(QuestionnaireVersion)
        .where(
            Request.organisation_id.in_(organisation_ids),
            QuestionnaireVersion.key == key,
            Request.status.in_(UNDECIDED_STATUSES),
        )
    )
    count = 0
    for row in rows:
        refresh_rating(session, row)
        count += 1
    return count
