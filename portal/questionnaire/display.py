"""An answer as a line of plain text (for messages, emails and exports)."""

from __future__ import annotations

from datetime import date
from typing import Any

from .definition import Question


def display_value(question: Question, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(no answer)"
    match question.type:
        case "yes_no" | "yes_no_na" | "single_choice":
            return question.choice_label(str(value))
        case "multi_choice":
            return "; ".join(question.choice_label(str(v)) for v in value)
        case "date":
            try:
                return format_day(date.fromisoformat(str(value)))
            except ValueError:
                return str(value)
        case "money_gbp":
            return f"£{value:,.2f}".removesuffix(".00")
        case "percent":
            return f"{value}%"
        case "integer" | "decimal":
            return f"{value}{' ' + question.unit if question.unit else ''}"
        case "table":
            return "; ".join(
                ", ".join(
                    display_value(c, row.get(c.id))
                    for c in question.columns
                    if row.get(c.id) is not None
                )
                for row in value
            )
        case "file":
            return f"{len(value)} file{'s' if len(value) != 1 else ''}"
        case _:
            return str(value)


def format_day(day: date) -> str:
    """3 March 2026: the GOV.UK style for dates."""
    return f"{day.day} {day:%B %Y}"
