"""When the evidence behind a directory entry runs out (issue 26).

An entry keeps, per question, the day its evidence expires
(``DirectoryEntry.evidence_expiry``, question id -> ISO date): copied from
the source submission's tracked evidence, worked out from the curator's
own answers where a question's expiry is an answer, or set by the curator
on a draft. A new version takes its own dates, so refreshing a listing is
what clears "Evidence expired on ...". Schools' fit checks read the same
dates (services/requirements/ratings.py: expired evidence is no file).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, defer, joinedload

from ...models import DirectoryEntry, EntryStatus, Request, TrackedEvidence
from ...questionnaire import Question, Questionnaire, logic
from ...questionnaire.display import format_day
from ...questionnaire.expiry import (
    EARLIEST_YEARS_BACK,
    EXPIRING_DAYS,
    LATEST_YEARS_AHEAD,
    Status,
    add_months,
    expiry_of,
    status_of,
)
from ..errors import ServiceError
from ..requirements.ratings import entry_evidence_dates, expired_entry_evidence


def expired_on(entry: DirectoryEntry, today: date) -> date | None:
    """The day the entry's evidence first ran out, if any has by ``today``:
    what "Evidence expired on ..." says wherever the entry appears."""
    return min(expired_entry_evidence(entry, today).values(), default=None)


def expired_words(entry: DirectoryEntry, today: date) -> str:
    """The words "Evidence expired on 1 March 2026", or "" while none has
    run out (for workbooks, which have no template filter)."""
    day = expired_on(entry, today)
    return "" if day is None else f"Evidence expired on {format_day(day)}"


def _dated(question: Question) -> bool:
    return question.takes_files and question.life is not None


def from_submission(
    session: Session, submission: Request, asked: Collection[str]
) -> dict[str, str]:
    """The expiry of each piece of the submission's evidence the school
    tracks (services/requests/evidence_life.py), for the questions the
    entry copies."""
    rows = session.execute(
        select(TrackedEvidence.question_id, TrackedEvidence.expires_on).where(
            TrackedEvidence.request_id == submission.id, TrackedEvidence.expires_on.is_not(None)
        )
    )
    return {qid: day.isoformat() for qid, day in rows if day is not None and qid in asked}


def follow_answers(
    questionnaire: Questionnaire, entry: DirectoryEntry, saved: Collection[str]
) -> None:
    """A draft's answers changed: the expiry of evidence whose date *is* an
    answer (``expires = "ce_expiry"``) follows the answers just saved. Other
    dates (asked at upload, or set by the curator) stay as they were."""
    dates = dict(entry.evidence_expiry or {})
    for question in questionnaire.questions():
        life = question.life if question.takes_files else None
        if life is None or life.source != "answer" or life.answer_id not in saved:
            continue
        day = expiry_of(life, entry.answers, None, None)
        if day is None:
            dates.pop(question.id, None)
        else:
            dates[question.id] = day.isoformat()
    if dates != (entry.evidence_expiry or {}):
        entry.evidence_expiry = dates


@dataclass(frozen=True)
class DatedQuestion:
    """A question whose evidence can expire, as the curator's page lists it."""

    question: Question
    expires_on: date | None
    status: Status
    from_answer: str  # the label of the answer giving the date, if one does


def dated_questions(
    questionnaire: Questionnaire, entry: DirectoryEntry, today: date
) -> list[DatedQuestion]:
    """Each question of the entry whose evidence can expire and that its
    answers ask, with the date the entry keeps."""
    shown = logic.visibility(questionnaire, entry.answers, today)
    dates = entry_evidence_dates(entry)
    found = []
    for question in questionnaire.questions():
        life = question.life
        if life is None or not question.takes_files or not shown.get(question.id, False):
            continue
        giver = ""
        if life.source == "answer":
            try:
                giver = questionnaire.question(life.answer_id).label
            except KeyError:
                giver = ""
        day = dates.get(question.id)
        found.append(DatedQuestion(question, day, status_of(day, today), giver))
    return found


def check_expiry(
    questionnaire: Questionnaire, question_id: str, day: date | None, today: date
) -> None:
    """Refuse a date the curator cannot mean for this question's evidence:
    a question whose evidence does not expire, or a day so far off that it
    is a typing mistake (as a supplier's dates are checked: expiry.py)."""
    try:
        question: Question | None = questionnaire.question(question_id)
    except KeyError:
        question = None
    if question is None or not _dated(question):
        raise ServiceError("Choose a question whose evidence expires", "question")
    if day is None:
        return
    earliest = date(today.year - EARLIEST_YEARS_BACK, 1, 1)
    if day > add_months(today, LATEST_YEARS_AHEAD * 12):
        raise ServiceError(
            f"The expiry date must be within {LATEST_YEARS_AHEAD} years: check the year",
            "expires",
        )
    if day < earliest:
        raise ServiceError(
            f"The expiry date must be after {earliest.year}: check the year", "expires"
        )


def renewed(before: DirectoryEntry, after: DirectoryEntry) -> dict[str, date]:
    """The questions whose evidence runs out later in ``after`` (a new
    version) than in ``before``, with the new day."""
    old, new = entry_evidence_dates(before), entry_evidence_dates(after)
    return {qid: day for qid, day in new.items() if qid in old and day > old[qid]}


# --- the curator's list of entries to refresh -------------------------------------


def _to_refresh(today: date) -> Any:
    """Published entries whose evidence has run out or runs out within
    EXPIRING_DAYS of ``today``: a range of the (status, first expiry) index."""
    return (DirectoryEntry.status == EntryStatus.PUBLISHED) & (
        DirectoryEntry.evidence_first_expiry <= today + timedelta(days=EXPIRING_DAYS)
    )


def refresh_query(session: Session, today: date) -> Select[Any]:
    """The published entries to refresh, first to have run out first: rows
    of (entry, first expiry)."""
    return cast(
        "Select[Any]",
        select(DirectoryEntry, DirectoryEntry.evidence_first_expiry)
        .where(_to_refresh(today))
        .options(
            joinedload(DirectoryEntry.supplier),
            # A list never shows the answers (as the workspace's other lists).
            defer(DirectoryEntry.answers, raiseload=True),
            defer(DirectoryEntry.changes, raiseload=True),
        )
        .order_by(DirectoryEntry.evidence_first_expiry, DirectoryEntry.id),
    )


def refresh_count(session: Session, today: date) -> int:
    return int(
        session.scalar(select(func.count()).select_from(DirectoryEntry).where(_to_refresh(today)))
        or 0
    )


@dataclass(frozen=True)
class ToRefresh:
    entry: DirectoryEntry
    first: date
    status: Status  # "expired" or "expiring"


def to_refresh(row: Any, today: date) -> ToRefresh:
    first = row[1] if isinstance(row[1], date) else date.fromisoformat(str(row[1]))
    return ToRefresh(row[0], first, status_of(first, today))
