"""Section forms on their own (no app): every answer type, valid and invalid,
through HTML form data and JSON alike."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from portal.questionnaire import questionnaire_from_snapshot
from portal.questionnaire.forms import SectionForm, build_section_form

ENGINE = Path(__file__).resolve().parent.parent / "portal" / "questionnaire"


def test_engine_imports_no_flask_or_sqlalchemy() -> None:
    for path in ENGINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert not module.startswith(("flask", "sqlalchemy", "portal.")), (
                    f"{path.name}: {module}"
                )


def one_question(**question: Any) -> dict[str, Any]:
    return {
        "key": "demo",
        "version": 1,
        "title": "Demo",
        "audience": "cloud",
        "sections": [
            {"id": "s", "title": "S", "questions": [{"id": "q", "label": "Q?", **question}]}
        ],
    }


def forms(question: dict[str, Any], value: Any) -> list[SectionForm]:
    """The same answer posted as HTML form data and as JSON."""
    questionnaire = questionnaire_from_snapshot(one_question(**question))
    form_class = build_section_form(questionnaire, questionnaire.sections[0])
    if value is None:
        return [form_class(MultiDict()), form_class.from_json({})]
    html = (
        MultiDict([("q", v) for v in value]) if isinstance(value, list) else MultiDict({"q": value})
    )
    return [form_class(html), form_class.from_json({"q": value})]


CHOICES = [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]


@pytest.mark.parametrize(
    ("question", "posted", "stored"),
    [
        ({"type": "yes_no"}, "yes", "yes"),
        ({"type": "yes_no_na"}, "na", "na"),
        ({"type": "single_choice", "choices": CHOICES}, "b", "b"),
        ({"type": "multi_choice", "choices": CHOICES}, ["a", "b"], ["a", "b"]),
        ({"type": "text"}, "  Acme Ltd ", "Acme Ltd"),
        ({"type": "long_text"}, "Line one\nLine two", "Line one\nLine two"),
        ({"type": "integer", "min": 0, "max": 365}, "30", 30),
        ({"type": "integer"}, "1,000", 1000),
        ({"type": "decimal", "unit": "hours"}, "2.5", 2.5),
        ({"type": "money_gbp"}, "£1,000,000", 1_000_000),
        ({"type": "money_gbp"}, "2500.50", 2500.5),
        ({"type": "percent"}, "99.9%", 99.9),
        ({"type": "date"}, "31/03/2027", "2027-03-31"),
        ({"type": "date"}, "2027-03-31", "2027-03-31"),
        ({"type": "email"}, "dpo@school.example", "dpo@school.example"),
        ({"type": "url"}, "https://supplier.example/privacy", "https://supplier.example/privacy"),
        ({"type": "text", "required": False}, None, None),
    ],
)
def test_valid_answers_become_json_values(
    question: dict[str, Any], posted: Any, stored: Any
) -> None:
    for form in forms(question, posted):
        assert form.validate_section({}), form.q.errors
        assert form.answers() == {"q": stored}


@pytest.mark.parametrize(
    ("question", "posted", "message"),
    [
        ({"type": "yes_no"}, None, "Select yes or no"),
        ({"type": "yes_no"}, "maybe", "Select from the options shown"),
        ({"type": "yes_no_na"}, None, "Select yes, no or not applicable"),
        ({"type": "single_choice", "choices": CHOICES}, None, "Select one option"),
        ({"type": "multi_choice", "choices": CHOICES}, ["a", "z"], "Select from the options shown"),
        ({"type": "multi_choice", "choices": CHOICES}, None, "Select at least one option"),
        ({"type": "text"}, "", "Enter an answer"),
        ({"type": "text"}, "x" * 501, "Shorten your answer to 500 characters or fewer"),
        ({"type": "long_text"}, "x" * 10_001, "Shorten your answer to 10,000 characters or fewer"),
        (
            {"type": "integer", "min": 0, "max": 365, "unit": "days"},
            "400",
            "Enter a number of days between 0 and 365",
        ),
        (
            {"type": "integer", "min": 0, "max": 365, "unit": "days"},
            "1.5",
            "Enter a number of days between 0 and 365",
        ),
        ({"type": "integer"}, "twelve", "Enter a whole number, like 12"),
        ({"type": "integer", "min": 1}, "0", "Enter a whole number of 1 or more"),
        ({"type": "decimal", "max": 10}, "10.5", "Enter a number of 10 or less"),
        (
            {"type": "money_gbp"},
            "1.234",
            "Enter an amount in pounds and pence, like 1000000 or 2500.50",
        ),
        ({"type": "money_gbp"}, "-5", "Enter an amount in pounds"),
        ({"type": "percent"}, "120", "Enter a percentage between 0 and 100"),
        ({"type": "date"}, "31/02/2027", "Enter a real date, for example 31/03/2027"),
        ({"type": "date"}, None, "Enter a date"),
        (
            {"type": "email"},
            "dpo-at-school",
            "Enter an email address in the correct format, like name@example.com",
        ),
        ({"type": "url"}, "supplier dot example", "Enter a web address, like https://example.com"),
        ({"type": "file"}, None, "Upload a file"),
    ],
)
def test_invalid_answers_get_a_plain_specific_message(
    question: dict[str, Any], posted: Any, message: str
) -> None:
    for form in forms(question, posted):
        assert not form.validate_section({})
        assert form.q.errors[0].startswith(message), form.q.errors


def test_draft_save_accepts_blanks_but_not_bad_values() -> None:
    for form in forms({"type": "integer"}, None):
        assert form.validate_section({}, enforce_required=False)
    for form in forms({"type": "integer"}, "ten"):
        assert not form.validate_section({}, enforce_required=False)


TABLE = {
    "type": "table",
    "min_rows": 1,
    "max_rows": 2,
    "columns": [
        {"id": "name", "label": "Name", "type": "text"},
        {
            "id": "country",
            "label": "Country",
            "type": "single_choice",
            "choices": [{"value": "uk", "label": "UK"}],
        },
        {"id": "since", "label": "Since", "type": "date", "required": False},
    ],
}


def table_forms(rows: list[dict[str, Any]]) -> list[SectionForm]:
    questionnaire = questionnaire_from_snapshot(one_question(**TABLE))
    form_class = build_section_form(questionnaire, questionnaire.sections[0])
    pairs = [(f"q-{i}-{k}", v) for i, row in enumerate(rows) for k, v in row.items()]
    return [form_class(MultiDict(pairs)), form_class.from_json({"q": rows})]


def test_table_rows_valid_blank_rows_dropped() -> None:
    rows = [
        {"name": "Hosting Ltd", "country": "uk", "since": "2020-01-31"},
        {"name": "", "country": "", "since": ""},
    ]
    for form in table_forms(rows):
        assert form.validate_section({}), form.q.errors
        assert form.answers() == {
            "q": [{"name": "Hosting Ltd", "country": "uk", "since": "2020-01-31"}]
        }


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "Add at least 1 row"),
        ([{"name": "A", "country": ""}], "Row 1: select one option for country"),
        ([{"name": "A", "country": "fr"}], "Row 1, country: Select from the options shown"),
        ([{"name": "A", "country": "uk", "since": "yesterday"}], "Row 1, since: Enter a real date"),
        ([{"name": n, "country": "uk"} for n in "ABC"], "Enter no more than 2 rows"),
    ],
)
def test_table_row_errors_say_which_row_and_column(
    rows: list[dict[str, Any]], message: str
) -> None:
    for form in table_forms(rows):
        assert not form.validate_section({})
        assert form.q.errors[0].startswith(message), form.q.errors


def test_hidden_questions_are_neither_required_nor_kept() -> None:
    questionnaire = questionnaire_from_snapshot(
        {
            "key": "demo",
            "version": 1,
            "title": "Demo",
            "audience": "cloud",
            "sections": [
                {
                    "id": "s",
                    "title": "S",
                    "questions": [
                        {"id": "holds", "label": "Holds?", "type": "yes_no"},
                        {
                            "id": "expiry",
                            "label": "Expiry",
                            "type": "date",
                            "show_if": "holds == 'yes'",
                        },
                    ],
                }
            ],
        }
    )
    form_class = build_section_form(questionnaire, questionnaire.sections[0])
    form = form_class(MultiDict({"holds": "no", "expiry": "not a date"}))
    assert form.validate_section({})  # the bad date is in a hidden question
    assert form.visible_answers({}) == {"holds": "no", "expiry": None}
    form = form_class(MultiDict({"holds": "yes"}))
    assert not form.validate_section({})
    assert form.expiry.errors == ["Enter a date"]
