"""A questionnaire's workbook: the .xlsx file itself, written and read.

What goes in which sheet and column is the engine's (questionnaire/workbook.py);
this module only moves rows in and out of Excel, and refuses a file whose
cells cannot be trusted to say what they show: a formula, a hidden sheet,
merged cells, a sheet of thousands of rows or a cell of megabytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

import xlsxwriter
from openpyxl import load_workbook  # type: ignore[import-untyped]

from ..questionnaire.workbook import Cell, Problem, ReadRow, Sheet, WorkbookProblems
from .cells import IN_MEMORY, Cells

# More rows than any questionnaire needs (the largest shipped has 600 on its
# survey sheet); a bigger sheet is a mistake, not a questionnaire.
MAX_ROWS = 2_000
MAX_COLUMNS = 60
# A cell of a questionnaire is a label, a hint or a rationale: paragraphs, not books.
MAX_CELL_CHARACTERS = 10_000
# An encrypted workbook (and an old .xls) is an OLE compound file, not a ZIP.
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
NOT_A_WORKBOOK = "The file is not an Excel workbook (.xlsx)"
ENCRYPTED = (
    "The workbook is protected with a password, or is an old .xls file: save it as an "
    ".xlsx workbook without a password and upload that"
)
WIDTHS = {"label": 60, "hint": 45, "rationale": 50, "description": 60, "reason": 60, "when": 50}


def write_sheets(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as an .xlsx workbook: headings in the first row, frozen,
    and every value as it is (text stays text, numbers numbers)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, IN_MEMORY)
    cells = Cells(workbook)
    cells.add("heading", {"bold": True, "bottom": 1})
    cells.add("wrapped", {"text_wrap": True, "valign": "top"})
    for sheet in sheets:
        worksheet = workbook.add_worksheet(sheet.name)
        worksheet.freeze_panes(1, 0)
        for column, heading in enumerate(sheet.columns):
            cells.text(worksheet, 0, column, heading, "heading")
            worksheet.set_column(column, column, WIDTHS.get(heading, 18))
        for line, row in enumerate(sheet.rows, start=1):
            for column, heading in enumerate(sheet.columns):
                value = row.get(heading)
                if value is None:
                    continue
                if isinstance(value, bool):
                    cells.text(worksheet, line, column, "yes" if value else "no", "wrapped")
                elif isinstance(value, int | float):
                    worksheet.write_number(line, column, value, cells["wrapped"])
                else:
                    cells.text(worksheet, line, column, value, "wrapped")
    workbook.close()
    return buffer.getvalue()


def read_sheets(data: bytes) -> dict[str, list[ReadRow]]:
    """Each sheet's filled rows by lower-case sheet name, each cell by its
    column's heading. Raises WorkbookProblems listing everything that makes
    the file untrustworthy, all at once."""
    if data.startswith(OLE_SIGNATURE):
        raise WorkbookProblems([Problem("workbook", None, None, ENCRYPTED)])
    _refuse_long_sheets(data)
    try:
        workbook = load_workbook(io.BytesIO(data), data_only=False)
    except Exception as exc:
        # openpyxl fails on a bad upload in many ways (zip, XML, a missing
        # part); to the person uploading they all mean the same thing.
        raise WorkbookProblems([Problem("workbook", None, None, NOT_A_WORKBOOK)]) from exc
    problems: list[Problem] = []
    found: dict[str, list[ReadRow]] = {}
    try:
        for worksheet in workbook.worksheets:
            name = worksheet.title.strip().lower()
            if name in found:
                problems.append(Problem(name, None, None, "two sheets have this name"))
                continue
            rows = _read_sheet(worksheet, name, problems)
            if rows is not None:
                found[name] = rows
        for chart_sheet in workbook.chartsheets:
            problems.append(
                Problem(chart_sheet.title, None, None, "a chart sheet: delete it, it holds no rows")
            )
    finally:
        workbook.close()
    if problems:
        raise WorkbookProblems(problems)
    return found


def _refuse_long_sheets(data: bytes) -> None:
    """Count each sheet's rows as they stream, stopping past the limit: a
    workbook of 400,000 rows would otherwise be built whole in memory (tens of
    seconds) before its size could be refused."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True)
    except Exception as exc:  # as read_sheets: any failure means the same
        raise WorkbookProblems([Problem("workbook", None, None, NOT_A_WORKBOOK)]) from exc
    problems = []
    try:
        for worksheet in workbook.worksheets:
            rows = 0
            for _row in worksheet.iter_rows(values_only=True):
                rows += 1
                if rows > MAX_ROWS + 1:
                    problems.append(
                        Problem(worksheet.title.strip().lower(), None, None,
                                f"more than {MAX_ROWS:,} rows: a questionnaire's sheet holds "
                                f"at most {MAX_ROWS:,}")
                    )  # fmt: skip
                    break
    except WorkbookProblems:
        raise
    except Exception as exc:
        raise WorkbookProblems([Problem("workbook", None, None, NOT_A_WORKBOOK)]) from exc
    finally:
        workbook.close()
    if problems:
        raise WorkbookProblems(problems)


# How a number may be shown and still mean what it says: a percentage or a
# currency format would show 95% for a cell holding 0.95.
PLAIN_NUMBER_FORMATS = frozenset({"General", "0", "0.0", "0.00", "#,##0", "#,##0.00", "@"})


def _read_sheet(worksheet: Any, name: str, problems: list[Problem]) -> list[ReadRow] | None:
    if worksheet.sheet_state != "visible":
        problems.append(
            Problem(name, None, None,
                    "this sheet is hidden: show it or delete it, so what is read is what you see")
        )  # fmt: skip
        return None
    if worksheet.max_row > MAX_ROWS + 1:
        problems.append(
            Problem(name, None, None,
                    f"{worksheet.max_row:,} rows: a questionnaire's sheet holds at most {MAX_ROWS:,}")
        )  # fmt: skip
        return None
    if worksheet.max_column > MAX_COLUMNS:
        problems.append(
            Problem(name, None, None, f"{worksheet.max_column:,} columns: at most {MAX_COLUMNS}")
        )
        return None
    hidden_rows = {n for n, d in worksheet.row_dimensions.items() if d.hidden}
    hidden_columns = {letter for letter, d in worksheet.column_dimensions.items() if d.hidden}
    for line in sorted(hidden_rows)[:5]:
        problems.append(Problem(name, line, None, "a hidden row: show it or delete it"))
    for letter in sorted(hidden_columns)[:5]:
        problems.append(
            Problem(name, None, _heading_at(worksheet, _column_number(letter)) or letter,
                    "a hidden column: show it or delete it")
        )  # fmt: skip
    if worksheet.auto_filter.ref:
        problems.append(Problem(name, None, None, "a filter is on: clear it, so every row is seen"))
    for merged in worksheet.merged_cells.ranges:
        problems.append(
            Problem(name, merged.min_row, _heading_at(worksheet, merged.min_col),
                    f"merged cells ({merged.coord}): unmerge them, each value in its own cell")
        )  # fmt: skip
    rows = list(worksheet.iter_rows())
    if not rows:
        return []
    headings: list[str | None] = []
    seen: set[str] = set()
    for cell in rows[0]:
        heading = _text(cell.value).strip().lower() or None
        if heading is not None and heading in seen:
            problems.append(Problem(name, 1, heading, "two columns have this heading"))
        if heading is not None:
            seen.add(heading)
        headings.append(heading)
    read: list[ReadRow] = []
    for row in rows[1:]:
        cells: dict[str, Cell] = {}
        for cell, heading in zip(row, headings, strict=False):
            value = cell.value
            if value is None:
                continue
            if cell.data_type == "f":
                problems.append(
                    Problem(name, cell.row, heading or cell.column_letter,
                            "a formula: type the value itself")
                )  # fmt: skip
                continue
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and cell.number_format not in PLAIN_NUMBER_FORMATS
            ):
                problems.append(
                    Problem(name, cell.row, heading or cell.column_letter,
                            f"a number shown as {cell.number_format!r}: type the number itself "
                            "(95, not 95%), in the General format")
                )  # fmt: skip
                continue
            value = _value(value)
            if isinstance(value, str) and len(value) > MAX_CELL_CHARACTERS:
                problems.append(
                    Problem(name, cell.row, heading or cell.column_letter,
                            f"{len(value):,} characters: a cell holds at most "
                            f"{MAX_CELL_CHARACTERS:,}")
                )  # fmt: skip
                continue
            if heading is None:
                if _text(value).strip():
                    problems.append(
                        Problem(name, cell.row, cell.column_letter,
                                "a value in a column without a heading")
                    )  # fmt: skip
                continue
            cells[heading] = value
        if any(_text(v).strip() for v in cells.values()):
            read.append(ReadRow(row[0].row, cells))
    return read


def _column_number(letter: str) -> int:
    from openpyxl.utils import column_index_from_string  # type: ignore[import-untyped]

    return int(column_index_from_string(letter))


def _heading_at(worksheet: Any, column: int) -> str | None:
    value = worksheet.cell(row=1, column=column).value
    return _text(value).strip().lower() or None


def _value(value: Any) -> Cell:
    """A cell's value as text or a number (a date typed in Excel as ISO text)."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)
