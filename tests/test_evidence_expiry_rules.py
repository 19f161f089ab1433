"""When evidence runs out (issue 26): the engine's date rules, with "today"
passed in, across leap years and month ends, and the questionnaire format's
``evidence_kind`` and ``expires``."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from portal.questionnaire.definition import DefinitionError, questionnaire_from_snapshot
from portal.questionnaire.expiry import (
    Life,
    add_months,
    check_dates,
    expiry_of,
    parse_expires,
    status_of,
)

TODAY = date(2026, 12, 4)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # February is short
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # and a day longer in a leap year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),  # a leap day a year on
        (date(2028, 2, 29), 48, date(2032, 2, 29)),  # four years on: a leap day again
        (date(2026, 12, 15), 1, date(2027, 1, 15)),  # over the year's end
        (date(2026, 3, 31), 6, date(2026, 9, 30)),
        (date(2026, 8, 31), 36, date(2029, 8, 31)),
        (date(2027, 3, 31), -1, date(2027, 2, 28)),  # back, too
    ],
)
def test_months_are_added_the_way_a_certificate_is_dated(
    day: date, months: int, expected: date
) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("expires_on", "status"),
    [
        (None, "unknown"),
        (date(2026, 12, 3), "expired"),
        (date(2026, 12, 4), "expired"),  # on its day it has run out, as compare.py judges
        (date(2026, 12, 5), "expiring"),
        (date(2027, 2, 2), "expiring"),  # 60 days on
        (date(2027, 2, 3), "current"),  # 61 days on
        (date(2028, 1, 1), "current"),
    ],
)
def test_where_an_expiry_stands_today(expires_on: date | None, status: str) -> None:
    assert status_of(expires_on, TODAY) == status


def test_expiry_is_derived_each_way() -> None:
    answers = {"ce_expiry": "2027-03-31", "bad": "31/03/2027"}
    from_answer = Life("certificate", "answer", answer_id="ce_expiry")
    assert expiry_of(from_answer, answers, None, None) == date(2027, 3, 31)
    assert expiry_of(Life("certificate", "answer", answer_id="bad"), answers, None, None) is None
    assert expiry_of(Life("certificate", "answer", answer_id="none"), answers, None, None) is None
    asked = Life("insurance", "asked")
    assert expiry_of(asked, answers, date(2026, 6, 1), date(2027, 6, 1)) == date(2027, 6, 1)
    yearly = Life("test_report", "period", months=12)
    assert expiry_of(yearly, answers, date(2028, 2, 29), None) == date(2029, 2, 28)
    assert expiry_of(yearly, answers, None, None) is None


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("asked", ("asked", "", 0)),
        ("12 months", ("period", "", 12)),
        ("3 years", ("period", "", 36)),
        ("1 month", ("period", "", 1)),
        ("ce_expiry", ("answer", "ce_expiry", 0)),
    ],
)
def test_the_ways_to_say_how_expiry_is_known(text: str, parsed: Any) -> None:
    assert parse_expires(text) == parsed


@pytest.mark.parametrize("text", ["0 months", "11 years", "12 weeks", "soon!", "Asked"])
def test_a_way_not_understood_is_refused_in_words(text: str) -> None:
    assert isinstance(parse_expires(text), str)


def test_dates_beside_an_upload_are_checked() -> None:
    asked = Life("insurance", "asked")
    yearly = Life("test_report", "period", months=12)
    assert check_dates(asked, date(2026, 6, 1), date(2027, 6, 1), TODAY) == {}
    assert check_dates(asked, None, date(2027, 6, 1), TODAY) == {}  # the issue date is optional
    assert check_dates(asked, None, None, TODAY) == {
        "expires": "Enter the date the document expires"
    }
    assert check_dates(asked, date(2027, 6, 1), date(2027, 9, 1), TODAY) == {
        "issued": "The issue date must be today or in the past"
    }
    assert check_dates(asked, date(2026, 6, 1), date(2026, 5, 1), TODAY) == {
        "expires": "The expiry date must be after the issue date"
    }
    assert "check the year" in check_dates(asked, None, date(2126, 6, 1), TODAY)["expires"]
    assert "check the year" in check_dates(asked, date(1926, 6, 1), None, TODAY)["issued"]
    expired = check_dates(asked, None, date(2026, 11, 30), TODAY)
    assert expired == {
        "expires": "This document has expired: upload the current one, or say it is being renewed"
    }
    assert check_dates(asked, None, date(2026, 11, 30), TODAY, renewing=True) == {}
    assert check_dates(yearly, None, None, TODAY) == {
        "issued": "Enter the date the document was issued: its expiry counts from it"
    }
    ran_out = check_dates(yearly, date(2025, 12, 4), None, TODAY)["issued"]
    assert ran_out.startswith("Issued on 4 December 2025, this document ran out on 4 December 2026")
    assert check_dates(yearly, date(2025, 12, 5), None, TODAY) == {}


def _definition(**question: Any) -> dict[str, Any]:
    return {
        "key": "lives",
        "version": 1,
        "title": "Lives",
        "audience": "cloud",
        "sections": [
            {
                "id": "main",
                "title": "Main",
                "questions": [
                    {"id": "ce_expiry", "label": "CE expiry", "type": "date"},
                    {"id": "ce_level", "label": "CE level", "type": "text"},
                    {"id": "certificate", "label": "Certificate", "type": "file", **question},
                ],
            }
        ],
    }


def test_a_question_declares_its_evidence_kind_and_how_it_expires() -> None:
    questionnaire = questionnaire_from_snapshot(
        _definition(evidence_kind="certificate", expires="ce_expiry")
    )
    life = questionnaire.question("certificate").life
    assert life == Life("certificate", "answer", answer_id="ce_expiry")
    assert questionnaire.question("ce_expiry").life is None


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ({"evidence_kind": "passport"}, "evidence_kind must be one of certificate"),
        ({"expires": "12 weeks"}, "is not a date question's id"),
        ({"expires": "nowhere"}, "'nowhere' is not a date question of this questionnaire"),
        (
            {"expires": "ce_level"},
            "'ce_level' is a text question: the expiry must come from a date",
        ),
        ({"expires": "13 years"}, "a period of 1 to 120 months"),
    ],
)
def test_a_wrong_declaration_is_refused_in_words(question: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError) as refused:
        questionnaire_from_snapshot(_definition(**question))
    assert any(message in problem for problem in refused.value.problems), refused.value.problems


def test_only_a_question_taking_files_may_declare_it() -> None:
    definition = _definition()
    definition["sections"][0]["questions"][1]["evidence_kind"] = "certificate"
    with pytest.raises(DefinitionError) as refused:
        questionnaire_from_snapshot(definition)
    assert any("need a file question, or evidence beside it" in p for p in refused.value.problems)


# --- an expired file is no file (compare.py) -----------------------------------------


def _judged(expired: dict[str, date] | None, **answers: Any) -> dict[str, Any]:
    from portal.questionnaire.compare import compare

    questionnaire = questionnaire_from_snapshot(
        {
            "key": "judged",
            "version": 1,
            "title": "Judged",
            "audience": "cloud",
            "sections": [
                {
                    "id": "main",
                    "title": "Main",
                    "questions": [
                        {"id": "certificate", "label": "Certificate", "type": "file",
                         "evidence_kind": "certificate", "expires": "asked",
                         "requirement": {"operator": "present", "severity": "major",
                                         "rationale": "r", "maps_to": ["good practice: x"]}},
                        {"id": "insured", "label": "Insured?", "type": "yes_no",
                         "evidence": "required", "evidence_kind": "insurance", "expires": "asked",
                         "requirement": {"operator": "equals", "value": "yes", "severity": "major",
                                         "rationale": "r", "maps_to": ["good practice: x"]}},
                        {"id": "policy", "label": "Policy?", "type": "yes_no",
                         "evidence": "optional", "evidence_kind": "policy", "expires": "12 months",
                         "requirement": {"operator": "equals", "value": "yes", "severity": "minor",
                                         "rationale": "r", "maps_to": ["good practice: x"]}},
                    ],
                }
            ],
        }
    )  # fmt: skip
    found = compare(
        questionnaire,
        answers,
        evidence={"insured", "policy"},
        today=TODAY,
        expired=expired,
    )
    return {f.question.id: (f.outcome, f.reason) for f in found.findings}


def test_expired_evidence_is_judged_as_no_evidence() -> None:
    """A DPO's reading: a certificate that has run out does not evidence a
    current one, whatever the file says; an answer that needed its evidence
    is not met until the renewed document arrives; an answer whose evidence
    was optional stands on the answer."""
    given = {"certificate": [1], "insured": "yes", "policy": "yes"}
    current = _judged(None, **given)
    assert {qid: outcome for qid, (outcome, _) in current.items()} == {
        "certificate": "met", "insured": "met", "policy": "met"
    }  # fmt: skip
    ran_out = date(2026, 11, 30)
    expired = _judged({"certificate": ran_out, "insured": ran_out, "policy": ran_out}, **given)
    assert expired["certificate"] == ("not_met", "The evidence expired on 30 November 2026")
    assert expired["insured"] == ("not_met", "The evidence expired on 30 November 2026")
    assert expired["policy"][0] == "met"


def test_an_expiry_does_not_change_an_unanswered_or_failed_finding() -> None:
    ran_out = {"insured": date(2026, 11, 30)}
    assert _judged(ran_out, insured="no")["insured"][0] == "not_met"
    assert (
        _judged(ran_out, insured="no")["insured"][1] != "The evidence expired on 30 November 2026"
    )
    assert _judged(ran_out)["insured"][0] == "unanswered"
