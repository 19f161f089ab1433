"""The shared directory: one sheet per questionnaire version, one row per entry,
one column per question, streamed in constant-memory mode.

Row 1 holds the question ids, hidden, so a re-import can map columns whatever
the headings say; row 2 holds the headings people read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter

from ..questionnaire import Question, Questionnaire
from ..questionnaire.definition import NUMBER_TYPES
from ..questionnaire.display import display_value
from .cells import STREAMING, Cells, sheet_name

SUMMARY_COLUMNS: tuple[tuple[str, str, float], ...] = (
    # (id in the hidden row, heading, width)
    ("_supplier", "Supplier", 28),
    ("_product", "Product or service", 28),
    ("_category", "Category", 18),
    ("_rating", "Rating", 10),
    ("_score", "Score", 8),
    ("_status", "Status", 14),
    ("_reviewed", "Last reviewed", 13),
    ("_review_due", "Review due", 13),
    ("_summary", "Curator's summary", 40),
    ("_conditions", "Known conditions", 32),
    ("_evidence", "Evidence", 26),
)


@dataclass(frozen=True)
class DirectoryRow:
    supplier: str
    product: str
    category: str
    rating: str | None
    score: int | None
    status: str
    reviewed: date | None
    review_due: date | None
    summary: str
    conditions: str
    answers: Mapping[str, Any]
    # "Evidence expired on 1 March 2026" once any has run out (issue 26).
    evidence: str = ""


@dataclass(frozen=True)
class DirectoryBlock:
    """The entries of one questionnaire version: its sheet."""

    questionnaire: Questionnaire
    rows: Iterable[DirectoryRow]


def _columns(questionnaire: Questionnaire) -> list[Question]:
    return [q for q in questionnaire.questions() if q.answerable]


def directory_workbook(
    out: str | IO[bytes],
    blocks: Iterable[DirectoryBlock],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the directory to ``out``; returns how many entries were written."""
    workbook = xlsxwriter.Workbook(out, STREAMING)
    workbook.set_properties(
        {"title": "Due-diligence directory", "comments": "Due Diligence Portal"}
    )
    cells = Cells(workbook)
    cells.add(
        "heading",
        {"bold": True, "bg_color": "#DDDDDD", "text_wrap": True, "valign": "top", "border": 1},
    )
    cells.add("ids", {"font_color": "#777777"})
    dates = workbook.add_format({"num_format": "d mmm yyyy", "align": "left"})
    numbers = workbook.add_format({"num_format": "#,##0.####", "align": "left"})
    taken: set[str] = set()
    total = 0
    for block in blocks:
        questionnaire = block.questionnaire
        questions = _columns(questionnaire)
        sheet = workbook.add_worksheet(
            sheet_name(f"{questionnaire.title} v{questionnaire.version}", taken)
        )
        ids = [c[0] for c in SUMMARY_COLUMNS] + [q.id for q in questions]
        headings = [c[1] for c in SUMMARY_COLUMNS] + [q.label for q in questions]
        cells.texts(sheet, 0, ids, "ids")
        sheet.set_row(0, None, None, {"hidden": True})
        cells.texts(sheet, 1, headings, "heading")
        for index, (_, _, width) in enumerate(SUMMARY_COLUMNS):
            sheet.set_column(index, index, width)
        sheet.set_column(len(SUMMARY_COLUMNS), len(headings) - 1, 24)
        sheet.freeze_panes(2, 2)
        line = 1
        for row in block.rows:
            line += 1
            _write_row(sheet, cells, line, row, questions, dates, numbers)
            if progress is not None:
                progress(1)
        sheet.autofilter(1, 0, max(line, 2), len(headings) - 1)
        total += line - 1
    if not taken:
        sheet = workbook.add_worksheet("Directory")
        cells.text(sheet, 0, 0, "The directory has no published entries yet.")
    workbook.close()
    return total


def _write_row(
    sheet: Any,
    cells: Cells,
    line: int,
    row: DirectoryRow,
    questions: Sequence[Question],
    dates: Any,
    numbers: Any,
) -> None:
    cells.texts(sheet, line, [row.supplier, row.product, row.category])
    if row.rating:
        cells.text(sheet, line, 3, row.rating.capitalize())
    if row.score is not None:
        sheet.write_number(line, 4, row.score)
    cells.text(sheet, line, 5, row.status)
    for column, day in ((6, row.reviewed), (7, row.review_due)):
        if day is not None:
            sheet.write_datetime(line, column, datetime(day.year, day.month, day.day), dates)
    cells.texts(sheet, line, [row.summary, row.conditions, row.evidence], first=8)
    first = len(SUMMARY_COLUMNS)
    for offset, question in enumerate(questions):
        value = row.answers.get(question.id)
        if value is None or value == "" or value == []:
            continue
        column = first + offset
        if (
            question.type in NUMBER_TYPES
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            sheet.write_number(line, column, value, numbers)
        elif question.type == "date":
            try:
                day = date.fromisoformat(str(value))
            except ValueError:
                cells.text(sheet, line, column, value)
            else:
                sheet.write_datetime(line, column, datetime(day.year, day.month, day.day), dates)
        else:
            cells.text(sheet, line, column, display_value(question, value))
