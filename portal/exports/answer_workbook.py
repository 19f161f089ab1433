"""The supplier's answers workbook (issue 25): written with a drop-down for
every choice, checks on numbers and dates, and a hidden sheet saying which
question each row is; read back as plain cells.

What each row holds is the engine's (questionnaire/answer_workbook.py).
A cell is read as it is stored: a formula comes back as its text, never
evaluated, and the service's form then says what is wrong with it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import xlsxwriter
from openpyxl import load_workbook  # type: ignore[import-untyped]

from ..questionnaire.answer_workbook import SheetPlan
from ..questionnaire.definition import NUMBER_TYPES, Question
from .cells import IN_MEMORY, Cells, sheet_name

IDS = "ids"
LISTS = "lists"
ABOUT = "About this workbook"
ANSWER_COLUMN = 1  # B: "Your answer"
COMMENT_COLUMN = 2  # C
HEADINGS = (
    ("Question", 60),
    ("Your answer", 40),
    ("Comment", 30),
    ("Must be answered", 12),
    ("What to write", 30),
    ("A follow-up", 40),
    ("File needed", 14),
    ("Help", 50),
    ("Copied answer", 40),
)
COPIED_COLUMN = 8
COPIED_WORDS = (
    "{source}. Keep it or change it here: an answer you change here is yours; "
    "one you keep counts once you save its section on the web pages"
)
# Past this, a drop-down's choices live on the hidden lists sheet (Excel's
# limit for a list written into the rule is 255 characters).
INLINE_LIST_LIMIT = 250
MAX_BYTES = 5 * 1024 * 1024
NOT_OURS = (
    "This is not an answers workbook downloaded from this portal: download one "
    "from your task list, fill it in and upload that"
)


@dataclass(frozen=True)
class About:
    """What the workbook says it is for, checked when it comes back."""

    reference: str
    school: str
    supplier: str
    questionnaire: str  # title
    key: str
    version: int
    local_version: int  # the school's own questions' version, 0 for none
    made_at: datetime


def write(about: About, sheets: Sequence[SheetPlan]) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, IN_MEMORY)
    cells = Cells(workbook)
    cells.add("heading", {"bold": True, "bg_color": "#DDDDDD", "text_wrap": True, "border": 1})
    cells.add("wrap", {"text_wrap": True, "valign": "top"})
    cells.add(
        "answer", {"text_wrap": True, "valign": "top", "bg_color": "#FFF7BF", "locked": False}
    )
    cells.add("muted", {"text_wrap": True, "valign": "top", "font_color": "#505A5F"})
    cells.add("title", {"bold": True, "font_size": 14})
    day = workbook.add_format(
        {"num_format": "dd/mm/yyyy", "valign": "top", "bg_color": "#FFF7BF", "align": "left"}
    )
    number = workbook.add_format({"valign": "top", "bg_color": "#FFF7BF", "align": "left"})
    front = workbook.add_worksheet(ABOUT)
    ids: list[list[Any]] = [
        ["reference", about.reference],
        ["questionnaire", about.key],
        ["version", about.version],
        ["local_version", about.local_version],
        ["made_at", about.made_at.isoformat()],
    ]
    lists: list[list[str]] = []
    taken = {ABOUT.casefold(), IDS, LISTS}
    _about_sheet(front, cells, about)
    for plan in sheets:
        name = sheet_name(plan.section.title, taken)
        sheet = workbook.add_worksheet(name)
        cells.header(sheet, HEADINGS)
        for line, row in enumerate(plan.rows, start=1):
            q = row.question
            style = "wrap" if row.asked else "muted"
            cells.text(sheet, line, 0, q.label, style)
            if q.type == "table":
                table = sheet_name(f"Table {q.label}", taken)
                cells.text(sheet, line, ANSWER_COLUMN, f"On the sheet “{table}”", "muted")
                _table_sheet(workbook, cells, table, q, row.table, ids)
            elif q.answerable and q.type != "file":
                _answer_cell(sheet, cells, line, q, row.answer, day, number)
                _validation(sheet, line, q, row.choices, lists)
            if q.comment:
                cells.text(sheet, line, COMMENT_COLUMN, row.comment, "answer")
            if q.answerable:
                required = (
                    "Yes"
                    if q.required and not q.required_if
                    else ("If asked" if q.required_if else "No")
                )
                cells.text(sheet, line, 3, required, style)
            cells.text(sheet, line, 4, row.format, style)
            cells.text(sheet, line, 5, row.condition, style)
            if row.needs_file:
                cells.text(sheet, line, 6, "Upload on the web page", style)
            cells.text(sheet, line, 7, q.help, style)
            if row.copied:
                cells.text(
                    sheet, line, COPIED_COLUMN, COPIED_WORDS.format(source=row.copied), style
                )
            # The comment as it was, to tell a comment changed in the workbook
            # from one changed on the web since.
            ids.append([name, line + 1, q.id, row.revision, "question", row.comment])
        sheet.freeze_panes(1, 1)
    lists_sheet = workbook.add_worksheet(LISTS)
    for column, labels in enumerate(lists):
        for line, label in enumerate(labels):
            cells.text(lists_sheet, line, column, label)
    lists_sheet.hide()
    id_sheet = workbook.add_worksheet(IDS)
    for line, values in enumerate(ids):
        for column, value in enumerate(values):
            if isinstance(value, int):
                id_sheet.write_number(line, column, value)
            else:
                cells.text(id_sheet, line, column, value)
    id_sheet.hide()
    workbook.close()
    return buffer.getvalue()


def _about_sheet(sheet: Any, cells: Cells, about: About) -> None:
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 90)
    cells.text(sheet, 0, 0, f"{about.questionnaire}: your answers", "title")
    lines = [
        ("Request", about.reference),
        ("From", about.school),
        ("Supplier", about.supplier),
        ("Questionnaire", f"{about.questionnaire} (version {about.version})"),
        ("Downloaded", about.made_at.strftime("%d/%m/%Y %H:%M UTC")),
        ("How to answer", "Each section has its own sheet. Write your answers in the yellow "
         "“Your answer” column: choose from the drop-down where there is one. A follow-up is "
         "asked only when the answer it names is given; answer it if so. Files cannot travel "
         "in a spreadsheet: upload them on the web pages."),
        ("Then", "Upload the workbook on your task list. Every answer is checked as the web "
         "pages check it and saved straight away if it is sound; we list any we could not "
         "take, and any answer removed because you emptied its cell. An answer or comment "
         "changed on the web since you downloaded this workbook is never overwritten: we "
         "list both. Nothing is submitted until you check your answers and submit on the "
         "web pages."),
        ("Copied answers", "Answers copied from an earlier questionnaire or an assessment "
         "you uploaded are marked in the last column. Change one here and it is yours; "
         "one left as it is counts once you save its section on the web pages."),
        ("Do not", "rename or reorder the sheets or rows, or share this workbook outside "
         "your organisation: it holds your answers to this school's request."),
    ]  # fmt: skip
    for line, (key, value) in enumerate(lines, start=2):
        cells.text(sheet, line, 0, key, "heading")
        cells.text(sheet, line, 1, value, "wrap")


def _answer_cell(
    sheet: Any, cells: Cells, line: int, q: Question, value: Any, day: Any, number: Any
) -> None:
    if isinstance(value, date):
        sheet.write_datetime(line, ANSWER_COLUMN, datetime(value.year, value.month, value.day), day)
    elif isinstance(value, bool) or value is None:
        if value is None:
            sheet.write_blank(
                line, ANSWER_COLUMN, None, day if q.type == "date" else cells["answer"]
            )
        else:
            cells.text(sheet, line, ANSWER_COLUMN, "Yes" if value else "No", "answer")
    elif isinstance(value, int | float):
        sheet.write_number(line, ANSWER_COLUMN, value, number)
    else:
        cells.text(sheet, line, ANSWER_COLUMN, value, "answer")


def _validation(
    sheet: Any, line: int, q: Question, choices: Sequence[str], lists: list[list[str]]
) -> None:
    """The cell's own check: a drop-down, or a number or date range. Excel,
    LibreOffice and Google Sheets all keep these; the upload checks again."""
    rule: dict[str, Any] | None = None
    if q.type in ("yes_no", "yes_no_na", "single_choice") and choices:
        rule = {"validate": "list", "source": _source(choices, lists)}
    elif q.type == "multi_choice":
        rule = None  # several answers in a cell: no drop-down can take them
    elif q.type in ("integer", "decimal", "money_gbp", "percent"):
        low = q.min if q.min is not None else (0 if q.type == "percent" else -1e15)
        high = q.max if q.max is not None else (100 if q.type == "percent" else 1e15)
        rule = {
            "validate": "integer" if q.type == "integer" else "decimal",
            "criteria": "between",
            "minimum": low,
            "maximum": high,
            "error_message": f"Enter a number{'' if q.min is None and q.max is None else f' from {low:g} to {high:g}'}",
        }
    elif q.type == "date":
        rule = {
            "validate": "date",
            "criteria": "between",
            "minimum": datetime(1900, 1, 1),
            "maximum": datetime(2200, 12, 31),
            "error_message": "Enter a date, like 31/03/2027",
        }
    if rule is not None:
        rule.setdefault("error_type", "warning")  # a warning: the upload says what is wrong
        sheet.data_validation(line, ANSWER_COLUMN, line, ANSWER_COLUMN, rule)


def _source(choices: Sequence[str], lists: list[list[str]]) -> Any:
    if sum(len(c) + 1 for c in choices) <= INLINE_LIST_LIMIT and not any("," in c for c in choices):
        return list(choices)
    lists.append(list(choices))
    column = xlsxwriter.utility.xl_col_to_name(len(lists) - 1)
    return f"={LISTS}!${column}$1:${column}${len(choices)}"


def _table_sheet(
    workbook: Any,
    cells: Cells,
    name: str,
    q: Question,
    rows: Sequence[Sequence[Any]],
    ids: list[list[Any]],
) -> None:
    sheet = workbook.add_worksheet(name)
    cells.header(sheet, [(c.label, 30) for c in q.columns])
    for line, values in enumerate(rows, start=1):
        for column, value in enumerate(values):
            if isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(line, column, value)
            elif value is not None:
                cells.text(
                    sheet, line, column, value if not isinstance(value, date) else value.isoformat()
                )
    for column, part in enumerate(q.columns):
        if part.type in ("yes_no", "yes_no_na", "single_choice") and part.choices:
            sheet.data_validation(1, column, q.max_rows, column, {
                "validate": "list", "source": [c.label for c in part.choices], "error_type": "warning"})  # fmt: skip
        elif part.type in NUMBER_TYPES:
            sheet.data_validation(1, column, q.max_rows, column, {
                "validate": "decimal", "criteria": "between", "minimum": -1e15, "maximum": 1e15,
                "error_type": "warning"})  # fmt: skip
    ids.append([name, 1, q.id, 0, "table"])


# --- reading -------------------------------------------------------------------


@dataclass
class ReadBack:
    """An uploaded answers workbook as plain cells."""

    about: dict[str, Any] = field(default_factory=dict)
    # question id -> (sheet, row, question text, answer cell, comment cell)
    cells: dict[str, tuple[str, int, Any, Any, Any]] = field(default_factory=dict)
    revisions: dict[str, int] = field(default_factory=dict)
    # question id -> its comment when the workbook was made (workbooks made
    # before this was kept have none)
    comments_then: dict[str, str] = field(default_factory=dict)
    # table question id -> (sheet, its rows of cells)
    tables: dict[str, tuple[str, list[list[Any]]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class NotOurWorkbook(ValueError):
    """The file cannot be read as one of our answers workbooks: the message says why."""


def read(data: bytes) -> ReadBack:
    if len(data) > MAX_BYTES:
        raise NotOurWorkbook(
            f"The file is {len(data) / 1024 / 1024:.1f} MB: an answers workbook is far smaller. "
            "Upload the workbook you downloaded, without pictures or other sheets added"
        )
    try:
        book = load_workbook(io.BytesIO(data), data_only=False)
    except Exception as exc:  # openpyxl fails on a bad upload in many ways
        raise NotOurWorkbook("The file is not an Excel workbook (.xlsx)") from exc
    if IDS not in book.sheetnames:
        raise NotOurWorkbook(NOT_OURS)
    found = ReadBack()
    id_rows = [list(r) for r in book[IDS].iter_rows(values_only=True)]
    for line in id_rows:
        if len(line) >= 2 and line[0] in (
            "reference",
            "questionnaire",
            "version",
            "local_version",
            "made_at",
        ):
            found.about[str(line[0])] = line[1]
    if not found.about.get("reference"):
        raise NotOurWorkbook(NOT_OURS)
    for line in id_rows:
        if len(line) < 5 or line[4] not in ("question", "table"):
            continue
        sheet, row, qid, revision, kind = line[:5]
        if sheet not in book.sheetnames or not isinstance(row, int) or not isinstance(qid, str):
            found.problems.append(f"The workbook's list of questions was changed (sheet {sheet})")
            continue
        worksheet = book[sheet]
        if kind == "table":
            rows = [[_value(cell) for cell in cells] for cells in worksheet.iter_rows(min_row=2)]
            found.tables[qid] = (sheet, rows)
            continue
        label = worksheet.cell(row, 1).value
        answer = _value(worksheet.cell(row, ANSWER_COLUMN + 1))
        comment = worksheet.cell(row, COMMENT_COLUMN + 1).value
        found.cells[qid] = (sheet, row, label, answer, comment)
        found.revisions[qid] = int(revision) if isinstance(revision, int | float) else 0
        if len(line) >= 6:
            found.comments_then[qid] = "" if line[5] is None else str(line[5])
    return found


def _value(cell: Any) -> Any:
    """A cell's value as the person sees it: "99.5%" typed into Excel is
    stored as 0.995 with a percentage format, and means 99.5."""
    value = cell.value
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and "%" in str(cell.number_format or "")
    ):
        scaled = round(value * 100, 9)  # 0.995 * 100 is 99.49999999999999
        return int(scaled) if float(scaled).is_integer() else scaled
    return value
