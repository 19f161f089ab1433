"""The school's standards as workbooks: the RACI matrix, and progress with
its timeline (for governors and inspectors)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter

from .cells import IN_MEMORY, Cells, list_styles


@dataclass(frozen=True)
class RaciRow:
    """One task of the matrix (services/school/raci.py lays it out)."""

    task: str
    standards: tuple[str, ...]  # the standards the task serves
    letters: tuple[str, ...]  # per column of the chart: "", "R", "A/C"...
    gaps: tuple[str, ...]  # what is wrong with the task's chart, in words


@dataclass(frozen=True)
class RaciChart:
    parties: tuple[str, ...]  # the columns, as the school reads them
    rows: tuple[RaciRow, ...]


@dataclass(frozen=True)
class StandardRow:
    """One standard's status and plan (services/school/standards.py gathers them)."""

    name: str
    status: str  # the stored status ("partly_met"), which picks the fill
    status_label: str
    answered: int
    items: int
    target_date: date | None
    next_review_date: date | None


@dataclass(frozen=True)
class DueRow:
    """One dated thing on the school's timeline."""

    on: date
    what: str
    kind: str
    status: str
    overdue: bool


STATUS_FILLS = {
    "met": "#CCE2D8",
    "partly_met": "#FFF7BF",
    "not_met": "#F4CDC6",
    "not_started": "#E5E6E7",
}


def _book(out: str | IO[bytes], title: str) -> tuple[Any, Cells, Any]:
    workbook = xlsxwriter.Workbook(out, IN_MEMORY)
    workbook.set_properties({"title": title, "comments": "Due Diligence Portal"})
    cells, dates = list_styles(workbook, {"status": STATUS_FILLS})
    cells.add("centre", {"align": "center", "valign": "top", "border": 1})
    cells.add("accountable", {"align": "center", "valign": "top", "bold": True, "border": 1, "bg_color": "#D2E2F1"})  # fmt: skip
    cells.add("gap", {"bold": True, "font_color": "#B10E1E", "text_wrap": True, "valign": "top"})
    return workbook, cells, dates


def _day(value: date | None) -> datetime | None:
    return None if value is None else datetime(value.year, value.month, value.day)


def raci_workbook(out: str | IO[bytes], school: str, chart: RaciChart) -> None:
    """Tasks down, people and roles across, the letters in the cells; the
    standards each task serves, and its gaps."""
    workbook, cells, _ = _book(out, f"RACI: {school}")
    sheet = workbook.add_worksheet("RACI")
    parties = chart.parties
    count = cells.header(
        sheet, [("Task", 50), ("Standards", 34), *((p, 14) for p in parties), ("Gaps", 30)]
    )
    sheet.set_row(0, 45)
    for line, task in enumerate(chart.rows, 1):
        cells.text(sheet, line, 0, task.task, "wrap")
        cells.text(sheet, line, 1, "\n".join(task.standards), "wrap")
        for offset, letters in enumerate(task.letters):
            if letters:
                style = "accountable" if "A" in letters.split("/") else "centre"
                cells.text(sheet, line, 2 + offset, letters, style)
        if task.gaps:
            cells.text(sheet, line, 2 + len(parties), "; ".join(task.gaps), "gap")
    sheet.autofilter(0, 0, max(len(chart.rows), 1), count - 1)
    key = workbook.add_worksheet("Key")
    cells.header(key, [("Letter", 10), ("Means", 70)])
    for line, (letter, words) in enumerate(
        (
            ("R", "Responsible: does the work"),
            ("A", "Accountable: answers for the outcome; exactly one per task"),
            ("C", "Consulted: asked before a decision"),
            ("I", "Informed: told after"),
        ),
        1,
    ):
        cells.texts(key, line, (letter, words))
    workbook.close()


def timeline_workbook(
    out: str | IO[bytes], school: str, standards: Sequence[StandardRow], entries: Sequence[DueRow]
) -> None:
    """Each standard's status and plan, then everything that falls due,
    overdue first."""
    workbook, cells, dates = _book(out, f"Standards progress: {school}")
    sheet = workbook.add_worksheet("Standards")
    count = cells.header(
        sheet,
        [("Standard", 44), ("Status", 14), ("Items answered", 10), ("Target date", 14),
         ("Next review", 14)],
    )  # fmt: skip
    for line, standard in enumerate(standards, 1):
        cells.text(sheet, line, 0, standard.name, "wrap")
        cells.text(sheet, line, 1, standard.status_label, f"status:{standard.status}")
        cells.text(sheet, line, 2, f"{standard.answered} of {standard.items}")
        for column, value in ((3, standard.target_date), (4, standard.next_review_date)):
            day = _day(value)
            if day is not None:
                sheet.write_datetime(line, column, day, dates)
    sheet.autofilter(0, 0, max(len(standards), 1), count - 1)
    due = workbook.add_worksheet("Timeline")
    count = cells.header(
        due, [("Due", 14), ("What", 50), ("Kind", 18), ("Status", 16), ("Overdue", 10)]
    )
    for line, entry in enumerate(entries, 1):
        day = _day(entry.on)
        if day is not None:
            due.write_datetime(line, 0, day, dates)
        cells.text(due, line, 1, entry.what, "wrap")
        cells.texts(due, line, (entry.kind, entry.status), first=2)
        if entry.overdue:
            cells.text(due, line, 4, "Overdue", "gap")
    due.autofilter(0, 0, max(len(entries), 1), count - 1)
    workbook.close()
