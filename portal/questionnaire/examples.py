"""A complete, valid set of answers for any questionnaire: for demo data, for
trying a new definition, and as a starting point for tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

from . import logic
from .definition import Question, Questionnaire


def candidates(question: Question, today: date) -> Iterator[Any]:
    """Plausible answers, best first: the requirement's own value when it has one."""
    requirement = question.requirement
    if requirement is not None and requirement.value is not None:
        value = requirement.value
        if requirement.operator in ("equals", "min", "max"):
            yield value
        elif requirement.operator in ("in", "includes_any"):
            yield value[0] if question.type != "multi_choice" else [value[0]]
        elif requirement.operator == "includes_all":
            yield list(value)
        elif requirement.operator == "not_in" and question.choices:
            yield from (c.value for c in question.choices if c.value not in value)
        elif requirement.operator == "within_days":
            yield (today - timedelta(days=max(0, int(value) // 2))).isoformat()
    match question.type:
        case "yes_no" | "yes_no_na" | "single_choice":
            yield from (c.value for c in question.choices)
        case "multi_choice":
            yield [question.choices[0].value]
        case "integer" | "decimal" | "money_gbp" | "percent":
            low = question.min if question.min is not None else 0
            high = question.max if question.max is not None else low + 1000
            for number in (low, high, (low + high) / 2, 1, 24, 100):
                if low <= number <= high:
                    yield int(number) if question.type == "integer" else float(number)
        case "date":
            yield (today + timedelta(days=180)).isoformat()
            yield (today - timedelta(days=30)).isoformat()
        case "email":
            yield "info@supplier.example"
        case "url":
            yield "https://supplier.example/policy"
        case "table":
            yield [{c.id: next(candidates(c, today)) for c in question.columns}]
        case "file":
            return
        case _:
            yield f"Example answer to: {question.label[:60].strip()}"


def example_answers(
    questionnaire: Questionnaire,
    today: date | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One answer per visible, answerable question (files excepted) that passes
    every format check and constraint, when any candidate does; ``fixed``
    answers are kept as given and the rest fit around them."""
    now = today or date.today()
    answers: dict[str, Any] = dict(fixed or {})
    for question in questionnaire.questions():
        if not question.answerable or question.type == "file" or question.id in answers:
            continue
        for value in candidates(question, now):
            trial = {**answers, question.id: value}
            if question.id not in logic.problems(questionnaire, trial, only=[question], today=now):
                answers[question.id] = value
                break
    return logic.drop_hidden(questionnaire, answers, now)
