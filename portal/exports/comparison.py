"""Several suppliers side by side for one questionnaire: questions down, suppliers across."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO

import xlsxwriter

from ..questionnaire.compare import OUTCOME_LABELS, Finding, Outcome
from ..questionnaire.definition import Question
from .cells import STREAMING, Cells
from .request import OUTCOME_FILLS, RATING_FILLS


@dataclass(frozen=True)
class ComparisonColumn:
    supplier: str
    reference: str
    rating: str | None
    score: int | None


@dataclass(frozen=True)
class ComparisonLine:
    question: Question
    section: str
    cells: Sequence[Finding | None]


def comparison_workbook(
    out: str | IO[bytes],
    title: str,
    columns: Sequence[ComparisonColumn],
    lines: Iterable[ComparisonLine],
) -> int:
    """Write the matrix to ``out`` row by row (constant memory); returns the rows."""
    workbook = xlsxwriter.Workbook(out, STREAMING)
    workbook.set_properties({"title": f"Side by side: {title}", "comments": "Due Diligence Portal"})
    cells = Cells(workbook)
    cells.add(
        "heading",
        {"bold": True, "bg_color": "#DDDDDD", "text_wrap": True, "valign": "top", "border": 1},
    )
    cells.add("wrap", {"text_wrap": True, "valign": "top"})
    cells.add("bold", {"bold": True, "valign": "top"})
    for outcome, colour in OUTCOME_FILLS.items():
        cells.add(f"outcome:{outcome}", {"bg_color": colour, "text_wrap": True, "valign": "top"})
    for rating, colour in RATING_FILLS.items():
        cells.add(f"rating:{rating}", {"bg_color": colour, "bold": True})
    sheet = workbook.add_worksheet("Side by side")
    headings: list[tuple[str, float]] = [("Section", 20), ("Question", 48), ("Requirement", 30)]
    headings += [(f"{c.supplier} ({c.reference})", 30) for c in columns]
    count = cells.header(sheet, headings)
    sheet.freeze_panes(2, 2)
    cells.text(sheet, 1, 1, "Rating", "bold")
    for offset, column in enumerate(columns, start=3):
        if column.rating:
            score = f" ({column.score})" if column.score is not None else ""
            cells.text(
                sheet, 1, offset, f"{column.rating.capitalize()}{score}", f"rating:{column.rating}"
            )
    line = 1
    for item in lines:
        line += 1
        first = next((cell for cell in item.cells if cell is not None), None)
        cells.text(sheet, line, 0, item.section, "wrap")
        cells.text(sheet, line, 1, item.question.label, "wrap")
        if first is not None:
            cells.text(sheet, line, 2, f"{first.expected} ({first.requirement.severity})", "wrap")
        for offset, finding in enumerate(item.cells, start=3):
            if finding is None:
                cells.text(sheet, line, offset, "Not asked", "wrap")
                continue
            style = f"outcome:{finding.outcome}" if finding.outcome in OUTCOME_FILLS else "wrap"
            text = f"{OUTCOME_LABELS[finding.outcome]}: {finding.actual}"
            if finding.outcome == Outcome.NOT_MET and finding.reason:
                text += f" ({finding.reason})"
            cells.text(sheet, line, offset, text, style)
    sheet.autofilter(0, 0, max(line, 1), count - 1)
    workbook.close()
    return line - 1
