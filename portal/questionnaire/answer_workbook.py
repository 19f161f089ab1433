"""A request's answers as a spreadsheet and back (issue 25): what each row of
the supplier's workbook says, and a cell read back as the answer a form
would take.

The engine decides the content; exports/answer_workbook.py writes and reads
the .xlsx. Reading gives the values the section forms take as JSON (the
API's shape), so an uploaded answer is checked exactly as a typed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .definition import NUMBER_TYPES, Question, Questionnaire, Section
from .display import format_day

# Several answers to a "choose any" question share a cell, separated by this.
MULTI_SEPARATOR = ";"
FORMAT_WORDS = {
    "yes_no": "Choose Yes or No from the list",
    "yes_no_na": "Choose Yes, No or Not applicable from the list",
    "single_choice": "Choose one answer from the list",
    "multi_choice": f"Any of the answers listed, separated by {MULTI_SEPARATOR}",
    "text": "Text",
    "long_text": "Text (as long as you need)",
    "email": "An email address",
    "url": "A web address, like https://example.com",
    "integer": "A whole number",
    "decimal": "A number",
    "money_gbp": "An amount in pounds",
    "percent": "A percentage, from 0 to 100",
    "date": "A date, like 31/03/2027",
}


@dataclass(frozen=True)
class Row:
    """One question's row on its section's sheet."""

    question: Question
    answer: Any  # as the cell shows it: text, a number, a date or None
    comment: str
    revision: int  # the answer's revision when the workbook was made
    asked: bool  # asked under the answers so far
    condition: str  # "" or why it is a follow-up, in words
    format: str  # what the cell takes
    choices: tuple[str, ...]  # the drop-down's labels, if any
    needs_file: bool
    table: tuple[tuple[Any, ...], ...] = ()  # a table's rows, a cell per column
    copied: str = ""  # where a copied answer not yet confirmed came from


@dataclass(frozen=True)
class SheetPlan:
    section: Section
    rows: tuple[Row, ...]


def plan(
    questionnaire: Questionnaire,
    answers: Mapping[str, Any],
    comments: Mapping[str, str | None],
    revisions: Mapping[str, int],
    shown: Mapping[str, bool],
    copied: Mapping[str, str] | None = None,
) -> list[SheetPlan]:
    """Every section's rows: every question the supplier may be asked, the
    follow-ups among them marked with what brings them in, and copied answers
    not yet confirmed (``copied``: question id -> where from) marked as such."""
    copied = copied or {}
    sheets = []
    for section in questionnaire.sections:
        rows = []
        for question in section.questions:
            rows.append(
                Row(
                    question=question,
                    answer=cell_of(question, answers.get(question.id)),
                    comment=comments.get(question.id) or "",
                    revision=revisions.get(question.id, 0),
                    asked=shown.get(question.id, True),
                    condition=_condition(questionnaire, question),
                    format=_format(question),
                    choices=tuple(c.label for c in question.choices),
                    needs_file=question.type == "file" or question.evidence != "none",
                    table=tuple(map(tuple, table_cells(question, answers.get(question.id))))
                    if question.type == "table"
                    else (),
                    copied=copied.get(question.id, ""),
                )
            )
        sheets.append(SheetPlan(section, tuple(rows)))
    return sheets


def _format(question: Question) -> str:
    if question.type == "table":
        return "A table: fill in its own sheet"
    if question.type == "file":
        return "A file: upload it on the web page"
    if question.type == "note":
        return "For information"
    words = FORMAT_WORDS.get(question.type, "Text")
    if question.type in NUMBER_TYPES and (question.min is not None or question.max is not None):
        low = "" if question.min is None else f"from {question.min:g}"
        high = "" if question.max is None else f"up to {question.max:g}"
        words += f" ({' '.join(filter(None, (low, high)))})"
    if question.unit:
        words += f", in {question.unit}"
    return words


def _condition(questionnaire: Questionnaire, question: Question) -> str:
    """A follow-up's condition in the questions' own words where it is the
    common "question is answer" shape, else as written."""
    if not question.show_if:
        return ""
    text = question.show_if
    for other in questionnaire.questions():
        if other.id in text:
            text = text.replace(other.id, f"“{other.label}”")
            for choice in other.choices:
                text = text.replace(f"'{choice.value}'", f"“{choice.label}”")
    text = text.replace(" == ", " is ").replace(" != ", " is not ")
    return f"Asked when {text}"


def cell_of(question: Question, value: Any) -> Any:
    """A stored answer as its cell shows it."""
    if value is None or question.type in ("table", "file", "note"):
        return None
    if question.type in ("yes_no", "yes_no_na", "single_choice"):
        return _label(question, value)
    if question.type == "multi_choice" and isinstance(value, list):
        return f"{MULTI_SEPARATOR} ".join(_label(question, v) for v in value)
    if question.type == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def table_cells(question: Question, value: Any) -> list[list[Any]]:
    """A table answer's rows, a cell per column."""
    rows = value if isinstance(value, list) else []
    return [
        [cell_of(column, row.get(column.id)) if isinstance(row, dict) else None
         for column in question.columns]
        for row in rows
    ]  # fmt: skip


def _label(question: Question, value: Any) -> str:
    for choice in question.choices:
        if choice.value == value:
            return choice.label
    return str(value)


def answer_of(question: Question, cell: Any) -> Any:
    """A cell as the value the question's form takes as JSON (None: blank).
    Nothing is checked here: the section's form says what is wrong, in the
    words the page uses."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, datetime):
        cell = cell.date()
    if question.type in ("yes_no", "yes_no_na", "single_choice"):
        return _value(question, _text(cell))
    if question.type == "multi_choice":
        parts = [
            p.strip() for p in _text(cell).replace("\n", MULTI_SEPARATOR).split(MULTI_SEPARATOR)
        ]
        return [_value(question, p) for p in parts if p]
    if question.type == "date":
        return cell.isoformat() if isinstance(cell, date) else _text(cell)
    if question.type in NUMBER_TYPES:
        if isinstance(cell, bool):
            return _text(cell)
        if isinstance(cell, float) and cell.is_integer():
            return int(cell)
        # A percentage-formatted cell ("30%", held as 0.3) was scaled when it
        # was read (exports/answer_workbook.py): its format says what it means.
        if isinstance(cell, int | float):
            return cell
        text = _text(cell)
        if question.type == "percent" and text.endswith("%"):
            text = text[:-1].strip()  # "99.5%" kept as text by a spreadsheet
        return text
    return _text(cell)


def table_answer(question: Question, rows: list[list[Any]]) -> list[dict[str, Any]] | None:
    """A table's sheet rows as the table's answer; blank rows are dropped."""
    found = []
    for cells in rows:
        row = {
            column.id: answer_of(column, cells[index] if index < len(cells) else None)
            for index, column in enumerate(question.columns)
        }
        if any(v not in (None, [], "") for v in row.values()):
            found.append({k: ("" if v is None else v) for k, v in row.items()})
    return found or None


def _text(cell: Any) -> str:
    if isinstance(cell, bool):
        return "Yes" if cell else "No"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, date):
        return format_day(cell)
    return str(cell).strip()


def _value(question: Question, text: str) -> str:
    """A choice from its label (or its value), in any case; anything else as
    typed, for the form to refuse in its own words."""
    folded = text.casefold()
    for choice in question.choices:
        if folded in (choice.label.casefold(), choice.value.casefold()):
            return choice.value
    return text
