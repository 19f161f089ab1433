"""The five questionnaires we ship: they load, their logic holds under random
answers, HTML and JSON agree, and a supplier can open and complete each one."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from portal.models import Request
from portal.questionnaire import Question, Questionnaire, load_directory, logic
from portal.questionnaire.examples import example_answers
from portal.questionnaire.forms import build_section_form

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import DECLARATION, Factory, login

SHIPPED = {q.key: q for q in load_directory(SHIPPED_QUESTIONNAIRES)}
EXPECTED = {
    # key: (audience, fewest questions, most questions)
    "it_support": ("it_support", 40, 62),
    "cloud_supplier": ("cloud", 50, 68),
    "dpia_screening": ("screening", 12, 20),
    "school_it_standards": ("self_assessment", 30, 38),
    "dpia_full": ("dpia", 30, 45),
}
TODAY = date(2026, 11, 28)


def test_the_five_questionnaires_load_with_their_sizes() -> None:
    assert set(SHIPPED) == set(EXPECTED)
    for key, (audience, fewest, most) in EXPECTED.items():
        questionnaire = SHIPPED[key]
        assert questionnaire.audience == audience
        assert fewest <= questionnaire.question_count <= most, key
        assert questionnaire.description


def test_screening_has_triage_and_self_assessment_has_raci() -> None:
    screening = SHIPPED["dpia_screening"].triage
    assert screening is not None
    assert {rule.risk for rule in screening.rules} >= {"medium", "high"}
    assert all(screening.next_step(risk) for risk in ("low", "medium", "high"))
    for question in SHIPPED["school_it_standards"].questions():
        if question.answerable:
            assert question.raci is not None
            assert question.raci.accountable


def test_supplier_questionnaires_carry_requirements() -> None:
    for key in ("it_support", "cloud_supplier"):
        questions = [q for q in SHIPPED[key].questions() if q.answerable]
        with_requirement = [q for q in questions if q.requirement is not None]
        assert len(with_requirement) >= 0.8 * len(questions), key
        assert all(q.requirement.rationale for q in with_requirement), key
        assert {q.requirement.severity for q in with_requirement} == {"critical", "major", "minor"}


def test_example_answers_complete_every_questionnaire_but_its_files() -> None:
    for questionnaire in SHIPPED.values():
        answers = example_answers(questionnaire, TODAY)
        left = logic.problems(questionnaire, answers, today=TODAY)
        files = {q.id for q in questionnaire.questions() if q.type == "file"}
        assert set(left) <= files, (questionnaire.key, left)


# --- Random answers ---------------------------------------------------------


def raw_value(question: Question) -> st.SearchStrategy[Any]:
    """What a person might type or pick: often valid, often not."""
    junk = st.text(max_size=12)
    match question.type:
        case "yes_no" | "yes_no_na" | "single_choice":
            return st.sampled_from([c.value for c in question.choices] + ["", "maybe"])
        case "multi_choice":
            return st.lists(
                st.sampled_from([c.value for c in question.choices] + ["bogus"]), max_size=3
            )
        case "integer" | "decimal" | "money_gbp" | "percent":
            return st.one_of(
                st.integers(-10, 10_000_000).map(str),
                st.floats(allow_nan=False, allow_infinity=False, width=32).map(str),
                st.sampled_from(["", "£1,000", "12%", "1e3", "abc"]),
            )
        case "date":
            return st.one_of(
                st.dates().map(date.isoformat), st.sampled_from(["", "31/02/2027", "tomorrow"])
            )
        case "table":
            return st.lists(
                st.fixed_dictionaries({c.id: raw_value(c) for c in question.columns}), max_size=3
            )
        case "file":
            return st.just([])
        case _:
            return st.one_of(
                junk, st.sampled_from(["", "a@b.example", "https://x.example", "x" * 600])
            )


def section_inputs(questionnaire: Questionnaire) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={q.id: raw_value(q) for q in questionnaire.questions() if q.answerable},
    )


def as_formdata(questionnaire: Questionnaire, values: dict[str, Any]) -> MultiDict[str, Any]:
    """The same answers as an HTML form would post them."""
    pairs: list[tuple[str, Any]] = []
    for qid, value in values.items():
        question = questionnaire.question(qid)
        if question.type == "table":
            for index, row in enumerate(value):
                pairs += [(f"{qid}-{index}-{cid}", cell) for cid, cell in row.items()]
        elif isinstance(value, list):
            pairs += [(qid, item) for item in value]
        else:
            pairs.append((qid, value))
    return MultiDict(pairs)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_random_answers_never_raise_and_html_and_json_agree(key: str) -> None:
    questionnaire = SHIPPED[key]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(values=section_inputs(questionnaire), other=section_inputs(questionnaire))
    def check(values: dict[str, Any], other: dict[str, Any]) -> None:
        stored = {k: v for k, v in example_answers(questionnaire, TODAY).items() if k in other}
        for section in questionnaire.sections:
            own = {k: v for k, v in values.items() if questionnaire.section_of(k) is section}
            form_class = build_section_form(questionnaire, section)
            html = form_class(as_formdata(questionnaire, own))
            json = form_class.from_json(own)
            html_ok = html.validate_section(stored, today=TODAY)
            json_ok = json.validate_section(stored, today=TODAY)
            assert html_ok == json_ok
            assert {q.id: html[q.id].errors for q in section.answerable} == {
                q.id: json[q.id].errors for q in section.answerable
            }
            assert html.visible_answers(stored, TODAY) == json.visible_answers(stored, TODAY)

    check()


# --- The supplier journey ---------------------------------------------------


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
def test_the_school_answers_its_own_self_assessment_in_every_section(
    client: FlaskClient, make: Factory
) -> None:
    """The self-assessment is answered by the school's staff (Standards), not
    sent to a supplier: every section saves and every item counts."""
    questionnaire = SHIPPED["school_it_standards"]
    admin = make.user(role="admin")
    login(client, admin)
    answers = example_answers(questionnaire)
    for section in questionnaire.sections:
        assert client.get(f"/standards/sections/{section.id}").status_code == 200
        values = {q.id: answers[q.id] for q in section.answerable if q.id in answers}
        response = client.post(
            f"/standards/sections/{section.id}", data=as_formdata(questionnaire, values)
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    overview = client.get("/standards").get_data(as_text=True)
    asked = sum(len(s.answerable) for s in questionnaire.sections)
    assert "Not started" not in overview
    assert overview.count(" answered)") == len(questionnaire.sections)
    assert asked > 0


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
@pytest.mark.parametrize("key", sorted(k for k in EXPECTED if not SHIPPED[k].answered_by_staff))
def test_supplier_can_open_every_section_and_submit(
    key: str, client: FlaskClient, make: Factory, dbs: Session
) -> None:
    questionnaire = SHIPPED[key]
    row, link = make.request(make.user(), questionnaire=key)
    assert client.get(link).status_code == 303
    base = f"/respond/{row.reference}"
    start = client.get(f"{base}/").get_data(as_text=True)
    assert str(escape(questionnaire.title)) in start
    answers = example_answers(questionnaire)
    for section in questionnaire.sections:
        page = client.get(f"{base}/sections/{section.id}")
        assert page.status_code == 200, section.id
        text = page.get_data(as_text=True)
        assert str(escape(section.title)) in text
        data: list[tuple[str, Any]] = []
        for question in section.answerable:
            life = question.life
            if life is not None and (life.asks_issue or life.asks_expiry):
                # The dates its expiry rule asks for, beside the file (issue 26).
                today = date.today()
                data.append((f"{question.id}-issued", (today - timedelta(days=30)).isoformat()))
                if life.asks_expiry:
                    data.append(
                        (f"{question.id}-expires", (today + timedelta(days=300)).isoformat())
                    )
            if question.type == "file":
                data.append((question.id, (io.BytesIO(b"%PDF-1.4 evidence"), f"{question.id}.pdf")))
                data.append(("shown", question.id))
                continue
            if question.evidence != "none":
                data.append(
                    (f"{question.id}-evidence", (io.BytesIO(b"%PDF-1.4 evidence"), "e.pdf"))
                )
            if question.id in answers:
                data += list(
                    as_formdata(questionnaire, {question.id: answers[question.id]}).items(
                        multi=True
                    )
                )
            data.append(("shown", question.id))
        response = client.post(
            f"{base}/sections/{section.id}",
            data=MultiDict(data),
            content_type="multipart/form-data",
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    check = client.get(f"{base}/check").get_data(as_text=True)
    assert "Declaration" in check, check[:3000]
    submitted = client.post(f"{base}/check", data=DECLARATION)
    assert submitted.status_code == 302
    dbs.rollback()
    assert dbs.get(Request, row.id).status == "submitted"
    assert "Answers submitted" in client.get(submitted.location).get_data(as_text=True)


# Replaced on 5 February 2026 by the Data (Use and Access) Act 2025: transfers
# are now Arts 44A and 45A ("approved by regulations"), automated decisions
# Arts 22A to 22D. A shipped file that cites the old articles misleads a school.
REPEALED = re.compile(r"\bArt(?:icle)?s?\.?\s*(44|45|22)\b(?![A-D])", re.I)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_every_requirement_names_a_source_that_is_law_as_it_stands(key: str) -> None:
    for question in SHIPPED[key].questions():
        rule = question.requirement
        if rule is None or rule.operator == "info":
            continue
        assert rule.maps_to, f"{key}.{question.id}: maps_to names no source"
        for source in rule.maps_to:
            assert not REPEALED.search(source), f"{key}.{question.id} cites {source!r}"


def test_a_repealed_article_is_caught() -> None:
    caught = [
        "UK GDPR Art 44",
        "UK GDPR Art 45",
        "UK GDPR Art 22",
        "UK GDPR Articles 44",
        "UK GDPR Art 22(1)",
    ]
    allowed = ["UK GDPR Art 45A", "UK GDPR Art 22C", "UK GDPR Art 44A", "UK GDPR Art 28(3)(a)"]
    assert all(REPEALED.search(s) for s in caught)
    assert not any(REPEALED.search(s) for s in allowed)
