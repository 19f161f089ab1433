"""The school's register of suppliers as a workbook: one row per supplier."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import IO

import xlsxwriter

from ..models import DpiaStatus
from ..services.school.register import RegisterEntry
from ..vocabulary import DPIA_STATUS_LABELS as DPIA_LABELS
from .cells import IN_MEMORY, list_styles
from .request import RATING_FILLS

COLUMNS = (
    ("Supplier", 30),
    ("What we use them for", 26),
    ("Contract start", 13),
    ("Contract end", 13),
    ("Personal data they hold", 40),
    ("Latest assessment", 30),
    ("Rating", 10),
    ("Decision", 24),
    ("Conditions", 40),
    ("Last reviewed", 13),
    ("Next review", 13),
    ("Overdue", 10),
    ("Notes", 40),
    ("DPIA", 24),
)


def _day(value: date | None) -> datetime | None:
    return None if value is None else datetime(value.year, value.month, value.day)


def supplier_register_workbook(
    out: str | IO[bytes], school: str, entries: Sequence[RegisterEntry]
) -> None:
    workbook = xlsxwriter.Workbook(out, IN_MEMORY)
    workbook.set_properties({"title": f"Suppliers: {school}", "comments": "Due Diligence Portal"})
    cells, dates = list_styles(workbook, {"rating": RATING_FILLS})
    sheet = workbook.add_worksheet("Suppliers")
    count = cells.header(sheet, COLUMNS)
    for line, entry in enumerate(entries, 1):
        use, latest = entry.use, entry.latest
        cells.text(sheet, line, 0, entry.supplier.name, "wrap")
        cells.text(sheet, line, 1, entry.category, "wrap")
        cells.text(sheet, line, 4, (use.data_held if use else None) or "", "wrap")
        if latest is not None:
            cells.text(sheet, line, 5, latest.label, "wrap")
            if latest.rating:
                cells.text(sheet, line, 6, latest.rating.capitalize(), f"rating:{latest.rating}")
            cells.text(sheet, line, 7, latest.decision, "wrap")
            cells.text(sheet, line, 8, "\n".join(latest.conditions), "wrap")
        for column, value in (
            (2, use.contract_start if use else None),
            (3, use.contract_end if use else None),
            (9, use.last_reviewed_on if use else None),
            (10, entry.next_review_date),
        ):
            day = _day(value)
            if day is not None:
                sheet.write_datetime(line, column, day, dates)
        if entry.overdue:
            cells.text(sheet, line, 11, "Overdue", "overdue")
        cells.text(sheet, line, 12, (use.notes if use else None) or "", "wrap")
        if entry.dpia is not None:
            cells.text(sheet, line, 13, DPIA_LABELS[DpiaStatus(entry.dpia.status)], "wrap")
    sheet.autofilter(0, 0, max(len(entries), 1), count - 1)
    workbook.close()
