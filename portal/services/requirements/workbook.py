"""Read a requirement profile back from the workbook exports/profile.py writes.

The file comes from a person's Excel, so every row is checked and every
problem reported at once, by Excel row number, before anything is saved:
fixing a workbook one error per upload would be maddening.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from io import BytesIO
from typing import Any

from openpyxl import load_workbook  # type: ignore[import-untyped]

from ...questionnaire.definition import Question, Questionnaire
from ..platform.filetypes import archive_problem
from .profiles import OPERATOR_LABELS, RuleInput, parse_rule

SHEET = "Requirements"
ID_HEADING = "Question id"
EDITABLE = ("Rule", "Value", "Severity", "Switched off", "Note")
MAX_ROWS = 2000
# The heading row is normally the first; allow a few title rows above it.
HEADING_SEARCH_ROWS = 20

YES = frozenset({"yes", "y", "true"})
NO = frozenset({"no", "n", "false"})
OPERATOR_CODES = {label.casefold(): code for code, label in OPERATOR_LABELS.items()}
NOT_A_WORKBOOK = "The file is not an Excel workbook (.xlsx)"
NOT_OURS = "This is not a requirements workbook: "


class ProfileWorkbookError(Exception):
    """The workbook cannot be imported; ``problems`` has one line per fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_profile(questionnaire: Questionnaire, data: bytes) -> dict[str, RuleInput]:
    """Question id -> the rule typed on its row; rows left blank are not listed.

    Raises ProfileWorkbookError listing every problem; returns only when the
    whole workbook is valid, so an import is all or nothing.
    """
    # A ZIP that is not what it seems (a zip bomb) is refused before openpyxl
    # unpacks it; anything else that is not a workbook fails to open below.
    problem = archive_problem(BytesIO(data)) if zipfile.is_zipfile(BytesIO(data)) else None
    if problem:
        raise ProfileWorkbookError([f"This file cannot be opened: it {problem}"])
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        # openpyxl fails on a bad upload in many ways (zip, XML, KeyError for a
        # missing part); to the person uploading they all mean the same thing.
        raise ProfileWorkbookError([NOT_A_WORKBOOK]) from exc
    try:
        return _read(questionnaire, workbook)
    except ProfileWorkbookError:
        raise
    except Exception as exc:
        # A damaged sheet can fail only once its rows are read.
        raise ProfileWorkbookError([NOT_A_WORKBOOK]) from exc
    finally:
        workbook.close()


def _read(questionnaire: Questionnaire, workbook: Any) -> dict[str, RuleInput]:
    sheet = next(
        (
            workbook[name]
            for name in workbook.sheetnames
            if name.strip().casefold() == "requirements"
        ),
        None,
    )
    if sheet is None or not hasattr(sheet, "iter_rows"):
        raise ProfileWorkbookError(
            [
                f"{NOT_OURS}it has no sheet called {SHEET}. "
                "Download the workbook from the portal and fill that in"
            ]
        )
    # Read-only mode trusts the file's stated size, which some programs get wrong.
    sheet.reset_dimensions()
    rows = sheet.iter_rows(values_only=True)
    columns: dict[str, int] = {}
    header_line = 0
    for line, values in enumerate(rows, start=1):
        if line > HEADING_SEARCH_ROWS:
            break
        headings = {_text(v).casefold(): i for i, v in enumerate(values) if _text(v)}
        if ID_HEADING.casefold() in headings:
            columns = headings
            header_line = line
            break
    if not header_line:
        raise ProfileWorkbookError([f"{NOT_OURS}the {SHEET} sheet has no “{ID_HEADING}” heading"])
    missing = [name for name in EDITABLE if name.casefold() not in columns]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise ProfileWorkbookError(
            [f"{NOT_OURS}the {SHEET} sheet has no {_and(missing)} column{plural}"]
        )

    answerable = {q.id: q for q in questionnaire.questions() if q.answerable}
    problems: list[str] = []
    typed: dict[str, RuleInput] = {}
    first_line: dict[str, int] = {}
    filled_rows = 0
    # Reading continues from the row after the headings.
    for line, values in enumerate(rows, start=header_line + 1):
        if values.count(None) == len(values):
            continue
        cells = {name: _text(_at(values, columns[name.casefold()])) for name in EDITABLE}
        question_id = _text(_at(values, columns[ID_HEADING.casefold()]))
        if not question_id and not any(cells.values()):
            continue
        filled_rows += 1
        if filled_rows > MAX_ROWS:
            problems.append(
                f"The workbook has more than {MAX_ROWS:,} rows: keep one row per question"
            )
            break
        if not question_id:
            problems.append(f"Row {line}: Fill in the question id, or clear the row")
            continue
        where = f"Row {line} ({question_id})"
        question = answerable.get(question_id)
        if question is None:
            problems.append(f"{where}: This questionnaire has no question with this id")
            continue
        if question_id in first_line:
            problems.append(
                f"{where}: This question is also on row {first_line[question_id]}: "
                "keep one row per question"
            )
            continue
        first_line[question_id] = line
        # A "no" left behind after clearing a rule is not a rule of its own.
        if not any(v for k, v in cells.items() if k != "Switched off" or v.casefold() not in NO):
            continue
        entry, row_problems = _rule_input(question, cells)
        rule, errors = parse_rule(question, entry)
        problems.extend(f"{where}: {problem}" for problem in [*row_problems, *errors])
        if rule is not None and not row_problems:
            typed[question_id] = entry
    if problems:
        raise ProfileWorkbookError(problems)
    return typed


def _rule_input(question: Question, cells: dict[str, str]) -> tuple[RuleInput, list[str]]:
    problems: list[str] = []
    switched = cells["Switched off"].casefold()
    off = switched in YES
    if switched and not off and switched not in NO:
        problems.append(f"Switched off must be yes or no (not '{cells['Switched off']}')")
    operator = cells["Rule"].strip()
    operator = OPERATOR_CODES.get(operator.casefold(), operator.lower())
    value = cells["Value"]
    severity = cells["Severity"]
    baseline = question.requirement
    if off and not operator and baseline is not None:
        # Switching off needs no rule of its own: record the baseline's as the one
        # switched off, as the form does when it starts from the current rule.
        operator = baseline.operator
        value = value or _value_text(baseline.value)
        severity = severity or baseline.severity
    return RuleInput(operator, value, severity, off, cells["Note"]), problems


def _at(values: Sequence[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


def _text(value: Any) -> str:
    """A cell as the text a person typed: 30, not 30.0; dates as 2027-03-31."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    return _text(value)


def _and(names: list[str]) -> str:
    quoted = [f"“{name}”" for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
