"""The one rule for saving a section's answers (portal/questionnaire/answerset.py),
on its own: what a supplier, a school's DPIA or standards, or a curator saves."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from portal.questionnaire import questionnaire_from_snapshot
from portal.questionnaire.answerset import Change, Stored, changes_for, plan_section
from portal.questionnaire.definition import Questionnaire

YES_NO = [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}]


def questionnaire() -> Questionnaire:
    return questionnaire_from_snapshot(
        {
            "key": "demo",
            "version": 1,
            "title": "Demo",
            "audience": "cloud",
            "sections": [
                {
                    "id": "data",
                    "title": "Data",
                    "questions": [
                        {"id": "holds", "label": "Holds data?", "type": "single_choice",
                         "choices": YES_NO},
                        {"id": "where", "label": "Where?", "type": "text",
                         "show_if": "holds == 'yes'", "comment": True},
                        {"id": "staff", "label": "Staff?", "type": "integer"},
                    ],
                },
                {
                    "id": "later",
                    "title": "Later",
                    "questions": [
                        {"id": "encrypted", "label": "Encrypted?", "type": "long_text",
                         "show_if": "holds == 'yes'"},
                    ],
                },
            ],
        }
    )  # fmt: skip


def post(q: Questionnaire, data: dict[str, Any]) -> Any:
    from portal.questionnaire.forms import build_section_form

    return build_section_form(q, q.sections[0])(MultiDict(data))


def by_id(changes: tuple[Change, ...]) -> dict[str, Change]:
    return {c.question_id: c for c in changes}


def test_valid_answers_are_saved_and_an_invalid_one_keeps_its_stored_value() -> None:
    q = questionnaire()
    stored = {"holds": Stored("yes"), "where": Stored("UK"), "staff": Stored(4)}
    form = post(q, {"holds": "yes", "where": "EU", "staff": "many"})
    plan = plan_section(form, stored)
    assert plan.saved == {"holds", "where"}
    assert set(plan.errors) == {"staff"}
    assert form["staff"].errors  # the typed value stays on the form with its message
    assert plan.answers == {"holds": "yes", "where": "EU", "staff": 4}
    assert by_id(plan.changes) == {"where": Change("where", "EU", None, value_changed=True)}


def test_answers_hidden_by_the_new_ones_go_wherever_they_are() -> None:
    q = questionnaire()
    stored = {"holds": Stored("yes"), "where": Stored("UK"), "encrypted": Stored("AES")}
    plan = plan_section(post(q, {"holds": "no"}), stored)
    changes = by_id(plan.changes)
    assert changes["where"].remove and changes["encrypted"].remove
    assert plan.answers == {"holds": "no"}


def test_saving_the_same_answers_again_writes_nothing() -> None:
    q = questionnaire()
    stored = {"holds": Stored("yes"), "where": Stored("UK"), "staff": Stored(4)}
    plan = plan_section(post(q, {"holds": "yes", "where": "UK", "staff": "4"}), stored)
    assert plan.changes == ()


def test_an_answer_changed_in_another_tab_is_a_conflict_and_is_not_overwritten() -> None:
    q = questionnaire()
    stored = {"holds": Stored("yes", revision=1), "where": Stored("France", revision=3)}
    # The page was loaded at revision 2 of "where"; the other tab saved revision 3.
    form = post(q, {"holds": "yes", "where": "Spain"})
    plan = plan_section(form, stored, revisions={"holds": 1, "where": 2})
    assert set(plan.conflicts) == {"where"}
    assert "It now says: France" in plan.conflicts["where"]
    assert "where" not in plan.saved and "where" not in by_id(plan.changes)
    # The same value as the other tab's is no conflict: there is nothing to lose.
    same = plan_section(post(q, {"holds": "yes", "where": "France"}), stored,
                        revisions={"where": 2})  # fmt: skip
    assert same.conflicts == {} and same.changes == ()


def test_only_limits_what_a_post_may_change() -> None:
    q = questionnaire()
    stored = {"holds": Stored("yes"), "staff": Stored(4)}
    plan = plan_section(post(q, {"holds": "yes", "staff": "9"}), stored, only={"holds"})
    assert plan.changes == () and plan.answers["staff"] == 4


def test_a_school_note_keeps_its_row_a_supplier_comment_does_not() -> None:
    q = questionnaire()
    stored = {"holds": Stored("yes"), "where": Stored("UK", note="Checked in May")}
    school = changes_for(q, stored, {"holds": "no"}, notes_keep_rows=True)
    assert by_id(school.changes)["where"] == Change(
        "where", None, "Checked in May", value_changed=True
    )
    supplier = changes_for(q, stored, {"holds": "no"})
    assert by_id(supplier.changes)["where"].remove


def test_a_comment_is_saved_beside_its_answer() -> None:
    q = questionnaire()
    stored = {"holds": Stored("yes"), "where": Stored("UK")}
    plan = plan_section(post(q, {"holds": "yes", "where": "UK", "where-comment": "Leeds"}), stored)
    assert by_id(plan.changes) == {"where": Change("where", "UK", "Leeds", note_changed=True)}


def test_normalised_values_compare_equal_so_a_resave_changes_nothing() -> None:
    q = questionnaire()
    stored = {"holds": Stored("yes"), "where": Stored("Line one\r\nLine two")}

    def lf(value: Any) -> Any:
        return value.replace("\r\n", "\n") if isinstance(value, str) else value

    same = changes_for(q, stored, {"where": "Line one\nLine two"}, normalise=lf)
    assert same.changes == ()
