"""Answers against requirements, and screening answers against triage rules.

Held to questionnaires/README.md ("Requirement operators" and "Triage").
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from portal.questionnaire.compare import Outcome, check_requirement, findings, triage
from portal.questionnaire.definition import (
    Question,
    Questionnaire,
    Requirement,
    load_file,
    questionnaire_from_snapshot,
)

TODAY = date(2026, 11, 28)
SHIPPED = Path(__file__).resolve().parent.parent / "questionnaires"

COUNTRIES = [
    {"value": "uk", "label": "United Kingdom"},
    {"value": "eea", "label": "European Economic Area"},
    {"value": "us", "label": "United States"},
]
FEATURES = [
    {"value": "sso", "label": "Single sign-on"},
    {"value": "mfa", "label": "Multi-factor authentication"},
    {"value": "audit", "label": "Audit log"},
]


def questionnaire(
    questions: list[dict[str, Any]], triage: dict[str, Any] | None = None
) -> Questionnaire:
    data: dict[str, Any] = {
        "key": "test",
        "version": 1,
        "title": "Test",
        "audience": "screening" if triage else "cloud",
        "choices": {"countries": COUNTRIES, "features": FEATURES},
        "sections": [{"id": "main", "title": "Main", "questions": questions}],
    }
    if triage is not None:
        data["triage"] = triage
    return questionnaire_from_snapshot(data)


def question_with(
    qtype: str, operator: str, value: Any = None, **extra: Any
) -> tuple[Question, Requirement]:
    requirement: dict[str, Any] = {"operator": operator, "severity": "major"}
    if value is not None:
        requirement["value"] = value
    raw = {"id": "q", "label": "Q", "type": qtype, "requirement": requirement, **extra}
    question = questionnaire([raw]).question("q")
    assert question.requirement is not None
    return question, question.requirement


def outcome(qtype: str, operator: str, value: Any, answer: Any, **extra: Any) -> Outcome:
    question, requirement = question_with(qtype, operator, value, **extra)
    return check_requirement(question, requirement, answer, TODAY)


SINGLE = {"choices": "countries"}
MULTI = {"choices": "features"}
TABLE = {"columns": [{"id": "name", "label": "Name", "type": "text"}]}

MET, NOT_MET = Outcome.MET, Outcome.NOT_MET

CASES = [
    # operator, type, extra keys, value, answer, outcome
    ("equals", "single_choice", SINGLE, "uk", "uk", MET),
    ("equals", "single_choice", SINGLE, "uk", "us", NOT_MET),
    ("equals", "yes_no", {}, "yes", "yes", MET),
    ("equals", "yes_no", {}, "yes", "no", NOT_MET),
    ("equals", "integer", {}, 5, 5, MET),
    ("equals", "integer", {}, 5, 6, NOT_MET),
    ("equals", "text", {}, "ISO 27001", "ISO 27001", MET),
    ("equals", "text", {}, "ISO 27001", "SOC 2", NOT_MET),
    ("not_equals", "yes_no", {}, "no", "yes", MET),
    ("not_equals", "yes_no", {}, "no", "no", NOT_MET),
    ("not_equals", "single_choice", SINGLE, "us", "uk", MET),
    ("not_equals", "single_choice", SINGLE, "us", "us", NOT_MET),
    ("in", "single_choice", SINGLE, ["uk", "eea"], "eea", MET),
    ("in", "single_choice", SINGLE, ["uk", "eea"], "us", NOT_MET),
    ("not_in", "single_choice", SINGLE, ["us"], "uk", MET),
    ("not_in", "single_choice", SINGLE, ["us"], "us", NOT_MET),
    ("includes_all", "multi_choice", MULTI, ["sso", "mfa"], ["audit", "mfa", "sso"], MET),
    ("includes_all", "multi_choice", MULTI, ["sso", "mfa"], ["sso"], NOT_MET),
    ("includes_any", "multi_choice", MULTI, ["sso", "mfa"], ["mfa"], MET),
    ("includes_any", "multi_choice", MULTI, ["sso", "mfa"], ["audit"], NOT_MET),
    ("min", "integer", {}, 10, 10, MET),
    ("min", "integer", {}, 10, 11, MET),
    ("min", "integer", {}, 10, 9, NOT_MET),
    ("max", "decimal", {}, 2.5, 2.5, MET),
    ("max", "decimal", {}, 2.5, 2.6, NOT_MET),
    ("min", "percent", {}, 99.9, 99.95, MET),
    ("min", "percent", {}, 99.9, 99, NOT_MET),
    ("max", "money_gbp", {}, 1000, 999.99, MET),
    ("max", "money_gbp", {}, 1000, 1000.01, NOT_MET),
    ("min", "table", TABLE, 2, [{"name": "A"}, {"name": "B"}], MET),
    ("min", "table", TABLE, 2, [{"name": "A"}], NOT_MET),
    ("max", "table", TABLE, 1, [{"name": "A"}], MET),
    ("max", "table", TABLE, 1, [{"name": "A"}, {"name": "B"}], NOT_MET),
    ("min", "multi_choice", MULTI, 2, ["sso", "mfa"], MET),
    ("min", "multi_choice", MULTI, 2, ["sso"], NOT_MET),
    ("max", "multi_choice", MULTI, 1, ["audit"], MET),
    ("max", "multi_choice", MULTI, 1, ["sso", "audit"], NOT_MET),
    ("date_after_today", "date", {}, None, "2026-11-29", MET),
    ("date_after_today", "date", {}, None, "2026-11-28", NOT_MET),
    ("date_after_today", "date", {}, None, "2025-01-01", NOT_MET),
    ("within_days", "date", {}, 30, "2026-10-29", MET),
    ("within_days", "date", {}, 30, "2026-11-28", MET),
    ("within_days", "date", {}, 30, "2026-10-28", NOT_MET),
    ("present", "text", {}, None, "anything", MET),
    ("present", "file", {}, None, [41], MET),
    ("present", "yes_no_na", {}, None, "na", MET),
]


@pytest.mark.parametrize(("operator", "qtype", "extra", "value", "answer", "expected"), CASES)
def test_requirement_operators(
    operator: str, qtype: str, extra: dict[str, Any], value: Any, answer: Any, expected: Outcome
) -> None:
    assert outcome(qtype, operator, value, answer, **extra) is expected


def test_every_operator_is_covered_met_and_not_met() -> None:
    met = {case[0] for case in CASES if case[-1] is MET}
    not_met = {case[0] for case in CASES if case[-1] is NOT_MET}
    everything = {
        "equals",
        "not_equals",
        "in",
        "not_in",
        "includes_all",
        "includes_any",
        "min",
        "max",
        "date_after_today",
        "within_days",
        "present",
    }
    assert met == everything
    # `present` has no "not met": an absent answer is unanswered (below).
    assert not_met == everything - {"present"}


@pytest.mark.parametrize("answer", ["yes", "no", "na", None, ""])
def test_info_is_never_judged(answer: Any) -> None:
    assert outcome("yes_no_na", "info", None, answer) is Outcome.INFO


UNANSWERED_CASES = [
    ("equals", "single_choice", SINGLE, "uk"),
    ("not_equals", "yes_no", {}, "no"),
    ("in", "single_choice", SINGLE, ["uk"]),
    ("not_in", "single_choice", SINGLE, ["us"]),
    ("includes_all", "multi_choice", MULTI, ["sso"]),
    ("includes_any", "multi_choice", MULTI, ["sso"]),
    ("min", "integer", {}, 1),
    ("max", "table", TABLE, 3),
    ("date_after_today", "date", {}, None),
    ("within_days", "date", {}, 30),
    ("present", "file", {}, None),
    ("present", "text", {}, None),
]


@pytest.mark.parametrize("blank", [None, "", []])
@pytest.mark.parametrize(("operator", "qtype", "extra", "value"), UNANSWERED_CASES)
def test_an_unanswered_question_is_unanswered(
    operator: str, qtype: str, extra: dict[str, Any], value: Any, blank: Any
) -> None:
    assert outcome(qtype, operator, value, blank, **extra) is Outcome.UNANSWERED


@pytest.mark.parametrize(
    ("operator", "value"),
    [("equals", "yes"), ("not_equals", "no"), ("in", ["yes"]), ("not_in", ["no"])],
)
def test_not_applicable_answer(operator: str, value: Any) -> None:
    assert outcome("yes_no_na", operator, value, "na") is Outcome.NOT_APPLICABLE
    assert outcome("yes_no_na", operator, value, "yes") is MET


def test_outcomes_are_plain_strings() -> None:
    assert [o.value for o in Outcome] == ["met", "not_met", "unanswered", "info", "not_applicable"]
    assert Outcome.NOT_MET == "not_met"


# --- findings -------------------------------------------------------------

FINDINGS_QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "uses_cloud",
        "label": "Do you host the service in the cloud?",
        "type": "yes_no",
        "requirement": {"operator": "present", "severity": "minor"},
    },
    {
        "id": "hosting",
        "label": "Where?",
        "type": "single_choice",
        "choices": "countries",
        "show_if": "uses_cloud == 'yes'",
        "requirement": {"operator": "equals", "value": "uk", "severity": "critical"},
    },
    {"id": "notes", "label": "Anything else?", "type": "long_text", "required": False},
    {
        "id": "staff",
        "label": "How many staff?",
        "type": "integer",
        "requirement": {"operator": "min", "value": 2, "severity": "minor"},
    },
]


def summary(q: Questionnaire, answers: dict[str, Any]) -> list[tuple[str, Outcome]]:
    return [(f.question.id, f.outcome) for f in findings(q, answers, TODAY)]


def test_findings_cover_visible_questions_with_requirements_in_order() -> None:
    q = questionnaire(FINDINGS_QUESTIONS)
    answers = {"uses_cloud": "yes", "hosting": "us", "notes": "x", "staff": 5}
    assert summary(q, answers) == [
        ("uses_cloud", MET),
        ("hosting", NOT_MET),
        ("staff", MET),
    ]
    found = findings(q, answers, TODAY)
    assert found[1].requirement.severity == "critical"
    assert found[1].question.label == "Where?"


def test_findings_skip_questions_hidden_by_show_if() -> None:
    q = questionnaire(FINDINGS_QUESTIONS)
    # A (stale) answer to a hidden question is not judged.
    assert summary(q, {"uses_cloud": "no", "hosting": "us", "staff": 1}) == [
        ("uses_cloud", MET),
        ("staff", NOT_MET),
    ]
    # An unknown show_if hides too.
    assert summary(q, {}) == [("uses_cloud", Outcome.UNANSWERED), ("staff", Outcome.UNANSWERED)]


# --- triage ---------------------------------------------------------------

NEXT_STEPS = {"low": "Go ahead.", "medium": "Look closer.", "high": "Full DPIA."}


def screening(rules: list[tuple[str, str, str]], default: str = "low") -> Questionnaire:
    return questionnaire(
        [{"id": name, "label": name.upper(), "type": "yes_no"} for name in ("a", "b", "c")],
        triage={
            "default": default,
            "rules": [{"when": w, "risk": r, "reason": why} for w, r, why in rules],
            "next_steps": NEXT_STEPS,
        },
    )


RULES = [
    ("a == 'yes'", "medium", "Because of A."),
    ("b == 'yes'", "high", "Because of B."),
    ("c == 'yes'", "medium", "Because of C."),
]


def test_triage_without_a_triage_block_is_none() -> None:
    assert triage(questionnaire(FINDINGS_QUESTIONS), {"uses_cloud": "yes"}, TODAY) is None


def test_triage_default_when_nothing_matches() -> None:
    answers = {"a": "no", "b": "no", "c": "no"}
    result = triage(screening(RULES), answers, TODAY)
    assert result is not None
    assert (result.risk, result.reasons, result.uncertain) == ("low", (), ())
    assert result.next_step == "Go ahead."
    medium_by_default = triage(screening(RULES, default="medium"), answers, TODAY)
    assert medium_by_default is not None
    assert medium_by_default.risk == "medium"
    assert medium_by_default.next_step == "Look closer."


def test_triage_reasons_are_listed_in_rule_order() -> None:
    result = triage(screening(RULES), {"a": "yes", "b": "no", "c": "yes"}, TODAY)
    assert result is not None
    assert result.risk == "medium"
    assert result.reasons == ("Because of A.", "Because of C.")
    assert result.uncertain == ()
    assert result.next_step == "Look closer."


@pytest.mark.parametrize("rules", [RULES, list(reversed(RULES))])
def test_triage_the_highest_matching_risk_wins(rules: list[tuple[str, str, str]]) -> None:
    result = triage(screening(rules), {"a": "yes", "b": "yes", "c": "yes"}, TODAY)
    assert result is not None
    assert result.risk == "high"
    assert result.reasons == tuple(reason for _, _, reason in rules)
    assert result.next_step == "Full DPIA."


def test_a_lower_risk_never_replaces_a_higher_default() -> None:
    result = triage(screening(RULES, default="high"), {"a": "yes", "b": "no", "c": "no"}, TODAY)
    assert result is not None
    assert result.risk == "high"
    assert result.reasons == ("Because of A.",)


def test_triage_an_unknown_answer_counts_and_is_uncertain() -> None:
    result = triage(screening(RULES), {"a": "no", "c": "no"}, TODAY)
    assert result is not None
    assert result.risk == "high"
    assert result.reasons == ()
    assert result.uncertain == ("Because of B.",)
    assert result.next_step == "Full DPIA."


def test_triage_an_unknown_answer_settled_by_another_is_not_uncertain() -> None:
    rules = [
        ("a == 'yes' and b == 'yes'", "high", "A and B."),
        ("a == 'yes' or c == 'yes'", "medium", "A or C."),
    ]
    # b unknown, but a == 'no' settles the first rule; a == 'yes' the second.
    assert triage(screening(rules), {"a": "no", "c": "no"}, TODAY) == triage(
        screening(rules), {"a": "no", "b": "no", "c": "no"}, TODAY
    )
    result = triage(screening(rules), {"a": "yes"}, TODAY)
    assert result is not None
    assert (result.risk, result.reasons, result.uncertain) == ("high", ("A or C.",), ("A and B.",))


def test_triage_a_blank_answer_is_unknown() -> None:
    result = triage(screening(RULES), {"a": "no", "b": "", "c": None}, TODAY)
    assert result is not None
    assert result.risk == "high"
    assert result.uncertain == ("Because of B.", "Because of C.")


# --- the shipped DPIA screening -------------------------------------------


@pytest.fixture(scope="module")
def dpia() -> Questionnaire:
    return load_file(SHIPPED / "dpia_screening.toml")


LOW_RISK_STAFF_TOOL: dict[str, Any] = {
    "tool_name": "Rota Planner, by Example Software Ltd",
    "tool_purpose": "Staff cover rotas for the office team.",
    "data_subjects": ["staff"],
    "sensitive_data": ["none"],
    "safeguarding_records": "no",
    "new_technology": ["none"],
    "automated_decisions": "no",
    "systematic_monitoring": "no",
    "combines_data": "no",
    "outside_uk": "no",
    "supplier_role": "processor_contract",
    "dpia_exists": "no",
}


def test_dpia_screening_with_no_answers_is_high_risk(dpia: Questionnaire) -> None:
    result = triage(dpia, {}, TODAY)
    assert result is not None
    assert result.risk == "high"
    assert result.reasons == ()
    assert result.uncertain  # every rule may match while nothing is known
    assert dpia.triage is not None
    assert result.next_step == dpia.triage.next_step("high")


def test_dpia_screening_of_a_staff_only_tool_is_low_risk(dpia: Questionnaire) -> None:
    result = triage(dpia, LOW_RISK_STAFF_TOOL, TODAY)
    assert result is not None
    assert (result.risk, result.reasons, result.uncertain) == ("low", (), ())
    assert dpia.triage is not None
    assert result.next_step == dpia.triage.next_step("low")
    assert result.next_step.startswith("Add the tool to the school's record of processing")


def test_dpia_screening_ignores_hidden_pupil_answers(dpia: Questionnaire) -> None:
    # pupil_count is only asked when pupils are involved: a stale answer is ignored.
    result = triage(dpia, {**LOW_RISK_STAFF_TOOL, "pupil_count": 900}, TODAY)
    assert result is not None
    assert result.risk == "low"


@pytest.mark.parametrize(
    ("change", "risk"),
    [
        ({"combines_data": "yes"}, "medium"),
        ({"outside_uk": "unsure"}, "medium"),
        ({"sensitive_data": ["health"]}, "medium"),
        ({"safeguarding_records": "yes"}, "high"),
        ({"sensitive_data": ["biometric"]}, "high"),
        ({"data_subjects": ["staff", "pupils"], "pupil_count": 30}, "medium"),
        ({"safeguarding_records": None}, "high"),
    ],
)
def test_dpia_screening_risks_rise_with_the_answers(
    dpia: Questionnaire, change: dict[str, Any], risk: str
) -> None:
    result = triage(dpia, {**LOW_RISK_STAFF_TOOL, **change}, TODAY)
    assert result is not None
    assert result.risk == risk
    assert result.reasons or result.uncertain
