"""Saving answers: one rule for every questionnaire the portal keeps.

A supplier's answers, a school's standards self-assessment, its DPIAs and a
curator's directory entries are all answers stored by question id, changed a
section at a time. This module works out, purely, what a save writes:

- :func:`plan_section` checks a posted section form against the other stored
  answers (formats, the section's logic, and revisions: an answer someone
  changed in another tab since the page was loaded is not overwritten), keeps
  every valid answer, and leaves each invalid one on the form with its message;
- :func:`changes_for` merges new values over the stored ones, drops blanks and
  every answer the new ones hide (anywhere in the questionnaire), and lists the
  rows to insert, update or remove.

The services turn the :class:`Change` list into rows of their own tables
(services/requests/answering.py, school/dpia.py, school/standards.py,
directory/curation.py); none of them decides what to write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from . import logic
from .definition import Questionnaire
from .display import display_value
from .forms import SectionForm


@dataclass(frozen=True)
class Stored:
    """One stored answer: its value, the note or comment beside it, its revision."""

    value: Any
    note: str | None = None
    revision: int = 1


@dataclass(frozen=True)
class Change:
    """One row to write. ``value`` None with ``remove`` False is a row kept
    for its note alone (where notes keep rows)."""

    question_id: str
    value: Any
    note: str | None
    insert: bool = False
    remove: bool = False
    value_changed: bool = False
    note_changed: bool = False


@dataclass(frozen=True)
class Changes:
    changes: tuple[Change, ...]
    answers: dict[str, Any]  # every answer stored once the changes are written


@dataclass(frozen=True)
class SectionPlan:
    """What a posted section saves: the changes, the questions whose posted
    answer was taken, and those that were not (invalid, or changed elsewhere)."""

    changes: tuple[Change, ...]
    answers: dict[str, Any]
    saved: frozenset[str]
    errors: dict[str, str]  # invalid: the first message of each
    conflicts: dict[str, str]  # changed in another tab or browser since the page loaded


def _unchanged(value: Any) -> Any:
    return value


def changes_for(
    questionnaire: Questionnaire,
    stored: Mapping[str, Stored],
    values: Mapping[str, Any],
    notes: Mapping[str, str | None] | None = None,
    *,
    notes_keep_rows: bool = False,
    normalise: Callable[[Any], Any] = _unchanged,
    today: date | None = None,
) -> Changes:
    """Store ``values`` (None or blank removes an answer) and ``notes`` over
    ``stored``. An answer the new ones hide goes, wherever it is. With
    ``notes_keep_rows`` (a school's own notes) a row with a note stays when
    its answer goes; a supplier's comment lives only beside an answer."""
    merged = {qid: row.value for qid, row in stored.items()}
    merged.update({qid: normalise(value) for qid, value in values.items()})
    answered = {qid: v for qid, v in merged.items() if not logic.is_blank(v)}
    kept = logic.drop_hidden(questionnaire, answered, today)
    notes = notes or {}
    found: list[Change] = []
    for qid in sorted(set(stored) | set(kept)):
        row = stored.get(qid)
        value = kept.get(qid)
        note = notes[qid] if qid in notes else (row.note if row else None)
        if value is None and (note is None or not notes_keep_rows):
            if row is not None:
                found.append(Change(qid, None, None, remove=True))
            continue
        if row is None:
            found.append(Change(qid, value, note, insert=True, value_changed=True))
            continue
        value_changed = normalise(row.value) != normalise(value)
        note_changed = (row.note or None) != (note or None)
        if value_changed or note_changed:
            found.append(Change(qid, value, note, False, False, value_changed, note_changed))
    return Changes(tuple(found), kept)


def plan_section(
    form: SectionForm,
    stored: Mapping[str, Stored],
    *,
    only: set[str] | None = None,
    revisions: Mapping[str, int] | None = None,
    notes: Mapping[str, str | None] | None = None,
    notes_keep_rows: bool = False,
    normalise: Callable[[Any], Any] = _unchanged,
    today: date | None = None,
) -> SectionPlan:
    """Save what is valid of a posted section.

    ``only`` limits the questions the post may change (those sent by an
    autosave, or a clarification round's); the rest of the section keeps its
    stored answers. ``revisions`` are those the page was loaded with: an
    answer whose revision moved on since, and which the post would change, is
    a conflict, kept as stored with a message on the form. ``notes`` are the
    notes or comments posted (default: the form's own comment fields).
    """
    section = form.section
    own = {q.id for q in section.answerable}
    ids = own if only is None else own & only
    others = {qid: row.value for qid, row in stored.items() if qid not in own}
    form.validate_section(others, enforce_required=False, today=today)
    conflicts = _conflicts(form, stored, ids, revisions or {})
    bad = {qid for qid in ids if form[qid].errors}
    saved = ids - bad
    visible = form.visible_answers(others, today)
    posted_notes = form.comments() if notes is None else notes
    changes = changes_for(
        form.questionnaire,
        stored,
        {qid: visible[qid] for qid in saved if qid in visible},
        {qid: text for qid, text in posted_notes.items() if qid in ids and qid not in conflicts},
        notes_keep_rows=notes_keep_rows,
        normalise=normalise,
        today=today,
    )
    return SectionPlan(
        changes=changes.changes,
        answers=changes.answers,
        saved=frozenset(saved),
        errors={qid: form[qid].errors[0] for qid in sorted(bad) if qid not in conflicts},
        conflicts=conflicts,
    )


def _conflicts(
    form: SectionForm, stored: Mapping[str, Stored], ids: set[str], revisions: Mapping[str, int]
) -> dict[str, str]:
    """Answers someone else changed since this page loaded, where ours differs.

    A question without a revision posted is not checked (an old page, or a
    client that does not send them)."""
    values = form.answers()
    found: dict[str, str] = {}
    for qid in sorted(ids):
        if qid not in revisions:
            continue
        row = stored.get(qid)
        current_revision = row.revision if row else 0
        current_value = row.value if row else None
        if current_revision != revisions[qid] and values.get(qid) != current_value:
            question = form.questionnaire.question(qid)
            message = (
                "Someone changed this answer in another tab or browser after you opened this "
                f"page. It now says: {display_value(question, current_value)}. To keep yours "
                "instead, save again."
            )
            form[qid].errors = [message]
            found[qid] = message
    return found
