"""One request's answers as a workbook: the supplier's copy of what they sent."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import xlsxwriter

from ..questionnaire import Questionnaire
from ..questionnaire.display import display_value

# Text stays text: an answer that starts with "=" or looks like a number or a
# link must never become a formula, a number or a hyperlink in Excel.
WORKBOOK_OPTIONS = {
    "in_memory": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}


@dataclass(frozen=True)
class CopyDetails:
    reference: str
    school: str
    supplier: str
    submitted: str
    declared_by: str


def answers_workbook(
    questionnaire: Questionnaire,
    answers: Mapping[str, Any],
    comments: Mapping[str, str | None],
    shown: Mapping[str, bool],
    file_names: Mapping[int, str],
    details: CopyDetails,
) -> bytes:
    """The visible questions with their answers and comments, section by section."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
    bold = workbook.add_format({"bold": True})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    heading = workbook.add_format({"bold": True, "bg_color": "#DDDDDD", "text_wrap": True})
    sheet = workbook.add_worksheet("Answers")
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 60)
    sheet.set_column(2, 2, 50)
    sheet.set_column(3, 3, 40)
    rows: Sequence[tuple[str, str]] = (
        ("Questionnaire", f"{questionnaire.title} (version {questionnaire.version})"),
        ("Reference", details.reference),
        ("For", details.school),
        ("Supplier", details.supplier),
        ("Submitted", details.submitted),
        ("Declaration by", details.declared_by),
    )
    for number, (label, value) in enumerate(rows):
        sheet.write_string(number, 0, label, bold)
        sheet.write_string(number, 1, value)
    line = len(rows) + 1
    sheet.write_row(line, 0, ("Question id", "Question", "Answer", "Comment"), heading)
    line += 1
    for section in questionnaire.sections:
        sheet.write_string(line, 0, section.title, bold)
        line += 1
        for question in section.answerable:
            if not shown.get(question.id, False):
                continue
            answer = answers.get(question.id)
            if question.type == "file" and answer:
                text = "; ".join(file_names.get(int(v), "a file") for v in answer)
            else:
                text = display_value(question, answer)
            sheet.write_string(line, 0, question.id)
            sheet.write_string(line, 1, question.label, wrap)
            sheet.write_string(line, 2, text, wrap)
            sheet.write_string(line, 3, comments.get(question.id) or "", wrap)
            line += 1
    sheet.freeze_panes(len(rows) + 2, 0)
    workbook.close()
    return buffer.getvalue()
