"""Writing untrusted text into spreadsheets so it stays text.

Supplier and school text is untrusted. In a workbook it must never become a
formula, an array formula, a hyperlink or a number: the workbook options turn
xlsxwriter's guessing off, text goes through ``write_string``, and text that
starts like a formula gets Excel's quote prefix so even a user who edits the
cell and presses Enter keeps text. CSV has no types, so a leading apostrophe
does that job there (the OWASP advice for CSV injection).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Text stays text: xlsxwriter would otherwise turn "=..." into a formula,
# "012" into a number and "http://..." into a link.
SAFE_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}
IN_MEMORY = {**SAFE_OPTIONS, "in_memory": True}
# For workbooks that can grow: rows go to disk as written (needs a file path).
STREAMING = {**SAFE_OPTIONS, "constant_memory": True}

# What Excel (and LibreOffice) read as the start of a formula or a DDE command.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
EXCEL_CELL_LIMIT = 32_767
TRUNCATED = " [cut: longer than a spreadsheet cell can hold]"
# XML 1.0 cannot carry these; Excel shows xlsxwriter's escapes for them literally.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def clean_text(value: Any) -> str:
    """Printable text that fits one cell, marked visibly when it was cut."""
    text = "" if value is None else str(value)
    # Most cells are one line of printable text: nothing to change, and the
    # check (in C) costs a third of the regular expression that follows.
    if text.isprintable() and len(text) <= EXCEL_CELL_LIMIT:
        return text
    text = CONTROL.sub("", text)
    # A line break inside a cell is LF; a bare CR would be written as "_x000D_".
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > EXCEL_CELL_LIMIT:
        text = text[: EXCEL_CELL_LIMIT - len(TRUNCATED)] + TRUNCATED
    return text


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_START) or text.startswith("{=")


class Cells:
    """Formats of one workbook, each with a quote-prefixed twin for risky text."""

    def __init__(self, workbook: Any) -> None:
        self.workbook = workbook
        self._formats: dict[str, tuple[Any, Any]] = {}
        self.add("", {})

    def add(self, name: str, properties: dict[str, Any]) -> Any:
        self._formats[name] = (
            self.workbook.add_format(properties),
            self.workbook.add_format({**properties, "quote_prefix": True}),
        )
        return self._formats[name][0]

    def __getitem__(self, name: str) -> Any:
        return self._formats[name][0]

    def text(self, sheet: Any, row: int, column: int, value: Any, style: str = "") -> None:
        """Write user (or any) text as a string cell that stays a string."""
        text = clean_text(value)
        plain, quoted = self._formats[style]
        sheet.write_string(row, column, text, quoted if looks_like_formula(text) else plain)

    def header(
        self, sheet: Any, columns: Iterable[tuple[str, float]], style: str = "heading"
    ) -> int:
        """Headings in row 1 with their column widths, frozen while scrolling;
        returns the number of columns (for the autofilter)."""
        count = 0
        for index, (title, width) in enumerate(columns):
            sheet.set_column(index, index, width)
            self.text(sheet, 0, index, title, style)
            count += 1
        sheet.freeze_panes(1, 0)
        return count

    def texts(
        self, sheet: Any, row: int, values: Iterable[Any], style: str = "", first: int = 0
    ) -> None:
        for offset, value in enumerate(values):
            self.text(sheet, row, first + offset, value, style)


def sheet_name(text: str, taken: set[str]) -> str:
    """A valid, unused sheet name from any text: at most 31 characters, none of
    []:*?/\\, not blank, not starting or ending with an apostrophe."""
    base = SHEET_NAME_FORBIDDEN.sub(" ", CONTROL.sub("", text)).strip().strip("'").strip()
    base = " ".join(base.split())[:31] or "Sheet"
    name, number = base, 2
    while name.casefold() in {t.casefold() for t in taken} or name.casefold() == "history":
        suffix = f" ({number})"
        name = base[: 31 - len(suffix)] + suffix
        number += 1
    taken.add(name)
    return name


def csv_cell(value: Any) -> str:
    """A CSV field that no spreadsheet will run: formula-like text gets a leading
    apostrophe, which Excel and LibreOffice show as text."""
    text = CONTROL.sub("", "" if value is None else str(value))
    return "'" + text if looks_like_formula(text) else text


HEADING = {"bold": True, "bg_color": "#DDDDDD", "text_wrap": True, "valign": "top", "border": 1}


def list_styles(workbook: Any, fills: dict[str, dict[str, str]] | None = None) -> tuple[Cells, Any]:
    """The styles of a list workbook (registers, timelines): headings, wrapped
    text, overdue in red, a fill per value in ``fills`` (``{"rating": {"green":
    "#CCE2D8"}}`` gives the style "rating:green"); and the date format."""
    cells = Cells(workbook)
    cells.add("heading", HEADING)
    cells.add("wrap", {"text_wrap": True, "valign": "top"})
    cells.add("overdue", {"bold": True, "font_color": "#B10E1E", "valign": "top"})
    for prefix, colours in (fills or {}).items():
        for value, colour in colours.items():
            cells.add(f"{prefix}:{value}", {"bg_color": colour, "valign": "top"})
    dates = workbook.add_format({"num_format": "d mmm yyyy", "valign": "top", "align": "left"})
    return cells, dates
