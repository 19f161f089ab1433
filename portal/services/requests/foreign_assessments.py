"""Answers proposed from an assessment the supplier already has (issue 25):
a completed CSA CAIQ or EDUCAUSE HECVAT workbook, read through a mapping
file (questionnaire/mappings.py).

Proposed answers are copied in as reused answers are (prefilled, saying
where each came from) and count only once the supplier saves their
section; an answer already given is never replaced; nothing is submitted on
the supplier's behalf.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from ...models import Answer, Request, RequestStatus
from ...questionnaire import logic
from ...questionnaire.mappings import (
    AssessmentMapping,
    Layout,
    MappingError,
    check,
    check_meanings,
    column_index,
    load_each,
    load_meanings,
    propose,
)
from ..errors import ServiceError
from ..platform.audit import SUPPLIER_ACTOR, record_event
from ..platform.filetypes import upload_archive_problem
from ..platform.questionnaire_registry import current_definitions, find_version
from ..platform.runtime import runtime
from .answering import ensure_editable, questionnaire_of, stored_answers
from .lifecycle import change_status

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
HEADER_ROWS = 12  # where a heading row may be: formats put titles above it


@dataclass(frozen=True)
class Imported:
    copied: int
    already_answered: int  # proposals left alone: the supplier had answered
    title: str


def mappings_folder(session: Session) -> Path:
    return runtime(session).questionnaires.folder / "mappings"


def mappings_for(session: Session, request: Request) -> list[AssessmentMapping]:
    """The formats this request's questionnaire can be started from: mappings
    for its questionnaire that fit the version the request asks (a mapping
    naming a question this version does not have, or a choice it does not
    offer, is not offered; questionnaires check and the curator's page say
    why). A broken mapping file is left out, not a broken page."""
    mappings, broken = load_each(mappings_folder(session))
    for name, problems in broken.items():
        log.warning("mapping %s.toml not offered: %s", name, "; ".join(problems))
    key = request.questionnaire_version.key
    questionnaire = questionnaire_of(request)
    return [m for m in mappings if m.questionnaire == key and not check(m, questionnaire)]


def read_rows(layout: Layout, data: bytes, title: str) -> dict[str, tuple[Any, Any]]:
    """The foreign workbook's answers by question id (lower case): (answer,
    comment). ServiceError with a plain reason when it is not that format."""
    if len(data) > MAX_BYTES:
        raise ServiceError(
            f"The file is over {MAX_BYTES // 1024 // 1024} MB: upload the {title} workbook itself",
            "assessment",
        )
    problem = upload_archive_problem(data)
    if problem:
        raise ServiceError(problem, "assessment")
    try:
        # Values only, never evaluated: a formula's text is what is read.
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl fails on a bad upload in many ways
        raise ServiceError(
            f"The file is not an Excel workbook (.xlsx): save the {title} as .xlsx and upload that",
            "assessment",
        ) from exc
    names = [
        name
        for wanted in layout.sheets
        for name in book.sheetnames
        if name.casefold().startswith(wanted.casefold())
    ]
    if not names:
        raise ServiceError(
            f"This is not a {title} workbook: it has no sheet called “{layout.sheet}”",
            "assessment",
        )
    pattern = re.compile(layout.id_pattern) if layout.id_pattern else None
    found: dict[str, tuple[Any, Any]] = {}
    for name in dict.fromkeys(names):
        rows = book[name].iter_rows(values_only=True)
        at = _columns(layout, rows, name, title)
        if at is None:
            continue
        at_id, at_answer, at_comment = at
        for line in rows:
            if at_id >= len(line) or line[at_id] is None:
                continue
            ident = str(line[at_id]).strip()
            if pattern is not None and not pattern.match(ident):
                continue
            answer = line[at_answer] if at_answer < len(line) else None
            comment = (
                line[at_comment] if at_comment is not None and at_comment < len(line) else None
            )
            # A question repeated on a later sheet (HECVAT's general rows): the first stands.
            found.setdefault(ident.casefold(), (answer, comment))
    if not found and all(column_index(c) is None for c in (layout.id_column,)):
        raise ServiceError(
            f"The {title}'s heading row was not found or was changed: a sheet "
            f"“{names[0]}” needs columns headed “{layout.id_column}” and “{layout.answer_column}”",
            "assessment",
        )
    return found


def _columns(
    layout: Layout, rows: Any, sheet: str, title: str
) -> tuple[int, int, int | None] | None:
    """(id, answer, comment) column positions: by letter, or by the headings
    of the first rows (None when this sheet has no such heading row)."""
    fixed = [column_index(c) for c in (layout.id_column, layout.answer_column)]
    if fixed[0] is not None and fixed[1] is not None:
        comment = column_index(layout.comment_column) if layout.comment_column else None
        return fixed[0], fixed[1], comment
    for _ in range(HEADER_ROWS):
        line = next(rows, None)
        if line is None:
            return None
        cells = [str(c).strip().casefold() if c is not None else "" for c in line]
        at_id = _heading(cells, layout.id_column)
        if at_id is None:
            continue
        at_answer = _heading(cells, layout.answer_column)
        if at_answer is None:
            return None
        comment = _heading(cells, layout.comment_column) if layout.comment_column else None
        return at_id, at_answer, comment
    return None


def _heading(cells: list[str], heading: str) -> int | None:
    """The column whose heading starts with this one (CAIQ's headings go on
    "(Optional/Recommended)", with two spaces in one)."""
    wanted = heading.casefold()
    return next((i for i, c in enumerate(cells) if c and c.startswith(wanted)), None)


def import_assessment(
    session: Session, request: Request, mapping: AssessmentMapping, rows: dict[str, tuple[Any, Any]]
) -> Imported:
    """Copy in the answers the mapping proposes, as proposals."""
    ensure_editable(request)
    questionnaire = questionnaire_of(request)
    proposals = propose(mapping, questionnaire, rows)
    stored = stored_answers(session, request)
    fresh = {qid: p for qid, p in proposals.items() if qid not in stored.values}
    kept = logic.drop_hidden(
        questionnaire, {**stored.values, **{q: p.value for q, p in fresh.items()}}
    )
    copied = 0
    for qid, proposal in fresh.items():
        if qid not in kept:
            continue
        request.answers.append(
            Answer(
                question_id=qid,
                value=proposal.value,
                comment=proposal.comment or None,
                prefilled=True,
                answered_by=f"From your {mapping.title} (question {proposal.source})"[:200],
            )
        )
        copied += 1
    record_event(
        session,
        "answers_proposed",
        organisation=request.organisation,
        actor_label=SUPPLIER_ACTOR,
        request=request,
        source=mapping.title,
        answers=copied,
    )
    if copied:
        change_status(
            session, request, RequestStatus.IN_PROGRESS, actor_label=SUPPLIER_ACTOR,
            only_from={RequestStatus.SENT},
        )  # fmt: skip
    session.flush()
    return Imported(copied, len(proposals) - len(fresh), mapping.title)


@dataclass(frozen=True)
class Coverage:
    """How much of a questionnaire a mapping answers, for the curator."""

    title: str
    name: str
    version: int  # the questionnaire version it was written for
    answered: int
    questions: int
    problems: tuple[str, ...]


def coverage(session: Session) -> dict[str, list[Coverage]]:
    """Each questionnaire key's mappings, with how many of its questions each answers."""
    found: dict[str, list[Coverage]] = {}
    mappings, broken = load_each(mappings_folder(session))
    for name, lines in broken.items():
        # Which questionnaire a file that does not load was for is unknown:
        # listed under every key, so the curator sees it whichever they open.
        for definition in current_definitions(session):
            found.setdefault(definition.key, []).append(
                Coverage(f"{name}.toml", name, 0, 0, 0, tuple(lines))
            )
    for mapping in mappings:
        try:
            questionnaire = find_version(session, mapping.questionnaire, mapping.version)
        except ServiceError:
            missing = f"{mapping.name}.toml: {mapping.questionnaire} version {mapping.version} does not exist"
            found.setdefault(mapping.questionnaire, []).append(
                Coverage(mapping.title, mapping.name, mapping.version, 0, 0, (missing,))
            )
            continue
        problems = tuple(check(mapping, questionnaire))
        known = {q.id for q in questionnaire.questions()}
        found.setdefault(mapping.questionnaire, []).append(
            Coverage(
                mapping.title,
                mapping.name,
                mapping.version,
                sum(1 for entry in mapping.answers if entry.question in known),
                questionnaire.question_count,
                problems,
            )
        )
    return found


def mapping_problems(session: Session) -> list[str]:
    """Every mapping file's problems, and the shared meanings' (questionnaires check)."""
    by_key = coverage(session)
    problems = [line for rows in by_key.values() for row in rows for line in row.problems]
    try:
        meanings = load_meanings(mappings_folder(session))
    except MappingError as exc:
        problems.extend(exc.problems)
    else:
        current = {q.key: q for q in current_definitions(session)}
        problems.extend(check_meanings(meanings, current))
    return list(dict.fromkeys(problems))  # a broken file is listed under every key: once here
