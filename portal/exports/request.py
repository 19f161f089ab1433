"""One request as a workbook: summary with a chart, typed answers with findings,
each table question on its own sheet, clarification rounds and the timeline.

The school's copy has everything; the supplier's copy (``for_supplier``) has
its own answers and the clarification rounds, not the school's findings,
overrides or internal history.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter

from ..questionnaire import Question, Questionnaire
from ..questionnaire.compare import OUTCOME_LABELS, Comparison, Finding, Outcome
from ..questionnaire.display import display_value
from .cells import IN_MEMORY, Cells, sheet_name

# Finding fills: what a reviewer scans for first. Outcomes with no fill stay white.
OUTCOME_FILLS = {
    Outcome.MET: "#CCE2D8",
    Outcome.PARTLY_MET: "#FFF7BF",
    Outcome.NOT_MET: "#F4CDC6",
    Outcome.UNANSWERED: "#E8E8E8",
    Outcome.NA_TO_REVIEW: "#FFDCA8",
}
RATING_FILLS = {"green": "#CCE2D8", "amber": "#FFDCA8", "red": "#F4CDC6"}
NUMBER_FORMATS = {
    "integer": "#,##0",
    "decimal": "#,##0.####",
    "money_gbp": '"£"#,##0.00',
    "percent": '0.##"%"',
}
DATE_FORMAT = "d mmm yyyy"
UK = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class ClarificationLine:
    round: int
    question: str
    note: str
    asked_by: str
    asked_on: datetime
    answered_on: datetime | None


@dataclass(frozen=True)
class TimelineLine:
    when: datetime
    who: str
    what: str


@dataclass(frozen=True)
class RequestWorkbook:
    """Everything the workbook shows, gathered by services/downloads/contents.py."""

    questionnaire: Questionnaire
    summary: Sequence[tuple[str, Any]]
    answers: Mapping[str, Any]
    comments: Mapping[str, str | None]
    shown: Mapping[str, bool]
    files: Mapping[str, list[str]]
    comparison: Comparison | None = None
    clarifications: Sequence[ClarificationLine] = ()
    timeline: Sequence[TimelineLine] = ()
    for_supplier: bool = False
    answered_by: Mapping[str, str] = field(default_factory=dict)  # who at the supplier


def _naive(value: datetime) -> datetime:
    # Excel has no time zones: write UK wall-clock time as the page shows it.
    return value.astimezone(UK).replace(tzinfo=None)


def request_workbook(data: RequestWorkbook) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, IN_MEMORY)
    workbook.set_properties({"title": data.questionnaire.title, "comments": "Due Diligence Portal"})
    cells = Cells(workbook)
    cells.add(
        "heading",
        {"bold": True, "bg_color": "#DDDDDD", "text_wrap": True, "valign": "top", "border": 1},
    )
    cells.add("bold", {"bold": True, "valign": "top"})
    cells.add("wrap", {"text_wrap": True, "valign": "top"})
    cells.add("title", {"bold": True, "font_size": 14})
    for outcome, colour in OUTCOME_FILLS.items():
        cells.add(f"outcome:{outcome}", {"bg_color": colour, "text_wrap": True, "valign": "top"})
    for rating, colour in RATING_FILLS.items():
        cells.add(f"rating:{rating}", {"bg_color": colour, "bold": True})
    numbers = {
        qtype: workbook.add_format({"num_format": fmt, "valign": "top", "align": "left"})
        for qtype, fmt in NUMBER_FORMATS.items()
    }
    dates = workbook.add_format({"num_format": DATE_FORMAT, "valign": "top", "align": "left"})
    when = workbook.add_format({"num_format": "d mmm yyyy hh:mm", "valign": "top", "align": "left"})
    taken: set[str] = set()

    _summary_sheet(workbook, cells, data, taken, dates)
    answers_sheet = workbook.add_worksheet(sheet_name("Answers", taken))
    tables = [
        q
        for q in data.questionnaire.questions()
        if q.type == "table" and data.shown.get(q.id, False) and data.answers.get(q.id)
    ]
    table_sheets = {q.id: sheet_name(q.label, taken) for q in tables}
    _answers_sheet(answers_sheet, cells, data, numbers, dates, table_sheets)
    for question in tables:
        _table_sheet(
            workbook.add_worksheet(table_sheets[question.id]),
            cells,
            question,
            data.answers[question.id],
            numbers,
            dates,
        )
    if data.clarifications:
        _clarifications_sheet(
            workbook.add_worksheet(sheet_name("Clarifications", taken)), cells, data, when
        )
    if data.timeline and not data.for_supplier:
        _timeline_sheet(workbook.add_worksheet(sheet_name("Timeline", taken)), cells, data, when)
    workbook.close()
    return buffer.getvalue()


def _summary_sheet(
    workbook: Any, cells: Cells, data: RequestWorkbook, taken: set[str], dates: Any
) -> None:
    sheet = workbook.add_worksheet(sheet_name("Summary", taken))
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 70)
    cells.text(sheet, 0, 0, data.questionnaire.title, "title")
    line = 2
    for label, value in data.summary:
        cells.text(sheet, line, 0, label, "bold")
        if isinstance(value, datetime):
            sheet.write_datetime(line, 1, _naive(value), dates)
        elif isinstance(value, date):
            sheet.write_datetime(line, 1, datetime(value.year, value.month, value.day), dates)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            sheet.write_number(line, 1, value)
        elif label == "Rating" and value in RATING_FILLS:
            cells.text(sheet, line, 1, str(value).capitalize(), f"rating:{value}")
        else:
            cells.text(sheet, line, 1, value if value is not None else "", "wrap")
        line += 1
    comparison = data.comparison
    if comparison is None or data.for_supplier or not comparison.findings:
        return
    line += 1
    cells.text(sheet, line, 0, "Findings by severity", "bold")
    line += 1
    outcomes = list(OUTCOME_LABELS)
    header = line
    cells.texts(sheet, line, ["Severity", *(OUTCOME_LABELS[o] for o in outcomes)], "heading")
    table = comparison.by_severity()
    for severity, counts in table.items():
        line += 1
        cells.text(sheet, line, 0, severity.capitalize())
        for column, outcome in enumerate(outcomes, start=1):
            sheet.write_number(line, column, counts.get(outcome, 0))
    sheet.set_column(2, len(outcomes), 14)
    chart = workbook.add_chart({"type": "column", "subtype": "stacked"})
    name = sheet.get_name()
    for column, outcome in enumerate(outcomes, start=1):
        fill = OUTCOME_FILLS.get(
            outcome, "#8EB8DC" if outcome == Outcome.NEEDS_REVIEW else "#BBBBBB"
        )
        chart.add_series(
            {
                "name": [name, header, column],
                "categories": [name, header + 1, 0, line, 0],
                "values": [name, header + 1, column, line, column],
                "fill": {"color": fill},
                "border": {"color": "#505a5f"},
            }
        )
    chart.set_title({"name": "Findings by severity"})
    chart.set_y_axis({"name": "Requirements", "major_gridlines": {"visible": False}})
    chart.set_legend({"position": "bottom"})
    sheet.insert_chart(line + 2, 0, chart, {"x_scale": 1.4, "y_scale": 1.2})


def _answer_cell(
    sheet: Any,
    cells: Cells,
    line: int,
    column: int,
    question: Question,
    value: Any,
    numbers: Mapping[str, Any],
    dates: Any,
    files: list[str],
    table_sheet: str | None,
) -> None:
    if value is None or value == "" or value == []:
        cells.text(sheet, line, column, "", "wrap")
    elif (
        question.type in NUMBER_FORMATS
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        sheet.write_number(line, column, value, numbers[question.type])
    elif question.type == "date":
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            cells.text(sheet, line, column, value, "wrap")
        else:
            sheet.write_datetime(line, column, datetime(day.year, day.month, day.day), dates)
    elif question.type == "file":
        cells.text(sheet, line, column, "; ".join(files) or display_value(question, value), "wrap")
    elif question.type == "table":
        rows = len(value)
        where = f" (see sheet '{table_sheet}')" if table_sheet else ""
        cells.text(sheet, line, column, f"{rows} row{'s' if rows != 1 else ''}{where}", "wrap")
    else:
        cells.text(sheet, line, column, display_value(question, value), "wrap")


def _answers_sheet(
    sheet: Any,
    cells: Cells,
    data: RequestWorkbook,
    numbers: Mapping[str, Any],
    dates: Any,
    table_sheets: Mapping[str, str],
) -> None:
    columns = [
        ("Section", 22),
        ("Question id", 18),
        ("Question", 50),
        ("Answer", 40),
        ("Supplier comment", 36),
        ("Evidence", 28),
    ]
    if not data.for_supplier:
        columns += [
            ("Requirement", 32),
            ("Finding", 14),
            ("Severity", 10),
            ("Why", 36),
            ("Reviewer's judgement", 16),
            ("Reviewer's reason", 36),
        ]
    columns += [("Answered by", 20)]
    by_column = len(columns) - 1
    cells.header(sheet, columns)
    line = 0
    findings: dict[str, Finding] = (
        {f.question.id: f for f in data.comparison.findings} if data.comparison else {}
    )
    for section in data.questionnaire.sections:
        for question in section.answerable:
            if not data.shown.get(question.id, False):
                continue
            line += 1
            files = data.files.get(question.id, [])
            cells.text(sheet, line, 0, section.title, "wrap")
            cells.text(sheet, line, 1, question.id)
            cells.text(sheet, line, 2, question.label, "wrap")
            _answer_cell(
                sheet,
                cells,
                line,
                3,
                question,
                data.answers.get(question.id),
                numbers,
                dates,
                files,
                table_sheets.get(question.id),
            )
            cells.text(sheet, line, 4, data.comments.get(question.id) or "", "wrap")
            cells.text(sheet, line, 5, "; ".join(files) if question.type != "file" else "", "wrap")
            cells.text(sheet, line, by_column, data.answered_by.get(question.id, ""), "wrap")
            if data.for_supplier:
                continue
            finding = findings.get(question.id)
            if finding is None:
                continue
            style = f"outcome:{finding.outcome}" if finding.outcome in OUTCOME_FILLS else "wrap"
            cells.text(sheet, line, 6, finding.expected, "wrap")
            cells.text(sheet, line, 7, OUTCOME_LABELS[finding.outcome], style)
            cells.text(sheet, line, 8, finding.requirement.severity.capitalize())
            cells.text(
                sheet,
                line,
                9,
                finding.reason if finding.outcome != Outcome.UNANSWERED else "",
                "wrap",
            )
            if finding.review is not None:
                cells.text(sheet, line, 10, OUTCOME_LABELS[finding.review.outcome])
                cells.text(
                    sheet,
                    line,
                    11,
                    f"{finding.review.reason} ({finding.review.by}; computed: "
                    f"{OUTCOME_LABELS[finding.computed]})",
                    "wrap",
                )
    sheet.autofilter(0, 0, max(line, 1), len(columns) - 1)


def _table_sheet(
    sheet: Any,
    cells: Cells,
    question: Question,
    rows: list[dict[str, Any]],
    numbers: Mapping[str, Any],
    dates: Any,
) -> None:
    cells.header(sheet, [(c.label, 24) for c in question.columns])
    for line, row in enumerate(rows, start=1):
        for column, spec in enumerate(question.columns):
            _answer_cell(
                sheet, cells, line, column, spec, row.get(spec.id), numbers, dates, [], None
            )
    sheet.autofilter(0, 0, max(len(rows), 1), len(question.columns) - 1)


def _clarifications_sheet(sheet: Any, cells: Cells, data: RequestWorkbook, when: Any) -> None:
    headings = [
        ("Round", 8),
        ("Question", 50),
        ("Note", 50),
        ("Asked by", 22),
        ("Asked on", 18),
        ("Answered on", 18),
    ]
    cells.header(sheet, headings)
    for line, item in enumerate(data.clarifications, start=1):
        sheet.write_number(line, 0, item.round)
        cells.text(sheet, line, 1, item.question, "wrap")
        cells.text(sheet, line, 2, item.note, "wrap")
        cells.text(sheet, line, 3, item.asked_by)
        sheet.write_datetime(line, 4, _naive(item.asked_on), when)
        if item.answered_on is not None:
            sheet.write_datetime(line, 5, _naive(item.answered_on), when)
    sheet.autofilter(0, 0, max(len(data.clarifications), 1), len(headings) - 1)


def _timeline_sheet(sheet: Any, cells: Cells, data: RequestWorkbook, when: Any) -> None:
    cells.header(sheet, [("When", 18), ("Who", 30), ("What", 80)])
    for line, item in enumerate(data.timeline, start=1):
        sheet.write_datetime(line, 0, _naive(item.when), when)
        cells.text(sheet, line, 1, item.who)
        cells.text(sheet, line, 2, item.what, "wrap")
    sheet.autofilter(0, 0, max(len(data.timeline), 1), 2)
