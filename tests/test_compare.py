"""Answers against requirements, and screening answers against triage rules.

Held to questionnaires/README.md ("Requirement operators" and "Triage").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.questionnaire.compare import (
    Outcome,
    Review,
    check_answer,
    compare,
    effective_requirements,
    stricter_problem,
    triage,
)
from portal.questionnaire.definition import (
    SEVERITIES,
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
    return check_answer(question, requirement, answer, TODAY).outcome


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
    ("includes_all", "multi_choice", MULTI, ["sso", "mfa"], ["audit"], NOT_MET),
    ("includes_all", "multi_choice", MULTI, ["sso", "mfa"], ["sso"], Outcome.PARTLY_MET),
    ("includes_all", "multi_choice", MULTI, ["sso", "mfa"], ["mfa", "audit"], Outcome.PARTLY_MET),
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
    ("present", "long_text", {}, None, "paragraphs", MET),  # issue 21: given is met
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
    assert {case[0] for case in CASES if case[-1] is Outcome.PARTLY_MET} == {"includes_all"}
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
    assert outcome("yes_no_na", "info", None, answer) is Outcome.NEEDS_REVIEW


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


NA_RULES = [("equals", "yes"), ("not_equals", "no"), ("in", ["yes"]), ("not_in", ["no"])]


def na_outcome(operator: str, value: Any, na: str | None, answer: str = "na") -> Outcome:
    requirement = {"operator": operator, "value": value, "severity": "critical"}
    if na is not None:
        requirement["na"] = na
    built = questionnaire(
        [{"id": "q", "label": "Q", "type": "yes_no_na", "requirement": requirement}]
    )
    question = built.question("q")
    assert question.requirement is not None
    return check_answer(question, question.requirement, answer, TODAY).outcome


@pytest.mark.parametrize(("operator", "value"), NA_RULES)
def test_not_applicable_needs_review_unless_the_requirement_says(operator: str, value: Any) -> None:
    # Issue 21: "na" must not dodge a requirement. By default it waits for a
    # reviewer and counts as a gap meanwhile.
    assert na_outcome(operator, value, None) is Outcome.NA_TO_REVIEW
    assert na_outcome(operator, value, "review") is Outcome.NA_TO_REVIEW
    assert na_outcome(operator, value, "accept") is Outcome.NOT_APPLICABLE
    assert na_outcome(operator, value, "fail") is Outcome.NOT_MET
    assert na_outcome(operator, value, None, answer="yes") is MET


def test_a_value_that_names_na_is_met_by_it() -> None:
    assert na_outcome("in", ["yes", "na"], None) is MET
    assert na_outcome("equals", "na", None) is MET
    assert na_outcome("not_in", ["na"], None) is NOT_MET


def na_questionnaire(na: str | None = None) -> Questionnaire:
    backups: dict[str, Any] = {"operator": "equals", "value": "yes", "severity": "critical"}
    if na is not None:
        backups["na"] = na
    major = {"operator": "equals", "value": "yes", "severity": "major"}
    return questionnaire(
        [
            {
                "id": "backups",
                "label": "Offline backups?",
                "type": "yes_no_na",
                "requirement": backups,
            },
            *(
                {"id": f"q{n}", "label": f"Q{n}", "type": "yes_no", "requirement": major}
                for n in range(9)
            ),
        ]
    )


def test_na_to_a_critical_requirement_keeps_the_rating_red_until_a_reviewer_accepts_it() -> None:
    answers = {"backups": "na", **{f"q{n}": "yes" for n in range(9)}}
    waiting = compare(na_questionnaire(), answers, today=TODAY)
    finding = waiting.finding("backups")
    assert finding is not None
    assert finding.outcome is Outcome.NA_TO_REVIEW and finding.gap
    assert "a reviewer must accept" in finding.reason
    assert waiting.rating == "red"
    # 45 of 55 points: unreviewed N/A earns nothing, like an unanswered question.
    assert waiting.score == 82
    assert waiting.rating_summary.startswith("Red because 1 critical requirement is not fully met")
    assert waiting.counts[Outcome.NA_TO_REVIEW] == 1

    accepted = compare(
        na_questionnaire(),
        answers,
        reviews={"backups": Review(Outcome.NOT_APPLICABLE, "The trust keeps the backups itself")},
        today=TODAY,
    )
    settled = accepted.finding("backups")
    assert settled is not None and not settled.gap and not settled.scored
    assert accepted.rating == "green" and accepted.score == 100
    # A reviewer may also judge it not met: then it is a gap for good.
    refused = compare(
        na_questionnaire(),
        answers,
        reviews={"backups": Review(Outcome.NOT_MET, "Nobody keeps an offline copy")},
        today=TODAY,
    )
    assert refused.rating == "red" and refused.score == 82


def test_na_the_requirement_accepts_is_not_judged_and_na_it_refuses_is_not_met() -> None:
    answers = {"backups": "na", **{f"q{n}": "yes" for n in range(9)}}
    accepted = compare(na_questionnaire("accept"), answers, today=TODAY)
    assert accepted.rating == "green" and accepted.score == 100
    finding = accepted.finding("backups")
    assert finding is not None and finding.outcome is Outcome.NOT_APPLICABLE
    assert finding.reason == "Not applicable, which this requirement accepts"
    refused = compare(na_questionnaire("fail"), answers, today=TODAY)
    assert refused.rating == "red" and refused.score == 82
    assert refused.finding("backups").outcome is Outcome.NOT_MET  # type: ignore[union-attr]


def test_a_schools_own_rule_keeps_what_the_file_says_na_means() -> None:
    built = na_questionnaire("accept")
    own = Requirement("equals", "yes", "critical", "", (), source="school")
    rules = effective_requirements(built, {"backups": own})
    assert rules["backups"].source == "school" and rules["backups"].na == "accept"


def test_outcomes_are_plain_strings() -> None:
    assert [o.value for o in Outcome] == [
        "met",
        "partly_met",
        "not_met",
        "unanswered",
        "needs_review",
        "not_applicable",
        "na_to_review",
    ]
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
    return [(f.question.id, f.outcome) for f in compare(q, answers, today=TODAY).findings]


def test_findings_cover_visible_questions_with_requirements_in_order() -> None:
    q = questionnaire(FINDINGS_QUESTIONS)
    answers = {"uses_cloud": "yes", "hosting": "us", "notes": "x", "staff": 5}
    assert summary(q, answers) == [
        ("uses_cloud", MET),
        ("hosting", NOT_MET),
        ("staff", MET),
    ]
    found = compare(q, answers, today=TODAY).findings
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
    "people_told": "yes",
    "use_optional": "optional",
    "already_in_use": "no",
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
        ({"people_told": "unsure"}, "medium"),
        ({"already_in_use": "yes"}, "medium"),
        ({"dpia_exists": "yes_review"}, "medium"),
        ({"supplier_role": "own_purposes"}, "medium"),
        ({"supplier_role": "own_purposes", "use_optional": "required"}, "high"),
        ({"data_subjects": ["pupils"], "pupil_count": 30, "recordings": "yes"}, "medium"),
    ],
)
def test_dpia_screening_risks_rise_with_the_answers(
    dpia: Questionnaire, change: dict[str, Any], risk: str
) -> None:
    result = triage(dpia, {**LOW_RISK_STAFF_TOOL, **change}, TODAY)
    assert result is not None
    assert result.risk == risk
    assert result.reasons or result.uncertain


def test_dpia_screening_says_what_the_law_asks_of_children_s_biometrics(
    dpia: Questionnaire,
) -> None:
    pupils = {**LOW_RISK_STAFF_TOOL, "data_subjects": ["pupils"], "pupil_count": 30}
    result = triage(
        dpia,
        {
            **pupils,
            "recordings": "no",
            "sensitive_data": ["biometric"],
            "biometric_recognition": "yes",
        },
        TODAY,
    )
    assert result is not None and result.risk == "high"
    pofa = [r for r in result.reasons if "Protection of Freedoms Act 2012" in r]
    assert len(pofa) == 1
    for duty in ("each parent", "written consent", "child's own refusal", "alternative"):
        assert duty in pofa[0]


def test_dpia_screening_treats_an_own_purposes_supplier_as_a_controller(
    dpia: Questionnaire,
) -> None:
    own = triage(dpia, {**LOW_RISK_STAFF_TOOL, "supplier_role": "own_purposes"}, TODAY)
    assert own is not None
    assert own.reasons and all("controller" in r for r in own.reasons)
    assert not any("data processing agreement limiting" in r for r in own.reasons)
    unsigned = triage(
        dpia, {**LOW_RISK_STAFF_TOOL, "supplier_role": "processor_no_contract"}, TODAY
    )
    assert unsigned is not None
    assert unsigned.reasons == (
        "There is no confirmed data processing agreement limiting the supplier to the school's "
        "instructions; the law requires a written contract with these terms before a processor "
        "is used (UK GDPR Article 28(3)).",
    )


def test_dpia_screening_special_categories_are_article_9s() -> None:
    question = load_file(SHIPPED / "dpia_screening.toml").question("sensitive_data")
    words = " ".join(c.label for c in question.choices)
    for category in ("Genetic", "Political opinions", "Trade union", "Racial or ethnic origin"):
        assert category in words
    assert "gender identity" not in words.lower()
    assert "reveals a health condition or disability" in question.choice_label("send")


# --- words, evidence, dates -------------------------------------------------


@pytest.mark.parametrize(
    ("qtype", "operator", "value", "extra", "words"),
    [
        ("single_choice", "equals", "uk", SINGLE, "United Kingdom"),
        ("yes_no", "not_equals", "no", {}, "Anything but No"),
        (
            "single_choice",
            "in",
            ["uk", "eea"],
            SINGLE,
            "One of: United Kingdom, European Economic Area",
        ),
        ("single_choice", "not_in", ["us"], SINGLE, "None of: United States"),
        (
            "multi_choice",
            "includes_all",
            ["sso", "mfa"],
            MULTI,
            "All of: Single sign-on, Multi-factor authentication",
        ),
        ("multi_choice", "includes_any", ["sso"], MULTI, "At least one of: Single sign-on"),
        ("integer", "max", 30, {"unit": "minutes"}, "At most 30 minutes"),
        ("money_gbp", "min", 1000000, {}, "At least £1,000,000"),
        ("table", "min", 1, TABLE, "At least 1 row"),
        ("date", "date_after_today", None, {}, "A date after today"),
        ("date", "within_days", 365, {}, "Within the last 365 days"),
        ("file", "present", None, {}, "A file"),
        ("text", "info", None, {}, "Read the answer"),
    ],
)
def test_expected_is_in_words(
    qtype: str, operator: str, value: Any, extra: dict[str, Any], words: str
) -> None:
    question, requirement = question_with(qtype, operator, value, **extra)
    assert check_answer(question, requirement, None, TODAY).expected == words


def test_actual_is_the_answer_in_words() -> None:
    question, requirement = question_with("integer", "max", 30, unit="minutes")
    check = check_answer(question, requirement, 45, TODAY)
    assert (check.outcome, check.expected, check.actual) == (
        NOT_MET,
        "At most 30 minutes",
        "45 minutes",
    )


def test_an_expired_certificate_says_when_it_expired() -> None:
    question, requirement = question_with("date", "date_after_today")
    requirement = replace(requirement, subject="Cyber Essentials")
    check = check_answer(question, requirement, "2026-03-03", TODAY)
    assert check.outcome is NOT_MET
    assert check.reason == "Cyber Essentials expired on 3 March 2026"
    today = check_answer(question, requirement, "2026-11-28", TODAY)
    assert (today.outcome, today.reason) == (
        NOT_MET,
        "Cyber Essentials expires on 28 November 2026",
    )
    assert check_answer(question, requirement, "2026-11-29", TODAY).outcome is MET


@pytest.mark.parametrize(
    ("today", "answer", "expected"),
    [
        # 2028 is a leap year: 29 February exists and counts as a day.
        (date(2028, 3, 1), "2028-02-29", MET),
        (date(2028, 3, 30), "2028-02-29", MET),  # exactly 30 days
        (date(2028, 3, 31), "2028-02-29", NOT_MET),
        (date(2027, 3, 1), "2027-01-30", MET),  # 30 days across a short February
        (date(2027, 3, 2), "2027-01-30", NOT_MET),
    ],
)
def test_within_days_across_leap_years(today: date, answer: str, expected: Outcome) -> None:
    question, requirement = question_with("date", "within_days", 30)
    assert check_answer(question, requirement, answer, today).outcome is expected


def test_within_days_too_old_says_how_old() -> None:
    question, requirement = question_with("date", "within_days", 365)
    check = check_answer(question, requirement, "2025-01-10", TODAY)
    assert check.reason == "Last done on 10 January 2025, more than 365 days ago"
    requirement = replace(requirement, subject="The last penetration test")
    check = check_answer(question, requirement, "2025-01-10", TODAY)
    assert (
        check.reason == "The last penetration test was on 10 January 2025, more than 365 days ago"
    )


def test_not_applicable_is_judged_when_the_rule_accepts_it() -> None:
    assert outcome("yes_no_na", "in", ["yes", "na"], "na") is MET
    check = check_answer(*question_with("yes_no_na", "equals", "yes"), "na", TODAY)
    assert check.outcome is Outcome.NA_TO_REVIEW
    assert "not applicable" in check.reason


EVIDENCED: list[dict[str, Any]] = [
    {
        "id": "policy",
        "label": "Do you have an incident policy?",
        "type": "yes_no",
        "evidence": "required",
        "requirement": {"operator": "equals", "value": "yes", "severity": "major"},
    },
    {
        "id": "insured",
        "label": "Are you insured?",
        "type": "yes_no",
        "evidence": "policy == 'yes'",
        "requirement": {"operator": "equals", "value": "yes", "severity": "minor"},
    },
]


def test_required_evidence_that_is_missing_is_not_met() -> None:
    q = questionnaire(EVIDENCED)
    answers = {"policy": "yes", "insured": "yes"}
    without = compare(q, answers, today=TODAY)
    assert [(f.question.id, f.outcome) for f in without.findings] == [
        ("policy", NOT_MET),
        ("insured", NOT_MET),
    ]
    assert without.findings[0].reason == "Evidence is required but no file was uploaded"
    partly = compare(q, answers, evidence={"policy"}, today=TODAY)
    assert [f.outcome for f in partly.findings] == [MET, NOT_MET]
    full = compare(q, answers, evidence={"policy", "insured"}, today=TODAY)
    assert [f.outcome for f in full.findings] == [MET, MET]
    # A wrong answer is not met whatever the evidence; no answer is unanswered.
    assert (
        compare(q, {"policy": "no"}, evidence={"policy"}, today=TODAY).findings[0].outcome
        is NOT_MET
    )
    assert compare(q, {}, today=TODAY).findings[0].outcome is Outcome.UNANSWERED


# --- profiles -----------------------------------------------------------------

PROFILED: list[dict[str, Any]] = [
    {
        "id": "response",
        "label": "P1 response time",
        "type": "integer",
        "unit": "minutes",
        "requirement": {
            "operator": "max",
            "value": 60,
            "severity": "major",
            "rationale": "Fast help.",
        },
    },
    {
        "id": "hosting",
        "label": "Where is data held?",
        "type": "single_choice",
        "choices": "countries",
        "requirement": {"operator": "in", "value": ["uk", "eea"], "severity": "critical"},
    },
    {
        "id": "extras",
        "label": "Security features",
        "type": "multi_choice",
        "choices": "features",
        "requirement": {"operator": "includes_any", "value": ["mfa"], "severity": "minor"},
    },
]


def rule(operator: str, value: Any = None, severity: str = "major", **extra: Any) -> Requirement:
    return Requirement(operator, value, severity, "", (), **extra)


def test_a_school_rule_replaces_the_baseline_and_keeps_its_rationale() -> None:
    q = questionnaire(PROFILED)
    school = {
        "response": rule("max", 30, note="We need P1 help within half an hour", source="school")
    }
    rules = effective_requirements(q, {}, school)
    assert rules["response"].value == 30
    assert rules["response"].rationale == "Fast help."
    assert rules["response"].source == "school"
    assert rules["hosting"].source == "baseline"
    answers = {"response": 45, "hosting": "uk", "extras": ["mfa"]}
    assert compare(q, answers, effective_requirements(q), today=TODAY).findings[0].outcome is MET
    assert compare(q, answers, rules, today=TODAY).findings[0].outcome is NOT_MET


def test_the_school_layer_applies_after_the_trust_layer() -> None:
    q = questionnaire(PROFILED)
    trust = {
        "hosting": rule("in", ("uk", "eea"), "critical", source="trust"),
        "response": rule("max", 45, source="trust"),
    }
    school = {"hosting": rule("in", ("uk",), "critical", source="school")}
    rules = effective_requirements(q, trust, school)
    assert (rules["hosting"].value, rules["hosting"].source) == (("uk",), "school")
    assert (rules["response"].value, rules["response"].source) == (45, "trust")


def test_a_rule_that_no_longer_fits_the_question_is_ignored() -> None:
    q = questionnaire(PROFILED)
    # Made for a version where hosting had a 'ch' choice; this version has none.
    stale = {"hosting": rule("in", ("ch",)), "response": rule("includes_all", ("x",))}
    rules = effective_requirements(q, stale)
    assert rules["hosting"] == q.question("hosting").requirement
    assert rules["response"] == q.question("response").requirement


def test_a_switched_off_requirement_is_not_judged_and_is_listed_with_its_note() -> None:
    q = questionnaire(PROFILED)
    off = {"extras": rule("includes_any", ("mfa",), "minor", off=True, note="We use our own SSO")}
    result = compare(
        q,
        {"response": 10, "hosting": "uk", "extras": ["sso"]},
        effective_requirements(q, off),
        today=TODAY,
    )
    assert [f.question.id for f in result.findings] == ["response", "hosting"]
    assert [(question.id, r.note) for question, r in result.switched_off] == [
        ("extras", "We use our own SSO")
    ]
    assert (result.score, result.rating) == (100, "green")


@pytest.mark.parametrize(
    ("trust", "school", "loosens"),
    [
        (rule("max", 60), rule("max", 30), False),
        (rule("max", 60), rule("max", 90), True),
        (rule("min", 2), rule("min", 3), False),
        (rule("min", 2), rule("min", 1), True),
        (rule("within_days", 365), rule("within_days", 400), True),
        (rule("in", ("uk", "eea")), rule("in", ("uk",)), False),
        (rule("in", ("uk",)), rule("in", ("uk", "us")), True),
        (rule("includes_all", ("mfa",)), rule("includes_all", ("mfa", "sso")), False),
        (rule("includes_all", ("mfa", "sso")), rule("includes_all", ("mfa",)), True),
        (rule("not_in", ("us",)), rule("not_in", ("us", "eea")), False),
        (rule("equals", "yes"), rule("equals", "no"), True),
        (rule("max", 60, "major"), rule("max", 60, "critical"), False),
        (rule("max", 60, "major"), rule("max", 60, "minor"), True),
        (rule("max", 60), rule("max", 60, off=True), True),
        (rule("max", 60), rule("min", 60), True),
        (rule("present"), rule("equals", "yes"), False),
        (rule("max", 60, off=True), rule("max", 90), False),
    ],
)
def test_a_school_may_tighten_but_not_loosen_its_trusts_rule(
    trust: Requirement, school: Requirement, loosens: bool
) -> None:
    assert bool(stricter_problem(trust, school)) is loosens


# --- rating -------------------------------------------------------------------


def test_the_score_is_the_weighted_share_met_and_each_gap_says_what_it_cost() -> None:
    q = questionnaire(PROFILED)
    # major (5) not met, critical (10) met, minor (2) met: 12 of 17.
    result = compare(q, {"response": 90, "hosting": "uk", "extras": ["mfa"]}, today=TODAY)
    assert result.score == round(100 * 12 / 17)
    assert result.rating == "amber"
    assert result.rating_reasons[0] == "1 major requirement not fully met"
    lost = {f.question.id: f.points_lost for f in result.findings}
    assert lost == {"response": round(100 * 5 / 17, 1), "hosting": 0.0, "extras": 0.0}
    assert result.score + sum(lost.values()) == pytest.approx(100, abs=1)
    assert dict(result.counts) == {"not_met": 1, "met": 2}


def test_a_critical_gap_is_red_whatever_the_score() -> None:
    many = [
        dict(
            PROFILED[0],
            id=f"r{i}",
            requirement={"operator": "max", "value": 60, "severity": "major"},
        )
        for i in range(10)
    ]
    q = questionnaire([*many, PROFILED[1]])
    answers: dict[str, Any] = {f"r{i}": 10 for i in range(10)} | {"hosting": "us"}
    result = compare(q, answers, today=TODAY)
    assert result.score is not None and result.score >= 80
    assert result.rating == "red"
    assert result.rating_reasons[0] == "1 critical requirement not fully met"
    # Issue 21: a high score beside red never stands without the reason.
    assert result.rating_summary == (
        f"Red because 1 critical requirement is not fully met (score {result.score} out of 100)"
    )


@pytest.mark.parametrize(
    ("answers", "summary"),
    [
        ({"response": 30, "hosting": "uk", "extras": ["mfa"]},
         "Green: score 100 out of 100, and no critical or major requirement unmet"),
        ({"response": 90, "hosting": "uk", "extras": ["mfa"]},
         "Amber because the score is 71 out of 100 (below 80), and 1 major requirement is "
         "not fully met"),
        ({"response": 30, "hosting": "us", "extras": ["mfa"]},
         "Red because the score is 41 out of 100 (below 50), and 1 critical requirement is "
         "not fully met"),
        ({"response": 30, "hosting": "uk", "extras": ["sso"]},
         "Green: score 88 out of 100, and no critical or major requirement unmet"),
    ],
)  # fmt: skip
def test_the_rating_says_in_one_sentence_what_decided_it(
    answers: dict[str, Any], summary: str
) -> None:
    result = compare(questionnaire(PROFILED), answers, today=TODAY)
    assert result.rating_summary == summary


def test_unanswered_never_counts_as_met() -> None:
    q = questionnaire(PROFILED)
    result = compare(q, {}, today=TODAY)
    assert [f.outcome for f in result.findings] == [Outcome.UNANSWERED] * 3
    assert (result.score, result.rating) == (0, "red")


def test_nothing_to_judge_has_no_rating() -> None:
    q = questionnaire(
        [
            {
                "id": "about",
                "label": "About you",
                "type": "long_text",
                "requirement": {"operator": "info"},
            }
        ]
    )
    result = compare(q, {"about": "We are a small firm."}, today=TODAY)
    # Issue 21: information is never judged: no finding, no outcome, no count.
    assert result.findings == ()
    assert [(question.id, value) for question, value in result.information] == [
        ("about", "We are a small firm.")
    ]
    assert (result.score, result.rating, result.rating_reasons) == (None, None, ())
    assert dict(result.counts) == {}
    assert compare(q, {}, today=TODAY).information == ()  # nothing to read


def test_information_beside_judged_requirements_changes_nothing() -> None:
    info = {"id": "about", "label": "About you", "type": "long_text", "required": False,
            "requirement": {"operator": "info", "severity": "critical"}}  # fmt: skip
    judged = compare(questionnaire(PROFILED), {"response": 90, "hosting": "uk"}, today=TODAY)
    both = compare(
        questionnaire([*PROFILED, info]), {"response": 90, "hosting": "uk", "about": "x"},
        today=TODAY,
    )  # fmt: skip
    assert (both.score, both.rating, both.rating_reasons) == (
        judged.score, judged.rating, judged.rating_reasons,
    )  # fmt: skip
    assert sum(sum(c.values()) for c in both.by_severity().values()) == len(judged.findings)


def test_a_reviewer_override_replaces_the_outcome_and_shows_both() -> None:
    q = questionnaire(PROFILED)
    answers = {"response": 90, "hosting": "uk", "extras": ["mfa"]}
    review = Review(Outcome.MET, "They keep an engineer on site two days a week", by="Ann")
    result = compare(q, answers, reviews={"response": review}, today=TODAY)
    finding = result.findings[0]
    assert (finding.computed, finding.outcome, finding.review) == (NOT_MET, MET, review)
    assert (result.score, result.rating) == (100, "green")


# --- properties -----------------------------------------------------------------

ANSWERS = st.fixed_dictionaries(
    {},
    optional={
        "response": st.integers(min_value=0, max_value=500),
        "hosting": st.sampled_from(["uk", "eea", "us"]),
        "extras": st.lists(st.sampled_from(["sso", "mfa", "audit"]), unique=True, max_size=3),
    },
)
RULES_STRATEGY = st.fixed_dictionaries(
    {},
    optional={
        "response": st.builds(
            lambda n, s: rule("max", n, s), st.integers(1, 500), st.sampled_from(SEVERITIES)
        ),
        "hosting": st.builds(
            lambda vs: rule("in", tuple(vs), "critical"),
            st.lists(st.sampled_from(["uk", "eea", "us"]), min_size=1, unique=True),
        ),
        "extras": st.builds(
            lambda off: rule("includes_all", ("mfa", "sso"), "minor", off=off), st.booleans()
        ),
    },
)


@settings(max_examples=200, deadline=None)
@given(answers=ANSWERS, first=RULES_STRATEGY, second=RULES_STRATEGY)
def test_profiles_change_findings_never_answers_and_comparing_is_repeatable(
    answers: dict[str, Any], first: dict[str, Requirement], second: dict[str, Requirement]
) -> None:
    q = questionnaire(PROFILED)
    frozen = MappingProxyType(answers)  # any write would raise
    before = repr(answers)
    one = compare(q, frozen, effective_requirements(q, first), today=TODAY)
    two = compare(q, frozen, effective_requirements(q, second), today=TODAY)
    assert repr(answers) == before
    assert compare(q, frozen, effective_requirements(q, first), today=TODAY) == one
    assert compare(q, frozen, effective_requirements(q, second), today=TODAY) == two
    if first == second:
        assert one == two
    for finding in one.findings:
        assert 0 <= finding.points_lost <= 100
    if one.score is not None:
        assert 0 <= one.score <= 100


# Issue 21: once submitted, a hidden follow-up was not asked; it is not unknown.
SUBPROCESSORS = [
    {"id": "uses_sub", "label": "Do you use sub-processors?", "type": "yes_no"},
    {
        "id": "subs",
        "label": "Your sub-processors",
        "type": "table",
        "show_if": "uses_sub == 'yes'",
        "columns": [{"id": "name", "label": "Name", "type": "text"}],
    },
]
MANY_SUBPROCESSORS = {
    "default": "low",
    "rules": [{"when": "count(subs) > 5", "risk": "high", "reason": "Many sub-processors."}],
    "next_steps": {"low": "L", "medium": "M", "high": "H"},
}


def test_a_hidden_follow_up_gives_no_reason_once_submitted() -> None:
    q = questionnaire(SUBPROCESSORS, triage=MANY_SUBPROCESSORS)
    no_subs = {"uses_sub": "no"}
    in_progress = triage(q, no_subs, TODAY)
    assert in_progress is not None
    # Still answering: the table may yet appear, so the reason stays possible.
    assert (in_progress.risk, in_progress.uncertain) == ("high", ("Many sub-processors.",))
    submitted = triage(q, no_subs, TODAY, submitted=True)
    assert submitted is not None
    assert (submitted.risk, submitted.reasons, submitted.uncertain) == ("low", (), ())
    # Through compare, as the request page and the workbook get it.
    assert compare(q, no_subs, today=TODAY, submitted=True).triage == submitted
    many = {"uses_sub": "yes", "subs": [{"name": f"S{n}"} for n in range(6)]}
    assert triage(q, many, TODAY, submitted=True).reasons == ("Many sub-processors.",)
