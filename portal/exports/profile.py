"""An organisation's requirement profile as a workbook a school can draft in Excel.

The Requirements sheet is read back by services/requirements/workbook.py, so the
headings here are its contract: rename one and update both.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import xlsxwriter

from ..questionnaire.definition import (
    OPERATORS,
    OPERATORS_WITHOUT_VALUE,
    SEVERITIES,
    Question,
    Questionnaire,
    Requirement,
)
from ..vocabulary import RULE_OPERATOR_LABELS as OPERATOR_LABELS
from .cells import IN_MEMORY, Cells


@dataclass(frozen=True)
class ProfileRow:
    """One question's rules, as the workbook lays them out (services/requirements/profiles.py
    gathers them)."""

    question: Question
    section_title: str
    baseline: Requirement | None
    trust: Requirement | None
    own: Requirement | None
    effective: Requirement | None
    # Why this organisation's own rule is not applied (looser than the trust's).
    overruled: str = ""


SHEET = "Requirements"
HELP_SHEET = "How to use"

# (heading, width, editable). The last five are what a school fills in.
COLUMNS: tuple[tuple[str, int, bool], ...] = (
    ("Question id", 26, False),
    ("Section", 22, False),
    ("Question", 55, False),
    ("Answer type", 18, False),
    ("Possible answers", 40, False),
    ("Baseline rule", 30, False),
    ("Baseline severity", 11, False),
    ("Trust rule", 30, False),
    ("Rule", 16, True),
    ("Value", 22, True),
    ("Severity", 11, True),
    ("Switched off", 10, True),
    ("Note", 50, True),
)
HEADINGS = tuple(heading for heading, _, _ in COLUMNS)
RULE_COLUMN = HEADINGS.index("Rule")

TYPE_LABELS = {
    "yes_no": "Yes or no",
    "yes_no_na": "Yes, no or not applicable",
    "single_choice": "One choice",
    "multi_choice": "Several choices",
    "text": "Short text",
    "long_text": "Long text",
    "integer": "Whole number",
    "decimal": "Number",
    "money_gbp": "Amount in pounds",
    "percent": "Percentage",
    "date": "Date",
    "email": "Email address",
    "url": "Web address",
    "file": "File upload",
    "table": "Table of rows",
}

VALUE_HINTS = {
    "equals": "one answer, number or text",
    "not_equals": "one answer, number or text",
    "in": "answers separated by commas",
    "not_in": "answers separated by commas",
    "includes_all": "answers separated by commas",
    "includes_any": "answers separated by commas",
    "min": "a number (for a table, file or several-choices question: how many)",
    "max": "a number (for a table, file or several-choices question: how many)",
    "date_after_today": "leave blank",
    "within_days": "a number of days",
    "present": "leave blank",
    "info": "leave blank",
}

INSTRUCTIONS = (
    "Each row of the Requirements sheet is one question. The first columns describe it "
    "and show the baseline rule everyone starts from and, for a school in a trust, the "
    "trust's rule. The yellow columns, Rule to Note, are yours to fill in.",
    "To keep the baseline (or your trust's rule) for a question, leave Rule, Value, "
    "Severity, Switched off and Note blank.",
    "To set your own rule, fill in Rule, Value (unless the rule takes none), Severity "
    "and Note. The Note is required: say why your rule differs, so reviewers and "
    "auditors can follow your reasoning.",
    "For a question with Possible answers, write the codes (or the labels) from that "
    "column in Value, separated by commas, for example: uk, eea.",
    "To switch a rule off, write yes in Switched off and say why in Note. If you leave "
    "Rule blank, the baseline rule is kept on record as the one you switched off.",
    "A school in a trust can only make its trust's rules stricter: a shorter list, a "
    "higher minimum, a lower maximum or a higher severity. It cannot switch them off.",
    "Importing replaces your whole profile: a rule that is not in the file goes back to "
    "the baseline. Nothing changes unless every row is valid; if any row has a problem, "
    "the portal lists each one with its row number so you can fix them and import again.",
    "Keep the Question id column as it is and keep one row per question. You may sort "
    "or filter the rows.",
)


def profile_workbook(
    questionnaire: Questionnaire, rows: list[ProfileRow], organisation_name: str
) -> bytes:
    """One row per answerable question: the baseline and trust rules to read,
    and the organisation's own rule, if any, in the columns to edit."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, IN_MEMORY)
    workbook.set_properties(
        {"title": f"Requirement profile: {questionnaire.title}", "company": organisation_name}
    )
    cells = Cells(workbook)
    heading = {"bold": True, "text_wrap": True, "valign": "top", "border": 1}
    cells.add("heading", {**heading, "bg_color": "#D9D9D9"})
    cells.add("editable heading", {**heading, "bg_color": "#FFE699"})
    cell = cells.add("cell", {"text_wrap": True, "valign": "top"})
    editable = cells.add("editable", {"text_wrap": True, "valign": "top", "bg_color": "#FFF2CC"})

    sheet = workbook.add_worksheet(SHEET)
    for index, (title, width, is_editable) in enumerate(COLUMNS):
        sheet.set_column(index, index, width)
        cells.text(sheet, 0, index, title, "editable heading" if is_editable else "heading")
    for line, row in enumerate(rows, start=1):
        question = row.question
        own = row.own
        fixed = (
            question.id,
            row.section_title,
            question.label,
            _type_words(question),
            "; ".join(f"{c.value} ({c.label})" for c in question.choices),
            _rule_words(row.baseline) if row.baseline else "No baseline requirement",
            row.baseline.severity if row.baseline else "",
            _trust_words(row),
        )
        for column, text in enumerate(fixed):
            if text:
                cells.text(sheet, line, column, text, "cell")
            else:
                sheet.write_blank(line, column, None, cell)
        if own is None:
            for column in range(RULE_COLUMN, len(COLUMNS)):
                sheet.write_blank(line, column, None, editable)
            continue
        cells.text(sheet, line, RULE_COLUMN, own.operator, "editable")
        _write_value(cells, sheet, line, RULE_COLUMN + 1, own.value, editable)
        cells.text(sheet, line, RULE_COLUMN + 2, own.severity, "editable")
        cells.text(sheet, line, RULE_COLUMN + 3, "yes" if own.off else "no", "editable")
        cells.text(sheet, line, RULE_COLUMN + 4, own.note, "editable")

    last = len(rows)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, last, len(COLUMNS) - 1)
    if rows:
        _validate(sheet, last, "Rule", list(OPERATORS), "Use a rule code listed in How to use")
        _validate(sheet, last, "Severity", list(SEVERITIES), "Use critical, major or minor")
        _validate(sheet, last, "Switched off", ["yes", "no"], "Use yes or no")
    sheet.activate()

    _help_sheet(workbook, cells, questionnaire, organisation_name)
    workbook.close()
    return buffer.getvalue()


def _validate(sheet: Any, last: int, column: str, allowed: list[str], message: str) -> None:
    index = HEADINGS.index(column)
    sheet.data_validation(
        1,
        index,
        last,
        index,
        {
            "validate": "list",
            "source": allowed,
            "error_title": f"Check {column}",
            "error_message": message,
        },
    )


def _help_sheet(
    workbook: Any, cells: Cells, questionnaire: Questionnaire, organisation_name: str
) -> None:
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    sheet = workbook.add_worksheet(HELP_SHEET)
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 90)
    sheet.set_column(2, 2, 60)
    cells.text(
        sheet, 0, 0, f"Requirement profile: {questionnaire.title} (version {questionnaire.version})"
    )
    sheet.set_row(0, None, title)
    sheet.write_string(1, 0, "For", bold)
    cells.text(sheet, 1, 1, organisation_name)
    line = 3
    for number, text in enumerate(INSTRUCTIONS, start=1):
        sheet.write_string(line, 0, f"{number}.", wrap)
        sheet.write_string(line, 1, text, wrap)
        line += 1
    line += 1
    sheet.write_row(line, 0, ("Rule", "Means the answer…", "Value"), bold)
    for operator, label in OPERATOR_LABELS.items():
        line += 1
        sheet.write_string(line, 0, operator)
        sheet.write_string(line, 1, label)
        sheet.write_string(line, 2, VALUE_HINTS[operator], wrap)
    line += 2
    sheet.write_string(line, 0, "Severity", bold)
    sheet.write_string(line, 1, "critical, major or minor")


def _write_value(cells: Cells, sheet: Any, line: int, column: int, value: Any, fmt: Any) -> None:
    if value is None:
        sheet.write_blank(line, column, None, fmt)
    elif isinstance(value, bool):
        cells.text(sheet, line, column, str(value).lower(), "editable")
    elif isinstance(value, int | float):
        sheet.write_number(line, column, value, fmt)
    elif isinstance(value, tuple | list):
        cells.text(sheet, line, column, ", ".join(str(v) for v in value), "editable")
    else:
        cells.text(sheet, line, column, str(value), "editable")


def _type_words(question: Question) -> str:
    words = TYPE_LABELS.get(question.type, question.type)
    return f"{words} ({question.unit})" if question.unit else words


def _value_words(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _rule_words(rule: Requirement) -> str:
    """The rule in the words of OPERATOR_LABELS, with values as the codes a school types."""
    if rule.off:
        return "Switched off"
    if rule.operator == "within_days":
        return f"is within the last {_value_words(rule.value)} days"
    label = OPERATOR_LABELS.get(rule.operator, rule.operator)
    if rule.operator in OPERATORS_WITHOUT_VALUE or rule.value is None:
        return label
    return f"{label} {_value_words(rule.value)}"


def _trust_words(row: ProfileRow) -> str:
    if row.trust is None:
        return ""
    words = _rule_words(row.trust)
    if not row.trust.off:
        words = f"{words} ({row.trust.severity})"
    if row.overruled:
        # The school's saved rule is looser than the trust's, so it is not applied.
        words = f"{words}. Your rule is not applied: {row.overruled}"
    return words
