"""Answers against requirements, and screening answers against triage rules.

Pure functions: the school's own profile (issue: requirements and review) will
pass its overrides in place of the questionnaire's baseline.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from . import logic
from .conditions import UNKNOWN, evaluate
from .definition import RISKS, Question, Questionnaire, Requirement


class Outcome(enum.StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNANSWERED = "unanswered"
    INFO = "info"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class Finding:
    question: Question
    requirement: Requirement
    outcome: Outcome


def check_requirement(
    question: Question, requirement: Requirement, value: Any, today: date | None = None
) -> Outcome:
    """Whether one answer meets one requirement."""
    now = today or date.today()
    if requirement.operator == "info":
        return Outcome.INFO
    if logic.is_blank(value):
        return Outcome.UNANSWERED
    if question.type == "yes_no_na" and value == "na" and requirement.operator != "present":
        return Outcome.NOT_APPLICABLE
    wanted = requirement.value
    met: bool
    match requirement.operator:
        case "present":
            met = True
        case "equals":
            met = value == wanted
        case "not_equals":
            met = value != wanted
        case "in":
            met = value in wanted
        case "not_in":
            met = value not in wanted
        case "includes_all":
            met = set(wanted) <= set(value)
        case "includes_any":
            met = bool(set(wanted) & set(value))
        case "min":
            met = _size(value) >= wanted
        case "max":
            met = _size(value) <= wanted
        case "date_after_today":
            met = date.fromisoformat(value) > now
        case "within_days":
            met = date.fromisoformat(value) >= now - timedelta(days=wanted)
        case _:
            raise ValueError(f"unknown operator {requirement.operator}")
    return Outcome.MET if met else Outcome.NOT_MET


def _size(value: Any) -> float:
    # A number is its own size; a table's, a file list's or a multi-choice's is its length.
    return len(value) if isinstance(value, list) else float(value)


def findings(
    questionnaire: Questionnaire, answers: Mapping[str, Any], today: date | None = None
) -> list[Finding]:
    """One finding per visible question that carries a requirement, in order."""
    shown = logic.visibility(questionnaire, answers, today)
    return [
        Finding(q, q.requirement, check_requirement(q, q.requirement, answers.get(q.id), today))
        for q in questionnaire.questions()
        if q.requirement is not None and shown.get(q.id, False)
    ]


@dataclass(frozen=True)
class TriageResult:
    risk: str
    reasons: tuple[str, ...]
    next_step: str
    # Reasons that hold only because an answer is still unknown.
    uncertain: tuple[str, ...] = ()


def triage(
    questionnaire: Questionnaire, answers: Mapping[str, Any], today: date | None = None
) -> TriageResult | None:
    """The highest risk of every rule that matches, or may match while answers
    are unknown: an unknown answer never lowers the risk."""
    if questionnaire.triage is None:
        return None
    scope = logic.visible_answers(questionnaire, answers, today)
    risk = questionnaire.triage.default
    reasons: list[str] = []
    uncertain: list[str] = []
    for rule in questionnaire.triage.rules:
        if rule.when_node is None:
            continue
        result = evaluate(rule.when_node, scope, today)
        if result is True or result is UNKNOWN:
            (reasons if result is True else uncertain).append(rule.reason)
            if RISKS.index(rule.risk) > RISKS.index(risk):
                risk = rule.risk
    return TriageResult(
        risk=risk,
        reasons=tuple(reasons),
        next_step=questionnaire.triage.next_step(risk),
        uncertain=tuple(uncertain),
    )
