"""An organisation's audit trail as a workbook, streamed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO

import xlsxwriter

from .cells import STREAMING, Cells

COLUMNS: tuple[tuple[str, float], ...] = (
    ("When (UTC)", 20),
    ("Who", 30),
    ("What", 50),
    ("Request", 14),
    ("Details", 60),
)


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    who: str
    what: str
    request: str
    details: str


def audit_workbook(out: str | IO[bytes], lines: Iterable[AuditLine], title: str) -> int:
    workbook = xlsxwriter.Workbook(out, STREAMING)
    workbook.set_properties({"title": title, "comments": "Due Diligence Portal"})
    cells = Cells(workbook)
    cells.add("heading", {"bold": True, "bg_color": "#DDDDDD", "border": 1})
    cells.add("wrap", {"text_wrap": True, "valign": "top"})
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss", "valign": "top"})
    sheet = workbook.add_worksheet("Audit trail")
    count = cells.header(sheet, COLUMNS)
    row = 0
    for line in lines:
        row += 1
        # Excel has no time zones: the naive UTC time, said so in the heading.
        sheet.write_datetime(row, 0, line.at.replace(tzinfo=None), when)
        cells.text(sheet, row, 1, line.who, "wrap")
        cells.text(sheet, row, 2, line.what, "wrap")
        cells.text(sheet, row, 3, line.request)
        cells.text(sheet, row, 4, line.details, "wrap")
    sheet.autofilter(0, 0, max(row, 1), count - 1)
    workbook.close()
    return row
