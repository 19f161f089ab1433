"""A school's supplier register: one row per request, streamed.

The rows come from an iterator (the database in batches), and the workbook
is written in constant-memory mode straight to a file, so a register of any
size never sits in memory as a whole.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter

from .cells import STREAMING, csv_cell, list_styles
from .request import RATING_FILLS


@dataclass(frozen=True)
class RegisterRow:
    reference: str
    supplier: str
    questionnaire: str
    status: str
    sent: datetime
    due: date | None
    submitted: datetime | None
    rating: str | None
    score: int | None
    decision: str
    decision_reason: str
    conditions: Sequence[str]
    next_review: date | None
    overdue: str
    # The key answers the school chose, in the order of ``key_columns``.
    key_answers: Sequence[str] = field(default_factory=tuple)


COLUMNS: tuple[tuple[str, float], ...] = (
    ("Reference", 14),
    ("Supplier", 30),
    ("Questionnaire", 34),
    ("Status", 22),
    ("Sent", 12),
    ("Due", 12),
    ("Submitted", 12),
    ("Rating", 10),
    ("Score", 8),
    ("Decision", 22),
    ("Reason", 40),
    ("Conditions", 40),
    ("Next review", 12),
    ("Overdue", 18),
)


def _day(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    return datetime(value.year, value.month, value.day)


def register_workbook(
    out: str | IO[bytes],
    rows: Iterable[RegisterRow],
    key_columns: Sequence[str],
    title: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the register to ``out`` (a path or binary file); returns the row count."""
    workbook = xlsxwriter.Workbook(out, STREAMING)
    workbook.set_properties({"title": title, "comments": "Due Diligence Portal"})
    cells, dates = list_styles(workbook, {"rating": RATING_FILLS})
    sheet = workbook.add_worksheet("Register")
    count = cells.header(sheet, [*COLUMNS, *((label, 28) for label in key_columns)])
    line = 0
    for row in rows:
        line += 1
        cells.text(sheet, line, 0, row.reference)
        cells.text(sheet, line, 1, row.supplier, "wrap")
        cells.text(sheet, line, 2, row.questionnaire, "wrap")
        cells.text(sheet, line, 3, row.status)
        for column, value in (
            (4, row.sent),
            (5, row.due),
            (6, row.submitted),
            (12, row.next_review),
        ):
            day = _day(value)
            if day is not None:
                sheet.write_datetime(line, column, day, dates)
        if row.rating:
            cells.text(sheet, line, 7, row.rating.capitalize(), f"rating:{row.rating}")
        if row.score is not None:
            sheet.write_number(line, 8, row.score)
        cells.text(sheet, line, 9, row.decision)
        cells.text(sheet, line, 10, row.decision_reason, "wrap")
        cells.text(sheet, line, 11, "\n".join(row.conditions), "wrap")
        if row.overdue:
            cells.text(sheet, line, 13, row.overdue, "overdue")
        for offset, answer in enumerate(row.key_answers):
            cells.text(sheet, line, len(COLUMNS) + offset, answer, "wrap")
        if progress is not None:
            progress(1)
    sheet.autofilter(0, 0, max(line, 1), count - 1)
    workbook.close()
    return line


def register_csv(out: IO[str], rows: Iterable[RegisterRow], key_columns: Sequence[str]) -> int:
    writer = csv.writer(out)
    writer.writerow([title for title, _ in COLUMNS] + list(key_columns))
    count = 0
    for row in rows:
        values: list[Any] = [
            row.reference, row.supplier, row.questionnaire, row.status,
            row.sent.date().isoformat(), row.due.isoformat() if row.due else "",
            row.submitted.date().isoformat() if row.submitted else "",
            row.rating or "", "" if row.score is None else row.score, row.decision,
            row.decision_reason, "; ".join(row.conditions),
            row.next_review.isoformat() if row.next_review else "", row.overdue,
            *row.key_answers,
        ]  # fmt: skip
        writer.writerow([csv_cell(value) for value in values])
        count += 1
    return count
