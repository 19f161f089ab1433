"""Loading questionnaire definitions: the format of questionnaires/README.md, the
problems a curator is told about, and the snapshot that pins a version."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portal.questionnaire.definition import (
    Choice,
    DefinitionError,
    Questionnaire,
    Raci,
    Requirement,
    TriageRule,
    load_directory,
    load_file,
    load_files,
    questionnaire_from_snapshot,
)

EVERY_TYPE = """
key = "everything"
version = 3
title = "Every question type"
audience = "screening"
description = \"\"\"
Shown on the supplier's start page.\"\"\"
privacy_notice = "How the answers are used."

[choices]
hosting = [
  { value = "uk", label = "United Kingdom" },
  { value = "eea", label = "European Economic Area" },
  { value = "other", label = "Elsewhere" },
]

[[sections]]
id = "basics"
title = "The basics"
intro = "Optional text above the questions."

[[sections.questions]]
id = "intro_note"
label = "Answer as best you can."
type = "note"

[[sections.questions]]
id = "uses_cloud"
label = "Do you use the cloud?"
help = "  Hosting, backups or email.  "
type = "yes_no"
comment = true

[sections.questions.requirement]
operator = "equals"
value = "yes"
severity = "major"
rationale = "  Why a school should care.  "
maps_to = ["UK GDPR Art 28", "DfE cloud solutions standard"]

[sections.questions.raci]
responsible = ["IT support", "Business manager"]
accountable = "SLT digital lead"
consulted = ["DPO"]
informed = "Governors"

[[sections.questions]]
id = "cyber_essentials"
label = "Do you hold Cyber Essentials?"
type = "yes_no_na"
evidence = "optional"

[[sections.questions]]
id = "hosting"
label = "Where is the data stored?"
type = "single_choice"
choices = "hosting"
show_if = "uses_cloud == 'yes'"

[sections.questions.requirement]
operator = "in"
value = ["uk", "eea"]
severity = "critical"

[[sections.questions]]
id = "features"
label = "Which features do you offer?"
type = "multi_choice"
choices = [
  { value = "sso", label = "Single sign-on" },
  { value = "mfa", label = "Multi-factor authentication" },
]
evidence = "selected(features, 'sso')"

[sections.questions.requirement]
operator = "includes_all"
value = ["sso", "mfa"]
severity = "minor"
maps_to = "NCSC cloud principle 10"

[[sections.questions]]
id = "legal_name"
label = "Registered name"
type = "text"
placeholder = "Example Ltd"

[[sections.questions]]
id = "why_not_cloud"
label = "Why not?"
type = "long_text"
placeholder = "A few sentences"
required_if = "uses_cloud == 'no'"

[[sections]]
id = "numbers"
title = "Numbers, dates and files"

[[sections.questions]]
id = "staff"
label = "How many staff?"
type = "integer"
min = 1
max = 500
unit = "people"
constraint = "value >= 1 and value <= 500"
constraint_message = "Enter between 1 and 500 people"

[[sections.questions]]
id = "uptime"
label = "Uptime last year"
type = "decimal"
min = 0.5
max = 99.999
unit = "hours"

[[sections.questions]]
id = "price"
label = "Price per year"
type = "money_gbp"
max = 10000

[[sections.questions]]
id = "share"
label = "Share of pupils"
type = "percent"
required = false

[[sections.questions]]
id = "cert_expiry"
label = "When does the certificate expire?"
type = "date"

[sections.questions.requirement]
operator = "date_after_today"
severity = "major"

[[sections.questions]]
id = "contact"
label = "Contact email"
type = "email"

[[sections.questions]]
id = "website"
label = "Website"
type = "url"

[[sections.questions]]
id = "policy"
label = "Security policy"
type = "file"
accept = ["PDF", "docx"]
max_files = 3
max_size_mb = 5

[sections.questions.requirement]
operator = "present"
severity = "minor"

[[sections.questions]]
id = "sub_processors"
label = "Sub-processors"
type = "table"
min_rows = 1
max_rows = 20
columns = [
  { id = "name", label = "Name", type = "text" },
  { id = "country", label = "Country", type = "single_choice", choices = "hosting" },
  { id = "since", label = "Since", type = "date", required = false },
]

[sections.questions.requirement]
operator = "max"
value = 10
severity = "minor"

[triage]
default = "medium"

[[triage.rules]]
when = "hosting == 'other'"
risk = "high"
reason = "Data is stored outside the UK and EEA."

[[triage.rules]]
when = "count(sub_processors) > 5 or cert_expiry < today() + 30"
risk = "medium"
reason = "Many sub-processors, or a certificate about to expire."

[triage.next_steps]
low = "Go ahead."
medium = "Look closer."
high = "Carry out a full DPIA."
"""

ALL_TYPES = [
    "note",
    "yes_no",
    "yes_no_na",
    "single_choice",
    "multi_choice",
    "text",
    "long_text",
    "integer",
    "decimal",
    "money_gbp",
    "percent",
    "date",
    "email",
    "url",
    "file",
    "table",
]


@pytest.fixture
def everything(tmp_path: Path) -> Questionnaire:
    path = tmp_path / "everything.toml"
    path.write_text(EVERY_TYPE, encoding="utf-8")
    return load_file(path)


def test_every_question_type_loads(everything: Questionnaire) -> None:
    q = everything
    assert (q.key, q.version, q.title, q.audience) == (
        "everything",
        3,
        "Every question type",
        "screening",
    )
    assert q.description == "Shown on the supplier's start page."
    assert q.privacy_notice == "How the answers are used."
    assert [s.id for s in q.sections] == ["basics", "numbers"]
    assert q.sections[0].intro == "Optional text above the questions."
    assert q.sections[1].intro == ""
    assert [question.type for question in q.questions()] == ALL_TYPES
    assert q.question_count == len(ALL_TYPES) - 1  # a note is not a question
    assert q.section_of("policy").id == "numbers"
    assert [question.id for question in q.sections[0].answerable][0] == "uses_cloud"


def test_choices(everything: Questionnaire) -> None:
    q = everything
    assert q.question("uses_cloud").choices == (Choice("yes", "Yes"), Choice("no", "No"))
    assert [c.value for c in q.question("cyber_essentials").choices] == ["yes", "no", "na"]
    assert q.question("cyber_essentials").choice_label("na") == "Not applicable"
    assert q.question("hosting").choices == (
        Choice("uk", "United Kingdom"),
        Choice("eea", "European Economic Area"),
        Choice("other", "Elsewhere"),
    )
    assert q.question("features").choices == (
        Choice("sso", "Single sign-on"),
        Choice("mfa", "Multi-factor authentication"),
    )
    assert q.question("legal_name").choices == ()


def test_common_fields(everything: Questionnaire) -> None:
    q = everything
    uses_cloud = q.question("uses_cloud")
    assert uses_cloud.help == "Hosting, backups or email."
    assert uses_cloud.comment is True
    assert uses_cloud.required is True
    assert uses_cloud.evidence == "none"
    assert q.question("legal_name").comment is False
    assert q.question("legal_name").placeholder == "Example Ltd"
    assert q.question("share").required is False
    assert q.question("hosting").show_if == "uses_cloud == 'yes'"
    assert q.question("why_not_cloud").required_if == "uses_cloud == 'no'"
    assert q.question("cyber_essentials").evidence == "optional"
    assert q.question("features").evidence == "selected(features, 'sso')"
    assert q.question("staff").constraint == "value >= 1 and value <= 500"
    assert q.question("staff").constraint_message == "Enter between 1 and 500 people"
    note = q.question("intro_note")
    assert note.required is False
    assert note.answerable is False


def test_number_bounds(everything: Questionnaire) -> None:
    q = everything
    staff = q.question("staff")
    assert (staff.min, staff.max, staff.unit) == (1, 500, "people")
    uptime = q.question("uptime")
    assert (uptime.min, uptime.max, uptime.unit) == (0.5, 99.999, "hours")
    # A percent is 0 to 100 unless narrowed; money starts at 0.
    assert (q.question("share").min, q.question("share").max) == (0, 100)
    assert (q.question("price").min, q.question("price").max) == (0, 10000)
    assert (q.question("legal_name").min, q.question("legal_name").max) == (None, None)


def test_file_and_table(everything: Questionnaire) -> None:
    policy = everything.question("policy")
    assert policy.accept == ("pdf", "docx")
    assert (policy.max_files, policy.max_size_mb) == (3, 5)
    table = everything.question("sub_processors")
    assert [c.id for c in table.columns] == ["name", "country", "since"]
    assert [c.type for c in table.columns] == ["text", "single_choice", "date"]
    assert [c.required for c in table.columns] == [True, True, False]
    assert [c.value for c in table.column("country").choices] == ["uk", "eea", "other"]
    assert (table.min_rows, table.max_rows) == (1, 20)


def test_file_and_table_defaults() -> None:
    q = questionnaire_from_snapshot(
        definition(
            {"id": "f", "label": "F", "type": "file"},
            {"id": "t", "label": "T", "type": "table", "columns": [column("c")]},
        )
    )
    f = q.question("f")
    assert f.accept == ("pdf", "docx", "xlsx", "png", "jpg")
    assert (f.max_files, f.max_size_mb) == (1, 10)
    assert (q.question("t").min_rows, q.question("t").max_rows) == (0, 100)


def test_requirements(everything: Questionnaire) -> None:
    q = everything
    assert q.question("uses_cloud").requirement == Requirement(
        operator="equals",
        value="yes",
        severity="major",
        rationale="Why a school should care.",
        maps_to=("UK GDPR Art 28", "DfE cloud solutions standard"),
    )
    hosting = q.question("hosting").requirement
    assert hosting is not None
    assert hosting.value == ("uk", "eea")  # lists are stored as tuples
    assert hosting.severity == "critical"
    assert (hosting.rationale, hosting.maps_to) == ("", ())
    features = q.question("features").requirement
    assert features is not None
    assert (features.operator, features.value) == ("includes_all", ("sso", "mfa"))
    assert features.maps_to == ("NCSC cloud principle 10",)
    expiry = q.question("cert_expiry").requirement
    assert expiry is not None
    assert (expiry.operator, expiry.value) == ("date_after_today", None)
    table = q.question("sub_processors").requirement
    assert table is not None
    assert (table.operator, table.value) == ("max", 10)
    assert q.question("legal_name").requirement is None


def test_raci(everything: Questionnaire) -> None:
    assert everything.question("uses_cloud").raci == Raci(
        responsible=("IT support", "Business manager"),
        accountable="SLT digital lead",
        consulted=("DPO",),
        informed=("Governors",),
    )
    assert everything.question("hosting").raci is None


def test_triage(everything: Questionnaire) -> None:
    triage = everything.triage
    assert triage is not None
    assert triage.default == "medium"
    assert triage.rules == (
        TriageRule("hosting == 'other'", "high", "Data is stored outside the UK and EEA."),
        TriageRule(
            "count(sub_processors) > 5 or cert_expiry < today() + 30",
            "medium",
            "Many sub-processors, or a certificate about to expire.",
        ),
    )
    assert triage.next_step("low") == "Go ahead."
    assert triage.next_step("medium") == "Look closer."
    assert triage.next_step("high") == "Carry out a full DPIA."


def test_expressions_are_parsed_when_the_file_loads(everything: Questionnaire) -> None:
    q = everything
    assert q.question("hosting").show_if_node is not None
    assert q.question("why_not_cloud").required_if_node is not None
    assert q.question("staff").constraint_node is not None
    assert q.question("features").evidence_node is not None
    assert q.question("cyber_essentials").evidence_node is None
    assert q.triage is not None
    assert all(rule.when_node is not None for rule in q.triage.rules)


# --- Problems -------------------------------------------------------------


def column(cid: str, ctype: str = "text", **extra: Any) -> dict[str, Any]:
    return {"id": cid, "label": cid.upper(), "type": ctype, **extra}


def definition(*questions: dict[str, Any], **header: Any) -> dict[str, Any]:
    """A small valid definition (given valid questions); with a triage, a screening."""
    return {
        "key": "k",
        "version": 1,
        "title": "T",
        "audience": "screening" if "triage" in header else "cloud",
        "choices": {
            "yes_no_unsure": [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}]
        },
        "sections": [{"id": "s", "title": "S", "questions": list(questions)}],
        **header,
    }


def q(qid: str, qtype: str = "text", **extra: Any) -> dict[str, Any]:
    return {"id": qid, "label": qid.upper(), "type": qtype, **extra}


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        questionnaire_from_snapshot(data)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


RISKS_NEXT = {"low": "L", "medium": "M", "high": "H"}

BROKEN = {
    "duplicate question id": (
        definition(q("a"), q("b"), q("a", "integer")),
        "question a: duplicate id",
    ),
    "duplicate section id": (
        {
            **definition(q("a")),
            "sections": [
                {"id": "s", "title": "S", "questions": [q("a")]},
                {"id": "s", "title": "Again", "questions": [q("b")]},
            ],
        },
        "section s: duplicate section id",
    ),
    "section without questions": (
        {
            **definition(q("a")),
            "sections": [
                {"id": "s", "title": "S", "questions": [q("a")]},
                {"id": "empty", "title": "E", "questions": []},
            ],
        },
        "section empty: has no questions",
    ),
    "unknown id in show_if": (
        definition(q("a"), q("b", show_if="nope == 'x'")),
        "question b: show_if: unknown question id 'nope' (at character 1)",
    ),
    "unknown id later in show_if": (
        definition(q("a"), q("b", show_if="a == 'x' and nope == 'x'")),
        "question b: show_if: unknown question id 'nope' (at character 14)",
    ),
    "syntax error in required_if": (
        definition(q("a"), q("b", required_if="a ==")),
        "question b: required_if: unexpected the end of the expression (at character 5)",
    ),
    "show_if that is not a condition": (
        definition(q("n", "integer"), q("b", show_if="n + 1")),
        "question b: show_if: must be a condition (true or false), not a number",
    ),
    "choice list not defined": (
        definition(q("c", "single_choice", choices="nope")),
        "question c: choice list 'nope' is not defined",
    ),
    "choice question without choices": (
        definition(q("c", "multi_choice")),
        "question c: a multi_choice question needs choices",
    ),
    "choice value twice": (
        definition(
            q(
                "c",
                "single_choice",
                choices=[{"value": "a", "label": "A"}, {"value": "a", "label": "Again"}],
            )
        ),
        "question c: choice value 'a' appears twice",
    ),
    "bad type": (
        definition(q("a", "bogus")),
        "question a: unknown type 'bogus'",
    ),
    "file as a table column": (
        definition(q("t", "table", columns=[column("name"), column("upload", "file")])),
        "question t.upload: type file cannot be a table column",
    ),
    "unknown key": (
        definition(q("a", colour="red")),
        "question a: unknown keys for type text: colour",
    ),
    "key of another type": (
        definition(q("a", min=1, unit="kg")),
        "question a: unknown keys for type text: min, unit",
    ),
    "unknown header key": (
        definition(q("a"), colour="red"),
        "header: unknown keys: colour",
    ),
    "missing label": (
        definition({"id": "a", "type": "text"}),
        "question a: needs a label",
    ),
    "bad id": (
        definition(q("Bad-Id")),
        "question Bad-Id: id must be lower-case letters, digits and _",
    ),
    "bad audience": (
        definition(q("a"), audience="everyone"),
        "header: audience 'everyone' must be one of cloud, dpia, it_support, screening, self_assessment",
    ),
    "min more than max": (
        definition(q("n", "integer", min=10, max=5)),
        "question n: min is more than max",
    ),
    "percent min above its default max": (
        definition(q("p", "percent", min=150)),
        "question p: min is more than max",
    ),
    "integer bound not whole": (
        definition(q("n", "integer", max=2.5)),
        "question n: max must be a whole number",
    ),
    "min_rows more than max_rows": (
        definition(q("t", "table", columns=[column("c")], min_rows=5, max_rows=2)),
        "question t: min_rows is more than max_rows",
    ),
    "constraint without message": (
        definition(q("n", "integer", constraint="value > 0")),
        "question n: a constraint needs a constraint_message saying what to fix",
    ),
    "required and required_if": (
        definition(q("a", "yes_no"), q("b", required=False, required_if="a == 'yes'")),
        "question b: use either required or required_if, not both",
    ),
    "show_if cycle": (
        definition(
            q("a", "yes_no", show_if="b == 'yes'"),
            q("b", "yes_no", show_if="a == 'yes'"),
        ),
        "question a: show_if/required_if form a cycle: a -> b -> a",
    ),
    "required_if cycle through three": (
        definition(
            q("a", "yes_no", required_if="c == 'yes'"),
            q("b", "yes_no", show_if="a == 'yes'"),
            q("c", "yes_no", required_if="b == 'no'"),
        ),
        "question a: show_if/required_if form a cycle: a -> c -> b -> a",
    ),
    "show_if on itself": (
        definition(q("a", "yes_no", show_if="a == 'yes'")),
        "question a: show_if/required_if form a cycle: a -> a",
    ),
    "date compared with a number": (
        definition(q("d", "date"), q("b", show_if="d > 30")),
        "question b: show_if: cannot compare date with number (at character 3)",
    ),
    "show_if value not a choice": (
        definition(q("a", "yes_no"), q("b", show_if="a == 'mabye'")),
        "question b: show_if: 'mabye' is not a choice of a (choices: no, yes) (at character 6)",
    ),
    "requirement with unknown operator": (
        definition(q("a", requirement={"operator": "bogus", "severity": "major"})),
        "question a: requirement: operator 'bogus' must be one of equals, not_equals, in, "
        "not_in, includes_all, includes_any, min, max, date_after_today, within_days, "
        "present, info",
    ),
    "operator that does not apply": (
        definition(
            q("a", requirement={"operator": "includes_all", "value": ["x"], "severity": "major"})
        ),
        "question a: requirement: operator includes_all does not apply to a text question",
    ),
    "date operator on text": (
        definition(
            q("t", requirement={"operator": "within_days", "value": 30, "severity": "minor"})
        ),
        "question t: requirement: operator within_days does not apply to a text question",
    ),
    "requirement value not a choice": (
        definition(
            q(
                "a",
                "yes_no",
                requirement={"operator": "equals", "value": "maybe", "severity": "major"},
            )
        ),
        "question a: requirement: value 'maybe' is not one of the choices (no, yes)",
    ),
    "requirement list value not a choice": (
        definition(
            q(
                "a",
                "single_choice",
                choices="yes_no_unsure",
                requirement={"operator": "in", "value": ["yes", "unsure"], "severity": "minor"},
            )
        ),
        "question a: requirement: value 'unsure' is not one of the choices (no, yes)",
    ),
    "requirement without severity": (
        definition(q("a", "yes_no", requirement={"operator": "equals", "value": "yes"})),
        "question a: requirement: severity must be one of critical, major, minor",
    ),
    "requirement without a value": (
        definition(q("n", "integer", requirement={"operator": "min", "severity": "minor"})),
        "question n: requirement: operator min needs a number value",
    ),
    "requirement value where none is taken": (
        definition(q("a", requirement={"operator": "present", "value": "x", "severity": "minor"})),
        "question a: requirement: operator present takes no value",
    ),
    "requirement with unknown key": (
        definition(q("a", requirement={"operator": "info", "why": "x"})),
        "question a: requirement: unknown keys: why",
    ),
    "self-assessment question without raci": (
        definition(q("a"), q("intro", "note"), audience="self_assessment"),
        "question a: a self-assessment question needs a raci table",
    ),
    "raci without accountable": (
        definition(q("a", raci={"responsible": ["IT"], "consulted": ["DPO"]})),
        "question a: raci: accountable must be exactly one role",
    ),
    "raci with two accountable": (
        definition(q("a", raci={"responsible": ["IT"], "accountable": ["Head", "DPO"]})),
        "question a: raci: accountable must be exactly one role",
    ),
    "raci without responsible": (
        definition(q("a", raci={"accountable": "Head"})),
        "question a: raci: responsible needs at least one role",
    ),
    "triage without next_steps": (
        definition(
            q("a", "yes_no"),
            triage={"rules": [{"when": "a == 'yes'", "risk": "high", "reason": "A."}]},
        ),
        "triage: next_steps must give a step for each of low, medium and high",
    ),
    "triage with next_steps missing one": (
        definition(
            q("a", "yes_no"),
            triage={
                "rules": [{"when": "a == 'yes'", "risk": "high", "reason": "A."}],
                "next_steps": {"low": "L", "high": "H"},
            },
        ),
        "triage: next_steps must give a step for each of low, medium and high",
    ),
    "triage without rules": (
        definition(q("a", "yes_no"), triage={"next_steps": RISKS_NEXT}),
        "triage: needs at least one rule",
    ),
    "triage rule with a bad risk": (
        definition(
            q("a", "yes_no"),
            triage={
                "rules": [{"when": "a == 'yes'", "risk": "severe", "reason": "A."}],
                "next_steps": RISKS_NEXT,
            },
        ),
        "triage rule 1: risk must be one of low, medium, high",
    ),
    "triage rule with an unknown id": (
        definition(
            q("a", "yes_no"),
            triage={
                "rules": [
                    {"when": "a == 'yes'", "risk": "low", "reason": "A."},
                    {"when": "b == 'yes'", "risk": "high", "reason": "B."},
                ],
                "next_steps": RISKS_NEXT,
            },
        ),
        "triage rule 2: when: unknown question id 'b' (at character 1)",
    ),
    # Issue 21, part 2: what can never work is refused when the file loads.
    "requirement on a note": (
        definition(q("about", "note", requirement={"operator": "present", "severity": "minor"})),
        "question about: requirement: a note has no answer, so it cannot have a requirement",
    ),
    "a note's id in an expression": (
        definition(q("about_note", "note"), q("a", show_if="about_note == 'x'")),
        "question a: show_if: about_note is a note and has no answer",
    ),
    "percent limits outside 0 to 100": (
        definition(q("p", "percent", max=150)),
        "question p: a percentage's min and max must be between 0 and 100",
    ),
    "requirement value outside the question's min and max": (
        definition(
            q(
                "n",
                "integer",
                min=0,
                max=10,
                requirement={"operator": "min", "value": 20, "severity": "major"},
            )
        ),  # fmt: skip
        "question n: requirement: value 20 is outside what the question accepts (between 0 and 10)",
    ),
    "requirement value outside a percentage": (
        definition(
            q(
                "p",
                "percent",
                requirement={"operator": "min", "value": 99.99 * 2, "severity": "major"},
            )
        ),  # fmt: skip
        "question p: requirement: value 199.98 is outside what the question accepts "
        "(between 0 and 100)",
    ),
    "requirement value its own constraint refuses": (
        definition(
            q(
                "hours",
                "integer",
                constraint="value <= 72",
                constraint_message="At most 72.",
                requirement={"operator": "max", "value": 96, "severity": "major"},
            )
        ),  # fmt: skip
        "question hours: requirement: value 96 breaks the question's own constraint (value <= 72)",
    ),
    "within_days of 0": (
        definition(
            q("d", "date", requirement={"operator": "within_days", "value": 0, "severity": "major"})
        ),  # fmt: skip
        "question d: requirement: within_days needs a number of days of 1 or more",
    ),
    "includes_all with no values": (
        definition(
            q(
                "m",
                "multi_choice",
                choices=[{"value": "a", "label": "A"}],
                requirement={"operator": "includes_all", "value": [], "severity": "major"},
            )
        ),  # fmt: skip
        "question m: requirement: operator includes_all needs at least one value",
    ),
    "a triage on a questionnaire that is not a screening": (
        definition(
            q("a", "yes_no"),
            audience="cloud",
            triage={
                "rules": [{"when": "a == 'yes'", "risk": "high", "reason": "A."}],
                "next_steps": RISKS_NEXT,
            },
        ),  # fmt: skip
        'triage: only a screening has a triage: set audience = "screening", or remove [triage] '
        "(a cloud questionnaire is compared with requirements instead)",
    ),
    "a screening without a triage": (
        definition(q("a", "yes_no"), audience="screening"),
        "header: a screening needs a [triage] table: its risk and next step",
    ),
    "na on a question that has no 'Not applicable'": (
        definition(
            q(
                "a",
                "yes_no",
                requirement={
                    "operator": "equals",
                    "value": "yes",
                    "severity": "major",
                    "na": "accept",
                },
            )
        ),  # fmt: skip
        "question a: requirement: na applies only to a yes_no_na question "
        "(its 'Not applicable' answer)",
    ),
    "na that is not one of the words": (
        definition(
            q(
                "a",
                "yes_no_na",
                requirement={
                    "operator": "equals",
                    "value": "yes",
                    "severity": "major",
                    "na": "ignore",
                },
            )
        ),  # fmt: skip
        "question a: requirement: na 'ignore' must be one of review, accept, fail",
    ),
    "na beside a value that already names it": (
        definition(
            q(
                "a",
                "yes_no_na",
                requirement={
                    "operator": "in",
                    "value": ["yes", "na"],
                    "severity": "major",
                    "na": "fail",
                },
            )
        ),  # fmt: skip
        "question a: requirement: value already includes 'na', so 'Not applicable' meets this "
        "rule: remove na, or take 'na' out of value",
    ),
    "na on a rule that judges nothing": (
        definition(
            q(
                "a",
                "yes_no_na",
                requirement={"operator": "present", "severity": "major", "na": "accept"},
            )
        ),  # fmt: skip
        "question a: requirement: na has no effect with operator present: remove it",
    ),
    "N/A left to a reviewer in a school's own questionnaire": (
        definition(
            q(
                "a",
                "yes_no_na",
                requirement={"operator": "equals", "value": "yes", "severity": "major"},
            ),
            audience="self_assessment",
        ),  # fmt: skip
        "question a: requirement: a school's own questionnaire has no reviewer to accept "
        '\'Not applicable\': say na = "accept" or na = "fail"',
    ),
    "an evidence word we do not have": (
        definition(q("a", evidence="mandatory")),
        "question a: evidence: 'mandatory' is not none, optional or required, nor a condition "
        "on other answers",
    ),
}


@pytest.mark.parametrize(("data", "problem"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_definition_reports_the_problem(data: dict[str, Any], problem: str) -> None:
    assert problem in problems_of(data)


def test_every_problem_is_reported_at_once() -> None:
    data = definition(
        q("a", colour="red"),
        q("a"),
        q("n", "integer", min=3, max=1),
        q("c", "single_choice", choices="nope"),
    )
    assert problems_of(data) == [
        "question a: unknown keys for type text: colour",
        "question a: duplicate id",
        "question n: min is more than max",
        "question c: choice list 'nope' is not defined",
    ]


@pytest.mark.parametrize("missing", ["key", "version", "title", "audience", "sections"])
def test_a_missing_header_key_is_named(missing: str) -> None:
    data = definition(q("a"))
    del data[missing]
    assert problems_of(data) == [f"header: '{missing}' is missing"]


def test_a_constraint_may_read_its_own_value() -> None:
    loaded = questionnaire_from_snapshot(
        definition(q("n", "integer", constraint="value > 0", constraint_message="More than 0"))
    )
    assert loaded.question("n").constraint_node is not None
    # `value` means nothing outside a constraint.
    assert "question b: show_if: unknown question id 'value' (at character 1)" in problems_of(
        definition(q("n", "integer"), q("b", show_if="value > 0"))
    )


# --- Files and folders ----------------------------------------------------

MINIMAL_TOML = """
key = "{key}"
version = {version}
title = "T"
audience = "cloud"

[[sections]]
id = "s"
title = "S"

[[sections.questions]]
id = "q"
label = "Q"
type = "text"
"""


def test_load_file_problems_start_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(
        MINIMAL_TOML.format(key="k", version=1)
        + '\n[[sections.questions]]\nid = "q"\nlabel = "Again"\ntype = "text"\n',
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert caught.value.problems == ["broken.toml: question q: duplicate id"]


def test_a_file_that_is_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "name.toml"
    path.write_text('key = "k"\nversion = \n', encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("name.toml: not valid TOML: ")


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(MINIMAL_TOML.format(key="k", version=1).replace("T", "\xe9").encode("latin-1"))
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert caught.value.problems[0].startswith("latin.toml: not valid TOML: ")


def test_load_directory(tmp_path: Path) -> None:
    (tmp_path / "one.toml").write_text(MINIMAL_TOML.format(key="one", version=1), encoding="utf-8")
    (tmp_path / "two.toml").write_text(MINIMAL_TOML.format(key="one", version=2), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a definition", encoding="utf-8")
    loaded = load_directory(tmp_path)
    assert [(x.key, x.version) for x in loaded] == [("one", 1), ("one", 2)]
    assert [f.path.name for f in load_files(tmp_path)] == ["one.toml", "two.toml"]


def test_load_directory_reports_the_same_key_and_version_twice(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(MINIMAL_TOML.format(key="k", version=1), encoding="utf-8")
    (tmp_path / "b.toml").write_text(MINIMAL_TOML.format(key="k", version=1), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_directory(tmp_path)
    assert caught.value.problems == ["b.toml: key 'k' version 1 is also defined in a.toml"]


def test_load_directory_collects_the_problems_of_every_file(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text(MINIMAL_TOML.format(key="k", version=1), encoding="utf-8")
    (tmp_path / "bad.toml").write_text("this is = = not toml", encoding="utf-8")
    (tmp_path / "worse.toml").write_text(
        MINIMAL_TOML.format(key="k", version=2).replace('type = "text"', 'type = "bogus"'),
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as caught:
        load_directory(tmp_path)
    problems = caught.value.problems
    assert problems[0].startswith("bad.toml: not valid TOML: ")
    assert problems[1:] == [
        "worse.toml: question q: unknown type 'bogus'",
        "worse.toml: section s: has no questions",
    ]


# --- Snapshot and SHA-256 -------------------------------------------------


def reverse_keys(value: Any) -> Any:
    """The same data with every table's keys in reverse order."""
    if isinstance(value, dict):
        return {key: reverse_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reverse_keys(item) for item in value]
    return value


def label_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every `label` (and `title`) in a definition."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("label", "title") and isinstance(item, str):
                yield (*path, key)
            yield from label_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from label_paths(item, (*path, index))


def with_changed(data: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] += "!"
    return changed


def test_sha256_does_not_depend_on_key_order(everything: Questionnaire) -> None:
    data = copy.deepcopy(dict(everything.snapshot))
    reordered = reverse_keys(data)
    assert list(reordered) != list(data)
    assert questionnaire_from_snapshot(reordered).sha256 == everything.sha256
    assert len(everything.sha256) == 64
    assert int(everything.sha256, 16) >= 0


def test_snapshot_round_trips(everything: Questionnaire) -> None:
    again = questionnaire_from_snapshot(everything.snapshot)
    assert again.sha256 == everything.sha256
    assert again == everything
    assert json.loads(json.dumps(everything.snapshot)) == everything.snapshot
    # Unchanged by a trip through JSON, as when stored in the database.
    stored = json.loads(json.dumps(everything.snapshot))
    assert questionnaire_from_snapshot(stored).sha256 == everything.sha256


def test_the_same_definition_from_toml_and_from_a_dict(everything: Questionnaire) -> None:
    small = definition(q("a"))
    from_dict = questionnaire_from_snapshot(small)
    assert questionnaire_from_snapshot(copy.deepcopy(small)).sha256 == from_dict.sha256
    assert from_dict.sha256 != everything.sha256


def test_changing_any_label_changes_the_sha256(everything: Questionnaire) -> None:
    data = dict(everything.snapshot)
    paths = list(label_paths(data))
    # The title, 2 section titles, 16 question, 3 choice-list, 2 inline choice and 3 column labels.
    assert len(paths) == 27
    hashes = {everything.sha256}
    for path in paths:
        changed = questionnaire_from_snapshot(with_changed(data, path))
        assert changed.sha256 not in hashes, path
        hashes.add(changed.sha256)


@pytest.mark.parametrize(
    "change",
    [
        {"version": 4},
        {"description": "Another description."},
        {"privacy_notice": ""},
    ],
)
def test_changing_the_header_changes_the_sha256(
    everything: Questionnaire, change: dict[str, Any]
) -> None:
    changed = questionnaire_from_snapshot({**everything.snapshot, **change})
    assert changed.sha256 != everything.sha256


# --- Engine bugs ----------------------------------------------------------


def test_a_toml_date_value_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "dated.toml"
    path.write_text(
        MINIMAL_TOML.format(key="k", version=1).replace('type = "text"', 'type = "date"')
        + '\n[sections.questions.requirement]\noperator = "within_days"\n'
        'value = 2027-03-31\nseverity = "minor"\n',
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert caught.value.problems[0].startswith("dated.toml: ")


@pytest.mark.parametrize(
    "data",
    [
        definition(q("a", ["text"])),
        definition(q("a"), audience=["cloud"]),
        definition(
            q("n", "integer", requirement={"operator": ["min"], "value": 1, "severity": "minor"})
        ),
    ],
    ids=["type", "audience", "operator"],
)
def test_a_list_where_a_name_belongs_is_a_problem_not_a_crash(data: dict[str, Any]) -> None:
    with pytest.raises(DefinitionError):
        questionnaire_from_snapshot(data)


def test_a_long_flat_expression_loads_or_is_a_problem() -> None:
    data = definition(
        q("n", "integer", constraint="value" + "+1" * 990 + " > 0", constraint_message="Too small")
    )
    try:
        questionnaire_from_snapshot(data)
    except DefinitionError:
        pass
