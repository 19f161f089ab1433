"""The questionnaire engine on its own: no app, plain dicts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from portal.questionnaire import DefinitionError, load_directory, questionnaire_from_snapshot
from portal.questionnaire.forms import build_section_form, form_to_answers

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "portal" / "questionnaire"


def test_engine_imports_no_flask_or_sqlalchemy() -> None:
    for path in ENGINE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(("flask", "sqlalchemy")), f"{path.name} imports {name}"


def test_shipped_questionnaires_load() -> None:
    loaded = load_directory(ROOT / "questionnaires")
    assert {q.key for q in loaded} >= {"it_support"}
    it_support = next(q for q in loaded if q.key == "it_support")
    assert it_support.question_count == 16
    assert len(it_support.sha256) == 64
    assert questionnaire_from_snapshot(it_support.snapshot).sha256 == it_support.sha256


def minimal(**question: object) -> dict[str, object]:
    return {
        "key": "demo",
        "version": 1,
        "title": "Demo",
        "audience": "cloud",
        "sections": [
            {"id": "s", "title": "S", "questions": [{"id": "q", "label": "Q?", **question}]}
        ],
    }


@pytest.mark.parametrize(
    ("question", "problem"),
    [
        ({"type": "colour"}, "question q: unknown type 'colour'"),
        (
            {"type": "single_choice", "choices": "missing"},
            "question q: choice list 'missing' is not defined",
        ),
        ({"type": "integer", "min": "0"}, "question q: min must be a whole number"),
        ({"type": "text", "colour": "red"}, "question q: unknown keys for type text: colour"),
    ],
)
def test_definition_errors_name_the_question(question: dict[str, object], problem: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        questionnaire_from_snapshot(minimal(**question))
    assert problem in caught.value.problems


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    data = minimal(type="text")
    (tmp_path / "demo.toml").write_text(
        'key = "demo"\nversion = 1\ntitle = "Demo"\naudience = "cloud"\n'
        '[[sections]]\nid = "s"\ntitle = "S"\n'
        '[[sections.questions]]\nid = "q"\nlabel = "Q"\ntype = "text"\n'
        '[[sections.questions]]\nid = "q"\nlabel = "Again"\ntype = "text"\n'
    )
    with pytest.raises(DefinitionError) as caught:
        load_directory(tmp_path)
    assert caught.value.problems == ["demo.toml: question q: duplicate id"]
    assert data  # the dict form is valid on its own


def validate(
    question: dict[str, object], posted: dict[str, object]
) -> tuple[bool, dict[str, object], list[str]]:
    questionnaire = questionnaire_from_snapshot(minimal(**question))
    section = questionnaire.sections[0]
    form = build_section_form(section)(MultiDict(posted))
    ok = form.validate()
    return ok, form_to_answers(section, form) if ok else {}, form.q.errors


@pytest.mark.parametrize(
    ("question", "posted", "expected"),
    [
        ({"type": "yes_no"}, {"q": "yes"}, "yes"),
        ({"type": "yes_no_na"}, {"q": "na"}, "na"),
        ({"type": "integer", "min": 0, "max": 365}, {"q": "30"}, 30),
        ({"type": "date"}, {"q": "31/03/2027"}, "2027-03-31"),
        ({"type": "date"}, {"q": "2027-03-31"}, "2027-03-31"),
        ({"type": "email"}, {"q": "a@b.example"}, "a@b.example"),
        ({"type": "url"}, {"q": "https://example.com/x"}, "https://example.com/x"),
        ({"type": "long_text"}, {"q": "  words  "}, "words"),
        (
            {
                "type": "multi_choice",
                "choices": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
            },
            {"q": ["a", "b"]},
            ["a", "b"],
        ),
    ],
)
def test_valid_answers_are_stored_as_json_values(
    question: dict[str, object], posted: dict[str, object], expected: object
) -> None:
    ok, answers, errors = validate(question, posted)
    assert ok, errors
    assert answers == {"q": expected}


@pytest.mark.parametrize(
    ("question", "posted", "message"),
    [
        ({"type": "yes_no"}, {}, "Select yes or no"),
        ({"type": "yes_no"}, {"q": "maybe"}, "Select from the options shown"),
        (
            {"type": "integer", "min": 0, "max": 365, "unit": "days"},
            {"q": "400"},
            "Enter a number of days between 0 and 365",
        ),
        ({"type": "integer"}, {"q": "twelve"}, "Enter a whole number"),
        ({"type": "date"}, {"q": "31/02/2027"}, "Enter a real date, for example 31/03/2027"),
        (
            {"type": "email"},
            {"q": "nope"},
            "Enter an email address in the correct format, like name@example.com",
        ),
        ({"type": "text"}, {"q": ""}, "Enter an answer"),
        ({"type": "text"}, {"q": "x" * 501}, "Shorten your answer to 500 characters or fewer"),
    ],
)
def test_invalid_answers_get_a_plain_message(
    question: dict[str, object], posted: dict[str, object], message: str
) -> None:
    ok, _, errors = validate(question, posted)
    assert not ok
    assert errors[0].startswith(message), errors


def test_optional_question_left_blank_is_not_stored() -> None:
    ok, answers, _ = validate({"type": "integer", "required": False}, {"q": ""})
    assert ok
    assert answers == {}
