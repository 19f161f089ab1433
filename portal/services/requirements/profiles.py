"""Requirement profiles: each organisation's own rules over a questionnaire's baseline.

A trust's rules apply to its schools; a school's rules apply on top and may
only tighten a rule its trust set. This module reads profiles and checks what
people type; profile_changes.py saves them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...exports.profile import ProfileRow
from ...models import Organisation, OrgKind, RequirementRule
from ...questionnaire.compare import effective_requirements, stricter_problem
from ...questionnaire.definition import (
    NUMBER_TYPES,
    OPERATORS,
    OPERATORS_WITHOUT_VALUE,
    SEVERITIES,
    Question,
    Questionnaire,
    Requirement,
    requirement_problems,
)
from ...vocabulary import RULE_OPERATOR_LABELS

OPERATOR_LABELS = RULE_OPERATOR_LABELS  # the words live in portal/vocabulary.py
LIST_OPERATORS = frozenset({"in", "not_in", "includes_all", "includes_any"})
COUNT_OPERATORS = frozenset({"min", "max", "within_days"})


@dataclass(frozen=True)
class RuleInput:
    """A rule as a person typed it (form or spreadsheet row), not yet checked."""

    operator: str
    value: str | Sequence[str]
    severity: str
    off: bool
    note: str


def operators_for(question: Question) -> list[str]:
    return [
        name
        for name, types in OPERATORS.items()
        if question.answerable and (types is None or question.type in types)
    ]


# --- reading ------------------------------------------------------------------


def _as_requirement(rule: RequirementRule, source: str) -> Requirement:
    value = rule.value
    return Requirement(
        operator=rule.operator,
        value=tuple(value) if isinstance(value, list) else value,
        severity=rule.severity,
        rationale="",
        maps_to=(),
        off=rule.off,
        note=rule.note,
        source=source,
    )


def own_rules(session: Session, organisation_id: int, key: str) -> dict[str, RequirementRule]:
    return {
        rule.question_id: rule
        for rule in session.scalars(
            select(RequirementRule).where(
                RequirementRule.organisation_id == organisation_id,
                RequirementRule.questionnaire_key == key,
            )
        )
    }


def _source(organisation: Organisation) -> str:
    return "trust" if organisation.kind == OrgKind.TRUST else "school"


def layers(
    session: Session, organisation: Organisation, key: str
) -> tuple[dict[str, Requirement], dict[str, Requirement], dict[str, str]]:
    """(the trust's rules, this organisation's rules, why some of ours are set aside).

    A school rule saved before its trust tightened the same question could now
    be looser; the trust's rule wins and the profile screen says so.
    """
    trust: dict[str, Requirement] = {}
    if organisation.trust_id is not None:
        trust = {
            qid: _as_requirement(rule, "trust")
            for qid, rule in own_rules(session, organisation.trust_id, key).items()
        }
    own: dict[str, Requirement] = {}
    overruled: dict[str, str] = {}
    for qid, rule in own_rules(session, organisation.id, key).items():
        mine = _as_requirement(rule, _source(organisation))
        problem = stricter_problem(trust[qid], mine) if qid in trust else ""
        if problem:
            overruled[qid] = problem
        else:
            own[qid] = mine
    return trust, own, overruled


def requirements_for(
    session: Session, organisation: Organisation, questionnaire: Questionnaire
) -> dict[str, Requirement]:
    """Question id -> the rule that applies to this organisation's requests."""
    trust, own, _ = layers(session, organisation, questionnaire.key)
    return effective_requirements(questionnaire, trust, own)


def profile_rows(
    session: Session, organisation: Organisation, questionnaire: Questionnaire
) -> list[ProfileRow]:
    trust, own, overruled = layers(session, organisation, questionnaire.key)
    effective = effective_requirements(questionnaire, trust, own)
    stored = own_rules(session, organisation.id, questionnaire.key)
    rows = []
    for section in questionnaire.sections:
        for question in section.questions:
            if not question.answerable:
                continue
            mine = stored.get(question.id)
            rows.append(
                ProfileRow(
                    question=question,
                    section_title=section.title,
                    baseline=question.requirement,
                    trust=trust.get(question.id),
                    own=_as_requirement(mine, _source(organisation)) if mine else None,
                    effective=effective.get(question.id),
                    overruled=overruled.get(question.id, ""),
                )
            )
    return rows


# --- checking what was typed ----------------------------------------------------


def parse_rule(question: Question, typed: RuleInput) -> tuple[Requirement | None, list[str]]:
    """The rule, or the reasons it cannot be saved, in words for a form or a row."""
    errors: list[str] = []
    operator = typed.operator.strip()
    severity = typed.severity.strip().lower()
    if operator not in operators_for(question):
        allowed = ", ".join(f"'{OPERATOR_LABELS[o]}' ({o})" for o in operators_for(question))
        return None, [f"Choose a rule this question can have: {allowed}"]
    if severity not in SEVERITIES:
        errors.append("Choose a severity: critical, major or minor")
    note = typed.note.strip()
    if not note:
        errors.append("Say why your rule differs from the baseline")
    elif len(note) > 2000:
        errors.append("Keep the note to 2,000 characters or fewer")
    value, problem = _parse_value(question, operator, typed.value)
    if problem:
        errors.append(problem)
    if errors:
        return None, errors
    problems = requirement_problems(question, operator, value, severity)
    if problems:
        return None, [f"This rule does not fit the question: {p}" for p in problems]
    return (
        Requirement(
            operator=operator,
            value=value,
            severity=severity,
            rationale="",
            maps_to=(),
            off=typed.off,
            note=note,
        ),
        [],
    )


def _parse_value(question: Question, operator: str, typed: str | Sequence[str]) -> tuple[Any, str]:
    if operator in OPERATORS_WITHOUT_VALUE:
        return None, ""
    items = (
        [part.strip() for part in typed.replace(";", ",").split(",") if part.strip()]
        if isinstance(typed, str)
        else [str(part).strip() for part in typed if str(part).strip()]
    )
    if question.choices and operator not in COUNT_OPERATORS:
        values = [_choice_value(question, item) for item in items]
        unknown = [item for item, value in zip(items, values, strict=True) if value is None]
        if unknown:
            known = ", ".join(f"{c.value} ({c.label})" for c in question.choices)
            return None, f"{', '.join(unknown)}: not an answer to this question. Use: {known}"
        chosen = list(dict.fromkeys(v for v in values if v is not None))
        if operator in LIST_OPERATORS:
            if not chosen:
                return None, "Choose at least one answer"
            return tuple(chosen), ""
        if len(chosen) != 1:
            return None, "Choose exactly one answer"
        return chosen[0], ""
    text = items[0] if len(items) == 1 else ",".join(items)
    if operator in COUNT_OPERATORS or question.type in NUMBER_TYPES:
        whole = operator in COUNT_OPERATORS and question.type not in NUMBER_TYPES
        return _number(text, whole or question.type == "integer")
    if not text:
        return None, "Enter the answer the rule expects"
    return text, ""


def _choice_value(question: Question, typed: str) -> str | None:
    for choice in question.choices:
        if typed == choice.value or typed.casefold() == choice.label.casefold():
            return choice.value
    return None


def _number(text: str, whole: bool) -> tuple[Any, str]:
    cleaned = text.replace("£", "").replace("%", "").replace(",", "").strip()
    try:
        number = float(cleaned)
    except ValueError:
        return None, f"Enter a number, like 30 (not '{text}')" if text else "Enter a number"
    if not math.isfinite(number):
        return None, "Enter a number"
    if whole:
        if not number.is_integer():
            return None, "Enter a whole number"
        return int(number), ""
    return (int(number) if number.is_integer() else number), ""
