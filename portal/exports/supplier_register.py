"""The school's register of suppliers as a workbook: one row per supplier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

import xlsxwriter

from .cells import IN_MEMORY, list_styles
from .request import RATING_FILLS


@dataclass(frozen=True)
class LatestAssessment:
    """The assessment that stands for the supplier: a request or an adoption."""

    label: str  # "DD-7K2M9Q (accepted with conditions)"
    rating: str | None  # "green", which picks the fill
    decision: str
    conditions: tuple[str, ...]


@dataclass(frozen=True)
class SupplierRow:
    """One supplier of the register (services/school/register.py gathers them)."""

    supplier: str
    category: str  # in words; "" when the school has not said
    contract_start: date | None
    contract_end: date | None
    data_held: str
    latest: LatestAssessment | None
    last_reviewed_on: date | None
    next_review_date: date | None
    overdue: bool
    notes: str
    dpia: str | None  # the DPIA's status in words, when the school has begun one
    # The first expiry of the latest assessment's evidence (issue 26).
    evidence_expires: date | None = None


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
    ("Next evidence expiry", 14),
)


def _day(value: date | None) -> datetime | None:
    return None if value is None else datetime(value.year, value.month, value.day)


def supplier_register_workbook(
    out: str | IO[bytes], school: str, entries: Sequence[SupplierRow]
) -> None:
    workbook = xlsxwriter.Workbook(out, IN_MEMORY)
    workbook.set_properties({"title": f"Suppliers: {school}", "comments": "Due Diligence Portal"})
    cells, dates = list_styles(workbook, {"rating": RATING_FILLS})
    sheet = workbook.add_worksheet("Suppliers")
    count = cells.header(sheet, COLUMNS)
    for line, entry in enumerate(entries, 1):
        latest = entry.latest
        cells.text(sheet, line, 0, entry.supplier, "wrap")
        cells.text(sheet, line, 1, entry.category, "wrap")
        cells.text(sheet, line, 4, entry.data_held, "wrap")
        if latest is not None:
            cells.text(sheet, line, 5, latest.label, "wrap")
            if latest.rating:
                cells.text(sheet, line, 6, latest.rating.capitalize(), f"rating:{latest.rating}")
            cells.text(sheet, line, 7, latest.decision, "wrap")
            cells.text(sheet, line, 8, "\n".join(latest.conditions), "wrap")
        for column, value in (
            (2, entry.contract_start),
            (3, entry.contract_end),
            (9, entry.last_reviewed_on),
            (10, entry.next_review_date),
            (14, entry.evidence_expires),
        ):
            day = _day(value)
            if day is not None:
                sheet.write_datetime(line, column, day, dates)
        if entry.overdue:
            cells.text(sheet, line, 11, "Overdue", "overdue")
        cells.text(sheet, line, 12, entry.notes, "wrap")
        if entry.dpia is not None:
            cells.text(sheet, line, 13, entry.dpia, "wrap")
    sheet.autofilter(0, 0, max(len(entries), 1), count - 1)
    workbook.close()
