"""Writing the engine's answer changes (questionnaire/answerset.py) to rows of
an ORM table: a school's DPIA answers and its standards self-assessment. A
supplier's answers have their own Core writer (services/requests/answering.py)
because autosave is the hottest write there is."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from sqlalchemy.orm import Session

from ...questionnaire.answerset import Change

RowT = TypeVar("RowT")


def write_changes(
    session: Session,
    rows: Mapping[str, RowT],
    changes: Iterable[Change],
    *,
    new: Callable[[Change], RowT],
    update: Callable[[RowT, Change], None],
) -> int:
    """Insert, update or delete a row per change; returns how many changed."""
    count = 0
    for change in changes:
        count += 1
        if change.remove:
            session.delete(rows[change.question_id])
        elif change.insert:
            session.add(new(change))
        else:
            update(rows[change.question_id], change)
    return count
