"""When evidence runs out (issue 26): what a piece of evidence is, how its
expiry date is known, and where a date stands against today.

A question that takes files (a file question, or one with evidence beside
it) may declare ``evidence_kind`` (what the files are) and ``expires``
(how their expiry is known):

- the id of a date question: the expiry is that answer (``expires =
  "cyber_essentials_expiry"``);
- ``"asked"``: the supplier gives the expiry date beside the upload;
- ``"12 months"``: a period from the issue date the supplier gives.

Pure: "today" is always passed in, so every rule here is tested on any day
(leap years, month ends) without a clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

KINDS: dict[str, str] = {
    "certificate": "Certificate",
    "test_report": "Test report",
    "insurance": "Insurance",
    "policy": "Policy",
    "other": "Other document",
}
ASKED = "asked"
PERIOD = re.compile(r"^\s*(\d{1,3})\s+(month|months|year|years)\s*$")
MAX_MONTHS = 120  # ten years: no certificate, report or policy runs longer
# Where a date stands: within this many days of its expiry it is "expiring".
EXPIRING_DAYS = 60
# Dates past these are typing mistakes ("2205", "1925"), not documents.
LATEST_YEARS_AHEAD = 10
EARLIEST_YEARS_BACK = 30

Status = Literal["expired", "expiring", "current", "unknown"]
STATUS_LABELS: dict[str, str] = {
    "expired": "Expired",
    "expiring": "Expiring soon",
    "current": "Current",
    "unknown": "No expiry date",
}


@dataclass(frozen=True)
class Life:
    """How a question's evidence expiry is known."""

    kind: str  # a key of KINDS
    source: Literal["answer", "asked", "period"]
    answer_id: str = ""  # source "answer": the date question giving the expiry
    months: int = 0  # source "period": months from the issue date

    @property
    def asks_expiry(self) -> bool:
        """Whether the supplier gives the expiry date beside the upload."""
        return self.source == "asked"

    @property
    def asks_issue(self) -> bool:
        """Whether the supplier must give the issue date (the expiry counts from it)."""
        return self.source == "period"


def parse_expires(text: str) -> tuple[Literal["answer", "asked", "period"], str, int] | str:
    """``expires`` as (source, answer id, months), or what is wrong with it."""
    text = text.strip()
    if text == ASKED:
        return "asked", "", 0
    period = PERIOD.match(text)
    if period:
        count = int(period.group(1)) * (12 if period.group(2).startswith("year") else 1)
        if not 1 <= count <= MAX_MONTHS:
            return f"a period of 1 to {MAX_MONTHS} months, not {text!r}"
        return "period", "", count
    if re.match(r"^[a-z][a-z0-9_]{0,62}$", text):
        return "answer", text, 0
    return (
        f"{text!r} is not a date question's id, {ASKED!r}, nor a period like "
        "'12 months' or '3 years'"
    )


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; a day the month lacks becomes its last
    (31 January + 1 month is 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, _days_in(year, month + 1)))


def _days_in(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - date(year, month, 1)).days


def expiry_of(
    life: Life,
    answers: Mapping[str, Any],
    issued_on: date | None,
    given: date | None,
) -> date | None:
    """The expiry of one piece of evidence: from the answer, as given, or
    the period from its issue date. None when what it rests on is missing."""
    if life.source == "answer":
        value = answers.get(life.answer_id)
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None
    if life.source == "asked":
        return given
    return add_months(issued_on, life.months) if issued_on is not None else None


def status_of(expires_on: date | None, today: date, window: int = EXPIRING_DAYS) -> Status:
    """Where an expiry stands today. On its expiry day a document has run out,
    as a "date after today" requirement judges it (compare.py)."""
    if expires_on is None:
        return "unknown"
    if expires_on <= today:
        return "expired"
    if (expires_on - today).days <= window:
        return "expiring"
    return "current"


def check_dates(
    life: Life,
    issued_on: date | None,
    expires_on: date | None,
    today: date,
    *,
    renewing: bool = False,
) -> dict[str, str]:
    """What is wrong with the dates given beside an upload, by field
    ("issued", "expires"); empty when they are sound. ``renewing``: the
    supplier says a document that has run out is being renewed."""
    problems: dict[str, str] = {}
    earliest = date(today.year - EARLIEST_YEARS_BACK, 1, 1)
    latest = add_months(today, LATEST_YEARS_AHEAD * 12)
    if issued_on is not None:
        if issued_on > today:
            problems["issued"] = "The issue date must be today or in the past"
        elif issued_on < earliest:
            problems["issued"] = f"The issue date must be after {earliest.year}: check the year"
    elif life.asks_issue:
        problems["issued"] = "Enter the date the document was issued: its expiry counts from it"
    if life.source == "period" and issued_on is not None and "issued" not in problems:
        ran_out = add_months(issued_on, life.months)
        if ran_out <= today and not renewing:
            problems["issued"] = (
                f"Issued on {_day(issued_on)}, this document ran out on "
                f"{_day(ran_out)}: upload the current one, or say it is being renewed"
            )
    if life.asks_expiry and expires_on is None:
        problems["expires"] = "Enter the date the document expires"
    if expires_on is not None:
        if issued_on is not None and expires_on <= issued_on:
            problems["expires"] = "The expiry date must be after the issue date"
        elif expires_on > latest:
            problems["expires"] = (
                f"The expiry date must be within {LATEST_YEARS_AHEAD} years: check the year"
            )
        elif expires_on <= today and not renewing:
            problems["expires"] = (
                "This document has expired: upload the current one, or say it is being renewed"
            )
    return problems


def _day(day: date) -> str:
    # display.format_day's words; display imports the definitions, which import this.
    return f"{day.day} {day:%B %Y}"
