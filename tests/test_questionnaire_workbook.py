"""A questionnaire as a workbook (issue 24): every shipped questionnaire goes
out and comes back as the identical definition, XLSForm's words mean what
they mean there, and a workbook that cannot be trusted is refused with one
message naming where, all problems at once."""

from __future__ import annotations

import base64
import io
import os
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from openpyxl import Workbook  # type: ignore[import-untyped]

from portal.questionnaire import questionnaire_from_snapshot
from portal.questionnaire.definition import canonical_json
from portal.questionnaire.workbook import SURVEY_COLUMNS, WorkbookProblems, to_sheets
from portal.services.platform.questionnaire_workbooks import read_workbook, workbook_of

from .conftest import SHIPPED_QUESTIONNAIRES

TEST_QUESTIONNAIRES = Path(__file__).parent / "data" / "questionnaires"
EVERY_FILE = sorted([*SHIPPED_QUESTIONNAIRES.glob("*.toml"), *TEST_QUESTIONNAIRES.glob("*.toml")])


@pytest.mark.parametrize("path", EVERY_FILE, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_questionnaire_comes_back_from_its_workbook_unchanged(path: Path) -> None:
    snapshot = tomllib.loads(path.read_text(encoding="utf-8"))
    questionnaire = questionnaire_from_snapshot(snapshot)
    back = read_workbook(workbook_of(questionnaire))
    assert canonical_json(back.snapshot) == canonical_json(snapshot)
    assert back.sha256 == questionnaire.sha256


def test_roles_left_out_of_a_raci_stay_out() -> None:
    snapshot = {
        "key": "tracker", "version": 1, "title": "Tracker", "audience": "self_assessment",
        "sections": [{"id": "s", "title": "S", "questions": [
            {"id": "lead", "label": "A named lead?", "type": "yes_no",
             "raci": {"responsible": ["Business manager", "Head"], "accountable": "Head"}},
        ]}],
    }  # fmt: skip
    back = read_workbook(workbook_of(questionnaire_from_snapshot(snapshot)))
    assert back.snapshot["sections"][0]["questions"][0]["raci"] == {
        "responsible": ["Business manager", "Head"],
        "accountable": "Head",
    }
    assert canonical_json(back.snapshot) == canonical_json(snapshot)


# A small questionnaire, written as a person would in Excel.
SETTINGS = [
    ["form_id", "version", "form_title", "audience"],
    ["hosting_check", 1, "Hosting", "cloud"],
]
CHOICES = [
    ["list_name", "name", "label"],
    ["where", "uk", "In the UK"],
    ["where", "eea", "In the EEA"],
    ["where", "other", "Somewhere else"],
]


def survey(*rows: dict[str, Any]) -> list[list[Any]]:
    columns = ["type", "name", "label", "hint", "relevant", "constraint", "constraint_message",
               "required", "requirement", "requirement_value", "severity", "rationale", "maps_to"]  # fmt: skip
    return [columns, *([row.get(c) for c in columns] for row in rows)]


HOSTING = (
    {"type": "begin group", "name": "hosting", "label": "Hosting"},
    {"type": "select_one where", "name": "data_location", "label": "Where is the data?"},
    {"type": "text", "name": "other_country", "label": "Which country?",
     "relevant": "${data_location} = 'other'"},
    {"type": "integer", "name": "breach_hours", "label": "Hours to tell us of a breach",
     "constraint": ". >= 0", "constraint_message": "Hours cannot be negative",
     "requirement": "max", "requirement_value": 72, "severity": "critical",
     "rationale": "UK GDPR gives the school 72 hours to report.",
     "maps_to": "UK GDPR Art 33\nUK GDPR Art 28(3)(f)"},
    {"type": "end group", "name": "hosting"},
)  # fmt: skip


def workbook(sheets: dict[str, list[list[Any]]], hook: Any = None) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    if hook is not None:
        hook(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def replace_text(data: bytes, old: str, new: str) -> bytes:
    """The workbook with a text changed in its XML, as a crafted file could be."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            part = source.read(item.filename)
            if item.filename.endswith(".xml"):
                part = part.replace(old.encode(), new.encode())
            target.writestr(item, part)
    return out.getvalue()


def problems_of(data: bytes) -> list[str]:
    with pytest.raises(WorkbookProblems) as caught:
        read_workbook(data)
    return [str(problem) for problem in caught.value.problems]


def test_a_workbook_written_in_excel_with_xlsform_words_becomes_the_questionnaire() -> None:
    found = read_workbook(
        workbook({"settings": SETTINGS, "survey": survey(*HOSTING), "choices": CHOICES})
    )
    assert (found.key, found.version, found.audience) == ("hosting_check", 1, "cloud")
    location = found.question("data_location")
    assert location.type == "single_choice" and [c.value for c in location.choices] == [
        "uk",
        "eea",
        "other",
    ]
    asked = found.snapshot["sections"][0]["questions"]
    assert asked[1]["show_if"] == "data_location == 'other'"  # ${data_location} = 'other'
    assert asked[2]["constraint"] == "value >= 0"  # . >= 0
    breach = found.question("breach_hours")
    assert breach.requirement is not None
    assert (breach.requirement.operator, breach.requirement.value) == ("max", 72)
    assert breach.requirement.maps_to == ("UK GDPR Art 33", "UK GDPR Art 28(3)(f)")


def test_each_problem_is_named_by_sheet_row_and_column_all_at_once() -> None:
    rows = [dict(row) for row in HOSTING]
    rows[2]["relevant"] = "${data_locaton} == 'other'"
    rows[3]["requirement_value"] = "lots"
    rows.insert(3, {"type": "text", "name": "data_location", "label": "Again"})
    found = problems_of(
        workbook({"settings": SETTINGS, "survey": survey(*rows), "choices": CHOICES})
    )
    assert "survey row 6, column requirement_value: write a number, not 'lots'" in found
    assert len(found) == 1  # the checker runs once the rows themselves are sound

    rows[4]["requirement_value"] = 72
    found = problems_of(
        workbook({"settings": SETTINGS, "survey": survey(*rows), "choices": CHOICES})
    )
    assert found == ["survey row 5: data_location: duplicate id"]

    del rows[3]
    found = problems_of(
        workbook({"settings": SETTINGS, "survey": survey(*rows), "choices": CHOICES})
    )
    assert len(found) == 1 and "data_locaton" in found[0], found
    assert found[0].startswith("survey row 4, column relevant: other_country: show_if")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("not a workbook", "workbook: The file is not an Excel workbook (.xlsx)"),
        ("password", "workbook: The workbook is protected with a password"),
        ("formula", "survey row 4, column label: a formula: type the value itself"),
        ("hidden sheet", "choices: this sheet is hidden"),
        ("merged cells", "survey row 2, column type: merged cells (A2:B2)"),
        (
            "10,000 rows",
            "survey: more than 2,000 rows: a questionnaire's sheet holds at most 2,000",
        ),
        (
            "5 MB in a cell",
            "survey row 3, column hint: 5,242,880 characters: a cell holds at most 10,000",
        ),
        ("no choices sheet", "choices: the workbook has no sheet called choices"),
        ("unknown column", "survey row 2, column colour: unknown column"),
        ("two sheets named alike", "survey: two sheets have this name"),
    ],
)
def test_a_workbook_that_cannot_be_trusted_is_refused_saying_where(
    case: str, expected: str
) -> None:
    sheets: dict[str, list[list[Any]]] = {"settings": SETTINGS, "survey": survey(*HOSTING),
                                          "choices": CHOICES}  # fmt: skip
    hook = None
    if case == "not a workbook":
        data = b"%PDF-1.7 this is a PDF, not a workbook"
    elif case == "password":
        data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    else:
        if case == "formula":
            sheets["survey"][3][2] = '=HYPERLINK("http://evil.example","Where?")'
        elif case == "hidden sheet":
            hook = lambda book: setattr(book["choices"], "sheet_state", "hidden")  # noqa: E731
        elif case == "merged cells":
            hook = lambda book: book["survey"].merge_cells("A2:B2")  # noqa: E731
        elif case == "10,000 rows":
            sheets["survey"] = sheets["survey"] + [["note", f"n{i}", "x"] for i in range(10_000)]
        elif case == "5 MB in a cell":
            sheets["survey"][2][3] = "HUGE"  # made 5 MB below: Excel would cut it at 32,767
        elif case == "no choices sheet":
            del sheets["choices"]
        elif case == "unknown column":
            sheets["survey"][0] = [*sheets["survey"][0], "colour"]
            sheets["survey"][1] = [*sheets["survey"][1], "green"]
        elif case == "two sheets named alike":
            sheets["Survey "] = sheets["survey"]
        data = workbook(sheets, hook)
        if case == "5 MB in a cell":
            # Random letters: a cell of one letter repeated is refused as a zip bomb.
            text = base64.b64encode(os.urandom(5 * 1024 * 1024 * 3 // 4)).decode()
            data = replace_text(data, "HUGE", text)
    found = problems_of(data)
    assert any(p.startswith(expected) for p in found), found


def test_text_from_a_workbook_stays_text() -> None:
    rows = [dict(row) for row in HOSTING]
    rows[1]["label"] = "<script>alert(1)</script> Where is the data?"
    rows[1]["hint"] = "=1+1"

    def as_text(book: Any) -> None:  # typed with a leading apostrophe in Excel: text
        book["survey"]["D3"].data_type = "s"

    found = read_workbook(
        workbook({"settings": SETTINGS, "survey": survey(*rows), "choices": CHOICES}, as_text)
    )
    question = found.question("data_location")
    assert question.label == "<script>alert(1)</script> Where is the data?"
    assert question.help == "=1+1"
    # And a workbook written by the portal keeps such text as text.
    again = read_workbook(workbook_of(found))
    assert again.question("data_location").help == "=1+1"


def test_the_survey_sheet_has_a_column_for_every_key_a_question_can_have() -> None:
    """A key the checker accepts but the workbook cannot hold would be lost."""
    from portal.questionnaire.definition import COMMON_KEYS, QUESTION_TYPES

    keys = set(COMMON_KEYS).union(*QUESTION_TYPES.values()) - {"choices", "columns", "type"}
    sheets = {sheet.name: sheet for sheet in to_sheets({"sections": []})}
    assert set(sheets) == {"settings", "survey", "choices", "triage"}
    covered = set(SURVEY_COLUMNS) | {"id", "help", "show_if", "raci", "requirement"}
    assert keys <= covered, keys - covered


def cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["questionnaires", *args])


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
def test_the_command_line_exports_and_checks_a_workbook(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "it_support.xlsx"
    exported = cli(app, "export", "it_support", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    checked = cli(app, "import", str(out))
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith("it_support version ")
    missing = cli(app, "export", "it_support", "--version", "99", "--out", str(out))
    assert (
        missing.exit_code != 0
        and "There is no questionnaire it_support version 99" in missing.output
    )

    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(workbook({"settings": SETTINGS, "survey": survey(*HOSTING)}))
    refused = cli(app, "import", str(broken))
    assert refused.exit_code == 1
    assert "choices: the workbook has no sheet called choices" in refused.output


# An XLSForm as ODK or KoboToolbox users make one: metadata rows, translated
# labels, presentation columns, ${} references, '.', '=' and a repeat.
ODK_SETTINGS = [
    ["form_title", "form_id", "version", "default_language", "style", "audience"],
    ["Cloud hosting check", "hosting_odk", "2024120401", "English (en)", "pages", "cloud"],
]
ODK_SURVEY = [
    ["type", "name", "label::English (en)", "hint::English (en)", "required", "relevant",
     "constraint", "constraint_message::English (en)", "appearance"],
    ["start", "start", None, None, None, None, None, None, None],
    ["end", "end", None, None, None, None, None, None, None],
    ["begin group", "hosting", "Hosting", None, None, None, None, None, "field-list"],
    ["select_one yn", "uses_cloud", "Do you host our data in the cloud?", None, "yes", None, None, None, None],
    ["text", "provider", "Which provider?", "The company, not the product", "${uses_cloud} = 'yes'",
     "${uses_cloud} = 'yes'", None, None, None],
    ["integer", "breach_hours", "Hours to tell us of a breach", None, "yes", None,
     ". >= 0 and . <= 720", "Between 0 and 720 hours", None],
    ["end group", None, None, None, None, None, None, None, None],
    ["begin group", "subs", "Sub-processors", None, None, None, None, None, None],
    ["begin repeat", "subprocessors", "Sub-processors you use", None, None, "${uses_cloud} = 'yes'", None, None, None],
    ["text", "sp_name", "Name", None, "yes", None, None, None, None],
    ["select_one where", "sp_country", "Country", None, None, None, None, None, None],
    ["end repeat", None, None, None, None, None, None, None, None],
    ["end group", None, None, None, None, None, None, None, None],
]  # fmt: skip
ODK_CHOICES = [
    ["list_name", "name", "label::English (en)"],
    ["yn", "yes", "Yes"], ["yn", "no", "No"],
    ["where", "uk", "In the UK"], ["where", "other", "Elsewhere"],
]  # fmt: skip
# The same questionnaire written in TOML.
ODK_TWIN = """
key = "hosting_odk"
version = 2024120401
title = "Cloud hosting check"
audience = "cloud"

[choices]
yn = [{ value = "yes", label = "Yes" }, { value = "no", label = "No" }]
where = [{ value = "uk", label = "In the UK" }, { value = "other", label = "Elsewhere" }]

[[sections]]
id = "hosting"
title = "Hosting"

[[sections.questions]]
id = "uses_cloud"
label = "Do you host our data in the cloud?"
type = "single_choice"
choices = "yn"
required = true

[[sections.questions]]
id = "provider"
label = "Which provider?"
help = "The company, not the product"
type = "text"
show_if = "uses_cloud == 'yes'"
required_if = "uses_cloud == 'yes'"

[[sections.questions]]
id = "breach_hours"
label = "Hours to tell us of a breach"
type = "integer"
required = true
constraint = "value >= 0 and value <= 720"
constraint_message = "Between 0 and 720 hours"

[[sections]]
id = "subs"
title = "Sub-processors"

[[sections.questions]]
id = "subprocessors"
label = "Sub-processors you use"
type = "table"
show_if = "uses_cloud == 'yes'"
columns = [
  { id = "sp_name", label = "Name", type = "text", required = true },
  { id = "sp_country", label = "Country", type = "single_choice", choices = "where" },
]
"""


def test_an_xlsform_made_for_odk_imports_and_behaves_as_its_toml_twin() -> None:
    from portal.questionnaire import logic

    found = read_workbook(
        workbook({"settings": ODK_SETTINGS, "survey": ODK_SURVEY, "choices": ODK_CHOICES})
    )
    twin = questionnaire_from_snapshot(tomllib.loads(ODK_TWIN))
    assert canonical_json(found.snapshot) == canonical_json(twin.snapshot)
    for answers in ({}, {"uses_cloud": "yes"}, {"uses_cloud": "no", "breach_hours": 900}):
        assert logic.visibility(found, answers) == logic.visibility(twin, answers)
        assert logic.problems(found, answers) == logic.problems(twin, answers)
    assert logic.visibility(found, {"uses_cloud": "yes"})["provider"] is True
    assert logic.visibility(found, {"uses_cloud": "no"})["subprocessors"] is False


def test_an_xlsform_without_an_audience_is_asked_for_one() -> None:
    settings = [row[:-1] for row in ODK_SETTINGS]
    found = problems_of(
        workbook({"settings": settings, "survey": ODK_SURVEY, "choices": ODK_CHOICES})
    )
    assert found == [
        "settings, column audience: add an audience column: it_support, cloud, screening, "
        "self_assessment or dpia (who answers it, and what the school gets; questionnaires/README.md)"
    ]


def test_what_an_xlsform_does_that_cannot_be_done_here_is_listed_row_by_row() -> None:
    survey = [[*row, None, None] for row in ODK_SURVEY]
    survey[0] = [*ODK_SURVEY[0], "calculation", "media::image"]
    survey.insert(
        4, ["calculate", "score", None, None, None, None, None, None, None, "1 + 1", None]
    )
    survey.insert(
        5,
        [
            "geopoint",
            "site",
            "Where is the office?",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    )
    survey[6][10] = "logo.png"  # an image beside the cloud question
    found = problems_of(
        workbook({"settings": ODK_SETTINGS, "survey": survey, "choices": ODK_CHOICES})
    )
    assert found == [
        "survey row 5, column calculation: XLSForm's calculation has no equivalent here: remove it",
        "survey row 7, column media::image: XLSForm's media::image has no equivalent here: remove it",
        "survey row 5, column type: XLSForm's calculate has no equivalent here: remove the row",
        "survey row 6, column type: XLSForm's geopoint has no equivalent here: remove the row",
    ]


def test_an_xlsform_groups_condition_asks_each_of_its_questions_only_when_it_holds() -> None:
    survey = [list(row) for row in ODK_SURVEY]
    survey[8][5] = "${uses_cloud} = 'yes'"  # begin group subs: relevant
    survey[9][5] = None  # the repeat's own condition, now the group's
    choices = [row[:] for row in ODK_CHOICES]
    choices[3][0] = choices[4][0] = "Where"  # a list name keeps its case
    survey[11][0] = "select_one Where"
    found = read_workbook(
        workbook({"settings": ODK_SETTINGS, "survey": survey, "choices": choices})
    )
    assert found.question("subprocessors").show_if == "uses_cloud == 'yes'"
    assert found.question("subprocessors").column("sp_country").choices[0].value == "uk"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("percent", "survey row 5, column requirement_value: a number shown as '0%'"),
        ("hidden row", "survey row 3: a hidden row: show it or delete it"),
        ("yes please", "survey row 3, column required: write yes or no, not 'Yes please'"),
    ],
)
def test_what_a_cell_shows_is_what_is_read(case: str, expected: str) -> None:
    rows = [dict(row) for row in HOSTING]
    hook = None
    if case == "percent":
        rows[3]["requirement_value"] = 0.72

        def hook(book: Any) -> None:
            book["survey"]["J5"].number_format = "0%"

    elif case == "hidden row":

        def hook(book: Any) -> None:
            book["survey"].row_dimensions[3].hidden = True
    else:
        rows[1]["required"] = "Yes please"
    found = problems_of(
        workbook({"settings": SETTINGS, "survey": survey(*rows), "choices": CHOICES}, hook)
    )
    assert any(p.startswith(expected) for p in found), found
