"""A request's answers compared with its school's requirements, and the rating kept on it.

The comparison itself is the engine's pure function; this module gathers its
inputs (the profile that applies, which questions have files, the reviewer's
overrides) and keeps ``Request.rating`` and ``Request.score`` current so lists
and the dashboard can show them without comparing every request.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ...models import (
    ANSWERED_STATUSES,
    UNDECIDED_STATUSES,
    Adoption,
    Answer,
    DirectoryEntry,
    Evidence,
    FindingReview,
    Organisation,
    QuestionnaireVersion,
    Request,
    RequestOnBehalf,
    TrackedEvidence,
    User,
    utcnow,
)
from ...models.directory import evidence_dates
from ...questionnaire.compare import Comparison, Outcome, Review, compare
from ...questionnaire.definition import Requirement
from ...questionnaire.expiry import status_of
from ..platform.questionnaire_registry import definition_for, definition_for_request
from .profiles import requirements_for


def rules_for(session: Session, request: Request) -> dict[str, Requirement]:
    """The rules a request is judged by: as frozen at its decision, or today's profile."""
    return _rules(session, request, request.decided_rules)


def _rules(
    session: Session, request: Request, frozen: dict[str, Any] | None
) -> dict[str, Requirement]:
    if frozen is not None:
        return {qid: _thaw(raw) for qid, raw in frozen.items()}
    return requirements_for(session, request.organisation, definition_for_request(request))


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
    return comparisons_for(session, [request], today)[0]


def comparisons_for(
    session: Session, requests: Sequence[Request], today: date | None = None
) -> list[Comparison]:
    """Several requests' comparisons (side by side, or re-rated together):
    their answers, files and reviews read in one statement each, and each
    organisation's profile for a questionnaire resolved once."""
    ids = [r.id for r in requests]
    answers: dict[int, dict[str, Any]] = {i: {} for i in ids}
    for request_id, question_id, value in session.execute(
        # Copied in and not yet saved by the supplier: not the school's to judge.
        select(Answer.request_id, Answer.question_id, Answer.value).where(
            Answer.request_id.in_(ids), Answer.prefilled.is_(False)
        )
    ):
        answers[request_id][question_id] = value
    files: dict[int, set[str]] = {i: set() for i in ids}
    for request_id, question_id in session.execute(
        select(Evidence.request_id, Evidence.question_id).where(Evidence.request_id.in_(ids))
    ):
        files[request_id].add(question_id)
    expired = expired_evidence(session, ids, today or utcnow().date())
    reviews: dict[int, dict[str, Review]] = {i: {} for i in ids}
    for row in session.scalars(
        select(FindingReview)
        .where(FindingReview.request_id.in_(ids))
        .options(joinedload(FindingReview.author))
    ):
        reviews[row.request_id][row.question_id] = Review(
            Outcome(row.outcome),
            row.reason,
            by=_author(row.author),
            on=(row.updated_at or row.created_at).date(),
        )
    # The rules frozen at a decision, read for all the requests at once (a
    # deferred column: loading it row by row would be a statement each).
    frozen: dict[int, dict[str, Any] | None] = {
        request_id: rules
        for request_id, rules in session.execute(
            select(Request.id, Request.decided_rules).where(Request.id.in_(ids))
        )
    }
    profiles: dict[tuple[int, int, int | None], dict[str, Requirement]] = {}
    found = []
    for request in requests:
        questionnaire = definition_for_request(request)
        if frozen.get(request.id) is not None:
            rules = _rules(session, request, frozen[request.id])
        else:
            key = (request.organisation_id, request.questionnaire_version_id, request.supplement_id)
            if key not in profiles:
                profiles[key] = _rules(session, request, None)
            rules = profiles[key]
        found.append(
            compare(
                questionnaire,
                answers[request.id],
                rules,
                evidence=files[request.id],
                reviews=reviews[request.id],
                today=today,
                submitted=request.submitted_at is not None,
                expired=expired.get(request.id),
            )
        )
    return found


def expired_evidence(
    session: Session, request_ids: Sequence[int], today: date
) -> dict[int, dict[str, date]]:
    """Per request, the questions whose tracked evidence has run out by
    ``today``, with the day (issue 26): one statement for all of them."""
    found: dict[int, dict[str, date]] = {}
    for request_id, question_id, day in session.execute(
        select(
            TrackedEvidence.request_id, TrackedEvidence.question_id, TrackedEvidence.expires_on
        ).where(TrackedEvidence.request_id.in_(request_ids), TrackedEvidence.expires_on <= today)
    ):
        if day is not None:  # the query's <= leaves none out; this narrows the type
            found.setdefault(request_id, {})[question_id] = day
    return found


def comparison_for_school(
    session: Session, request: Request, organisation: Organisation, today: date | None = None
) -> Comparison:
    """A request's answers against another organisation's own requirements
    (a school a trust asked on behalf of); the trust's own judgements of
    findings are the trust's, so they are not carried over. The trust's own
    questions are asked for its schools, so they are judged too."""
    questionnaire = definition_for_request(request)
    return compare(
        questionnaire,
        # Copied in and not yet saved by the supplier: not the school's to judge.
        {a.question_id: a.value for a in request.answers if not a.prefilled},
        requirements_for(session, organisation, questionnaire),
        evidence=_files_by_question(session, request),
        today=today,
        submitted=request.submitted_at is not None,
        expired=expired_evidence(session, [request.id], today or utcnow().date()).get(request.id),
    )


def entry_evidence_dates(entry: DirectoryEntry) -> dict[str, date]:
    """When the evidence behind a directory entry runs out, by question
    (issue 26), read from ``evidence_expiry``; a date that does not parse
    is no date."""
    return evidence_dates(entry.evidence_expiry)


def expired_entry_evidence(entry: DirectoryEntry, today: date) -> dict[str, date]:
    """The questions whose evidence behind a directory entry has run out by
    ``today``, with the day."""
    return {
        question_id: day
        for question_id, day in entry_evidence_dates(entry).items()
        if status_of(day, today) == "expired"
    }


def comparison_for_entry(
    session: Session, entry: DirectoryEntry, organisation: Organisation, today: date | None = None
) -> Comparison:
    """A directory entry's answers against this school's own requirements.
    Evidence that has run out counts as no file (the engine's rule for a
    request's expired evidence), its finding saying when it expired."""
    questionnaire = definition_for(entry.questionnaire_version)
    now = today or utcnow().date()
    return compare(
        questionnaire,
        entry.answers,
        requirements_for(session, organisation, questionnaire),
        evidence=set(entry.evidence_questions),
        today=now,
        expired=expired_entry_evidence(entry, now),
    )


def refresh_rating(session: Session, request: Request) -> Comparison:
    """Keep the request's rating current, and each school's it was made for."""
    result = comparison_for(session, request)
    request.rating, request.score = result.rating, result.score
    for row in session.scalars(
        select(RequestOnBehalf).where(RequestOnBehalf.request_id == request.id)
    ):
        _rate_for_school(session, row, request)
    session.flush()
    return result


def _rate_for_school(session: Session, row: RequestOnBehalf, request: Request) -> None:
    school = session.get(Organisation, row.organisation_id)
    row.rating = (
        comparison_for_school(session, request, school).rating
        if school is not None and request.status in ANSWERED_STATUSES
        else None
    )
    row.rated_at = utcnow()


def rate_adoption(session: Session, adoption: Adoption, today: date | None = None) -> None:
    adoption.rating = comparison_for_entry(
        session, adoption.entry, adoption.organisation, today
    ).rating
    adoption.rated_at = utcnow()


def rerate_requests(session: Session, organisation_ids: list[int], key: str) -> int:
    """Re-rate the undecided requests of these organisations for one
    questionnaire after their rules changed, and what else they read through
    those rules: trusts' requests made for them and the entries they adopted."""
    rows = list(
        session.scalars(
            select(Request)
            .join(QuestionnaireVersion)
            .where(
                Request.organisation_id.in_(organisation_ids),
                QuestionnaireVersion.key == key,
                Request.status.in_(UNDECIDED_STATUSES),
            )
        )
    )
    for row, result in zip(rows, comparisons_for(session, rows), strict=True):
        row.rating, row.score = result.rating, result.score
    count = len(rows)
    of_key = select(QuestionnaireVersion.id).where(QuestionnaireVersion.key == key)
    for on_behalf, request in session.execute(
        select(RequestOnBehalf, Request)
        .join(Request, Request.id == RequestOnBehalf.request_id)
        .where(
            RequestOnBehalf.organisation_id.in_(organisation_ids),
            Request.questionnaire_version_id.in_(of_key),
        )
    ):
        _rate_for_school(session, on_behalf, request)
    for adoption in session.scalars(
        select(Adoption)
        .join(DirectoryEntry, DirectoryEntry.id == Adoption.entry_id)
        .where(
            Adoption.organisation_id.in_(organisation_ids),
            DirectoryEntry.questionnaire_version_id.in_(of_key),
        )
    ):
        rate_adoption(session, adoption)
    session.flush()
    return count


def rate_unrated(session: Session) -> int:
    """Rate every trust request's school and adoption never rated (rows from
    before ratings were kept on them); ``flask db upgrade`` runs it."""
    done = 0
    for on_behalf, request in session.execute(
        select(RequestOnBehalf, Request)
        .join(Request, Request.id == RequestOnBehalf.request_id)
        .where(RequestOnBehalf.rated_at.is_(None))
    ):
        _rate_for_school(session, on_behalf, request)
        done += 1
    for adoption in session.scalars(select(Adoption).where(Adoption.rated_at.is_(None))):
        rate_adoption(session, adoption)
        done += 1
    session.flush()
    return done
