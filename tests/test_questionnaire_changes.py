"""The change list a curator reads before publishing (issue 24): every
difference that changes a school's findings is named, in words; and the
try-out judges sample answers as a submission would be."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

from portal.questionnaire import questionnaire_from_snapshot
from portal.questionnaire.changes import changes

from .conftest import SHIPPED_QUESTIONNAIRES

CLOUD = tomllib.loads((SHIPPED_QUESTIONNAIRES / "cloud_supplier.toml").read_text("utf-8"))
SCREENING = tomllib.loads((SHIPPED_QUESTIONNAIRES / "dpia_screening.toml").read_text("utf-8"))


def question(snapshot: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(q for s in snapshot["sections"] for q in s["questions"] if q["id"] == qid)


def test_the_same_questionnaire_has_no_changes() -> None:
    before = questionnaire_from_snapshot(CLOUD)
    assert changes(before, questionnaire_from_snapshot(copy.deepcopy(CLOUD))) == []


def test_each_kind_of_change_is_listed_and_those_that_change_findings_are_marked() -> None:
    after = copy.deepcopy(CLOUD)
    after["version"] += 1
    breach = question(after, "breach_notice_hours")
    breach["label"] = "Within how many hours will you tell us of a breach?"
    breach["requirement"]["value"] = 12
    breach["requirement"]["severity"] = "major"
    breach["requirement"]["maps_to"].append("good practice: ICO")
    removed = after["sections"][0]["questions"].pop()
    after["sections"][0]["questions"].append(
        {"id": "mis_link", "label": "Does it link to our MIS?", "type": "yes_no"}
    )
    found = changes(questionnaire_from_snapshot(CLOUD), questionnaire_from_snapshot(after))
    words = {(c.where, c.what) for c in found}
    assert (
        "breach_notice_hours",
        "Reworded: “"
        + question(CLOUD, "breach_notice_hours")["label"]
        + "” → “Within how many hours will you tell us of a breach?”",
    ) in words
    requirement = next(
        c for c in found if c.where == "breach_notice_hours" and c.kind == "requirement"
    )
    assert requirement.judged
    assert requirement.what == (
        "Requirement: max 24 (critical) → max 12 (major); sources added: good practice: ICO"
    )
    assert ("mis_link", "Question added: Does it link to our MIS?") in words
    assert (removed["id"], f"Question removed: {removed['label']}") in words
    assert all(c.judged for c in found if c.kind in ("added", "removed", "requirement"))
    assert not next(c for c in found if c.kind == "reworded").judged


def test_a_new_triage_rule_is_named_with_its_risk() -> None:
    after = copy.deepcopy(SCREENING)
    after["version"] += 1
    after["triage"]["rules"].append(
        {"when": "automated_decisions == 'no'", "risk": "medium", "reason": "Ask them."}
    )
    found = changes(questionnaire_from_snapshot(SCREENING), questionnaire_from_snapshot(after))
    assert [c.what for c in found] == [
        "Triage rule added: automated_decisions == 'no' gives medium"
    ]
    assert found[0].judged


def test_a_new_questionnaire_says_so() -> None:
    found = changes(None, questionnaire_from_snapshot(CLOUD))
    assert len(found) == 1 and found[0].what.startswith("A new questionnaire: ")


def test_a_try_out_judges_a_question_that_depends_on_a_later_section() -> None:
    from werkzeug.datastructures import MultiDict

    from portal.questionnaire.tryout import try_out

    snapshot = {
        "key": "later", "version": 1, "title": "Later", "audience": "cloud",
        "sections": [
            {"id": "first", "title": "First", "questions": [
                {"id": "detail", "label": "Which detail?", "type": "text",
                 "show_if": "asked == 'yes'",
                 "requirement": {"operator": "present", "severity": "major", "rationale": "r",
                                 "maps_to": ["good practice: test"]}},
            ]},
            {"id": "second", "title": "Second", "questions": [
                {"id": "asked", "label": "Asked?", "type": "yes_no"},
            ]},
        ],
    }  # fmt: skip
    tried = try_out(
        questionnaire_from_snapshot(snapshot), MultiDict({"asked": "yes", "detail": "x"})
    )
    assert tried.shown["detail"] is True
    assert tried.comparison is not None
    finding = tried.comparison.finding("detail")
    assert finding is not None and finding.outcome == "met"
