"""The requirement profile workbook: export, edit in Excel, import.

Pure: the shipped cloud questionnaire, hand-built profile rows, bytes in and out.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from portal.exports.profile import HEADINGS, profile_workbook
from portal.questionnaire.definition import Questionnaire, Requirement, load_file
from portal.services.requirements.profiles import ProfileRow, RuleInput, parse_rule
from portal.services.requirements.workbook import ProfileWorkbookError, read_profile

ROOT = Path(__file__).resolve().parent.parent
NOT_A_WORKBOOK = "The file is not an Excel workbook (.xlsx)"


@pytest.fixture(scope="module")
def questionnaire() -> Questionnaire:
    return load_file(ROOT / "questionnaires" / "cloud_supplier.toml")


def rule(operator: str, value: Any, severity: str, note: str, off: bool = False) -> Requirement:
    return Requirement(
        operator=operator,
        value=value,
        severity=severity,
        rationale="",
        maps_to=(),
        off=off,
        note=note,
        source="school",
    )


def profile_rows(
    questionnaire: Questionnaire,
    own: dict[str, Requirement] | None = None,
    trust: dict[str, Requirement] | None = None,
) -> list[ProfileRow]:
    own, trust = own or {}, trust or {}
    return [
        ProfileRow(
            question=question,
            section_title=section.title,
            baseline=question.requirement,
            trust=trust.get(question.id),
            own=own.get(question.id),
            effective=own.get(question.id) or trust.get(question.id) or question.requirement,
        )
        for section in questionnaire.sections
        for question in section.answerable
    ]


def export(questionnaire: Questionnaire, own: dict[str, Requirement] | None = None) -> bytes:
    return profile_workbook(questionnaire, profile_rows(questionnaire, own), "Oak Hill Primary")


def edited(data: bytes, changes: dict[str, dict[str, Any]]) -> tuple[bytes, dict[str, int]]:
    """The workbook with some rows' cells changed, as a person would in Excel;
    also each question's Excel row number."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook["Requirements"]
    columns = {cell.value: cell.column for cell in sheet[1]}
    lines = {sheet.cell(row, 1).value: row for row in range(2, sheet.max_row + 1)}
    for question_id, cells in changes.items():
        for heading, value in cells.items():
            # cell(row, column, None) would leave the old value, so assign.
            sheet.cell(lines[question_id], columns[heading]).value = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue(), lines


def problems_of(questionnaire: Questionnaire, data: bytes) -> list[str]:
    with pytest.raises(ProfileWorkbookError) as caught:
        read_profile(questionnaire, data)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def own_rule(
    operator: str, value: Any, severity: str, note: str, off: str = "no"
) -> dict[str, Any]:
    return {
        "Rule": operator,
        "Value": value,
        "Severity": severity,
        "Switched off": off,
        "Note": note,
    }


# --- round trip -----------------------------------------------------------------


def test_own_rules_round_trip(questionnaire: Questionnaire) -> None:
    own = {
        "hosting_location": rule("in", ("uk", "eea"), "critical", "UK or EEA only"),
        "deletion_days": rule("max", 14, "critical", "Two weeks is enough"),
        "certificate_files": rule("present", None, "minor", "We check these ourselves", off=True),
        "school_admin_mfa": rule("equals", "yes", "major", "=cmd|' /C calc'!A0"),
    }
    typed = read_profile(questionnaire, export(questionnaire, own))

    assert typed == {
        "hosting_location": RuleInput("in", "uk, eea", "critical", False, "UK or EEA only"),
        "deletion_days": RuleInput("max", "14", "critical", False, "Two weeks is enough"),
        "certificate_files": RuleInput("present", "", "minor", True, "We check these ourselves"),
        "school_admin_mfa": RuleInput("equals", "yes", "major", False, "=cmd|' /C calc'!A0"),
    }
    for question_id, entry in typed.items():
        parsed, errors = parse_rule(questionnaire.question(question_id), entry)
        assert errors == []
        assert parsed == replace(own[question_id], source="baseline")


def test_blank_rule_columns_mean_no_own_rule(questionnaire: Questionnaire) -> None:
    assert read_profile(questionnaire, export(questionnaire)) == {}
    own = {"deletion_days": rule("max", 14, "critical", "Two weeks is enough")}
    cleared = {"Rule": None, "Value": None, "Severity": None, "Note": None}
    # Clearing a rule but leaving "no" in Switched off goes back to the baseline too.
    data, _ = edited(export(questionnaire, own), {"deletion_days": cleared})
    assert read_profile(questionnaire, data) == {}


def test_typed_cells_are_read_as_a_person_meant_them(questionnaire: Questionnaire) -> None:
    data, _ = edited(
        export(questionnaire),
        {
            # A number Excel stores as 30.0; labels instead of codes; TRUE typed as a boolean.
            "subprocessor_notice_days": own_rule("min", 30.0, "Major", "A month's notice"),
            "hosting_location": own_rule("IN", "United Kingdom; eea", "critical", "UK or EEA"),
            "breach_notice_hours": {
                **own_rule("is at most", 12, "critical", "Quicker"),
                "Switched off": False,
            },
            "ads_trackers": {"Switched off": "Y", "Note": "Not relevant to us"},
        },
    )
    typed = read_profile(questionnaire, data)

    assert typed["subprocessor_notice_days"] == RuleInput(
        "min", "30", "Major", False, "A month's notice"
    )
    assert typed["hosting_location"] == RuleInput(
        "in", "United Kingdom; eea", "critical", False, "UK or EEA"
    )
    assert typed["breach_notice_hours"] == RuleInput("max", "12", "critical", False, "Quicker")
    # Switching off with no rule of its own keeps the baseline's on record.
    baseline = questionnaire.question("ads_trackers").requirement
    assert baseline is not None
    assert typed["ads_trackers"] == RuleInput(
        baseline.operator, str(baseline.value), baseline.severity, True, "Not relevant to us"
    )
    parsed, errors = parse_rule(
        questionnaire.question("hosting_location"), typed["hosting_location"]
    )
    assert errors == []
    assert parsed is not None and parsed.value == ("uk", "eea")


# --- the exported workbook ------------------------------------------------------


def test_exported_workbook_layout(questionnaire: Questionnaire) -> None:
    own = {"deletion_days": rule("max", 14, "critical", "=1+1")}
    trust = {
        "breach_notice_hours": replace(rule("max", 12, "major", "Trust policy"), source="trust")
    }
    rows = profile_rows(questionnaire, own, trust)
    # Every shipped question has a baseline; a future one may not.
    assert rows[0].question.id == "supplier_name"
    rows[0] = replace(rows[0], baseline=None)
    workbook = openpyxl.load_workbook(io.BytesIO(profile_workbook(questionnaire, rows, "Oak Hill")))

    assert workbook.sheetnames == ["Requirements", "How to use"]
    sheet = workbook["Requirements"]
    assert [cell.value for cell in sheet[1]] == list(HEADINGS)
    assert HEADINGS == (
        "Question id", "Section", "Question", "Answer type", "Possible answers",
        "Baseline rule", "Baseline severity", "Trust rule",
        "Rule", "Value", "Severity", "Switched off", "Note",
    )  # fmt: skip
    answerable = [q.id for q in questionnaire.questions() if q.answerable]
    assert [sheet.cell(row, 1).value for row in range(2, sheet.max_row + 1)] == answerable
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:M{len(answerable) + 1}"
    validated = {str(dv.sqref): dv.formula1 for dv in sheet.data_validations.dataValidation}
    last = len(answerable) + 1
    assert validated[f"K2:K{last}"] == '"critical,major,minor"'
    assert validated[f"L2:L{last}"] == '"yes,no"'
    assert "within_days" in validated[f"I2:I{last}"]

    by_id = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    hosting = [cell.value for cell in by_id["hosting_location"]]
    assert hosting[3:8] == [
        "One choice",
        "uk (United Kingdom); eea (European Economic Area (EU, Iceland, Liechtenstein, Norway)); "
        "adequacy (Another country approved by UK regulations (an 'adequacy' country)); "
        "other (Another country, including the United States)",
        "is one of uk, eea, adequacy",
        "major",
        None,
    ]
    assert [c.value for c in by_id["breach_notice_hours"][3:8]] == [
        "Whole number (hours)", None, "is at most 24", "critical", "is at most 12 (major)",
    ]  # fmt: skip
    assert by_id["pen_test_date"][5].value == "is within the last 365 days"
    assert by_id["iso27001_scope"][5].value == "is for information only"
    assert [c.value for c in by_id["supplier_name"][5:7]] == ["No baseline requirement", None]

    deletion = by_id["deletion_days"]
    assert [c.value for c in deletion[8:]] == ["max", 14, "critical", "no", "=1+1"]
    assert deletion[9].data_type == "n"
    # A note that looks like a formula stays text.
    assert deletion[12].data_type == "s"
    # Editable cells are filled even when blank, so people see where to type.
    assert by_id["hosting_location"][8].fill.fgColor.rgb == deletion[8].fill.fgColor.rgb
    assert deletion[8].fill.fill_type == "solid"
    assert deletion[0].fill.fill_type is None

    help_text = " ".join(
        str(value)
        for row in workbook["How to use"].iter_rows(values_only=True)
        for value in row
        if value
    )
    assert "Oak Hill" in help_text
    assert "Nothing changes unless every row is valid" in help_text


def test_organisation_name_is_never_a_formula(questionnaire: Questionnaire) -> None:
    data = profile_workbook(questionnaire, profile_rows(questionnaire), '=HYPERLINK("x")')
    sheet = openpyxl.load_workbook(io.BytesIO(data))["How to use"]
    cell = sheet["B2"]
    assert (cell.value, cell.data_type) == ('=HYPERLINK("x")', "s")


# --- problems -------------------------------------------------------------------


def test_each_bad_row_is_reported_with_its_row_number(questionnaire: Questionnaire) -> None:
    data, lines = edited(
        export(questionnaire),
        {
            "hosting_location": own_rule("min", "3", "critical", "Wrong kind"),
            "tls_min_version": own_rule("in", "tls13, ssl3", "critical", "Newer only"),
            "deletion_days": own_rule("max", "14", "critical", ""),
            "school_admin_mfa": own_rule("equals", "yes", "major", "Why not", off="maybe"),
            "breach_notice_hours": own_rule("max", "soon", "urgent", "Quick"),
        },
    )

    assert problems_of(questionnaire, data) == [
        f"Row {lines['hosting_location']} (hosting_location): Choose a rule this question can "
        "have: 'is' (equals), 'is not' (not_equals), 'is one of' (in), 'is none of' (not_in), "
        "'is answered' (present), 'is for information only' (info)",
        f"Row {lines['tls_min_version']} (tls_min_version): ssl3: not an answer to this "
        "question. Use: "
        + ", ".join(
            f"{c.value} ({c.label})" for c in questionnaire.question("tls_min_version").choices
        ),
        f"Row {lines['school_admin_mfa']} (school_admin_mfa): Switched off must be yes or no (not 'maybe')",
        f"Row {lines['breach_notice_hours']} (breach_notice_hours): Choose a severity: critical, major or minor",
        f"Row {lines['breach_notice_hours']} (breach_notice_hours): Enter a number, like 30 (not 'soon')",
        f"Row {lines['deletion_days']} (deletion_days): Say why your rule differs from the baseline",
    ]


def test_unknown_and_duplicated_question_ids(questionnaire: Questionnaire) -> None:
    data, lines = edited(
        export(questionnaire),
        {
            "supplier_name": {"Question id": "no_such_question"},
            "product_description": {"Question id": "deletion_days"},
            # A note is not answerable, so it cannot have a rule either.
            "privacy_contact_email": {"Question id": "processor_terms_note"},
        },
    )

    assert problems_of(questionnaire, data) == [
        f"Row {lines['supplier_name']} (no_such_question): This questionnaire has no question with this id",
        f"Row {lines['privacy_contact_email']} (processor_terms_note): This questionnaire has no "
        "question with this id",
        f"Row {lines['deletion_days']} (deletion_days): This question is also on row "
        f"{lines['product_description']}: keep one row per question",
    ]


def test_a_rule_without_a_question_id(questionnaire: Questionnaire) -> None:
    data, lines = edited(
        export(questionnaire),
        {"deletion_days": {"Question id": None, **own_rule("max", "14", "major", "Two weeks")}},
    )
    assert problems_of(questionnaire, data) == [
        f"Row {lines['deletion_days']}: Fill in the question id, or clear the row"
    ]


def test_too_many_rows(questionnaire: Questionnaire) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Requirements"
    sheet.append(HEADINGS)
    for _ in range(2001):
        sheet.append(["deletion_days"])
    out = io.BytesIO()
    workbook.save(out)
    problems = problems_of(questionnaire, out.getvalue())
    assert problems[-1] == "The workbook has more than 2,000 rows: keep one row per question"


@pytest.mark.parametrize(
    "data",
    [
        b"Question id,Rule\nhosting_location,in\n",
        b"",
        b"PK\x03\x04 not really a zip",
    ],
    ids=["csv", "empty", "broken zip"],
)
def test_a_file_that_is_not_a_workbook(questionnaire: Questionnaire, data: bytes) -> None:
    assert problems_of(questionnaire, data) == [NOT_A_WORKBOOK]


def test_a_zip_that_is_not_a_workbook(questionnaire: Questionnaire) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hello")
    assert problems_of(questionnaire, out.getvalue()) == [NOT_A_WORKBOOK]


def _workbook(title: str, *rows: list[Any]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_workbook_without_the_requirements_sheet(questionnaire: Questionnaire) -> None:
    assert problems_of(questionnaire, _workbook("Answers", ["Question id", "Answer"])) == [
        "This is not a requirements workbook: it has no sheet called Requirements. "
        "Download the workbook from the portal and fill that in"
    ]


def test_a_requirements_sheet_without_the_headings(questionnaire: Questionnaire) -> None:
    assert problems_of(questionnaire, _workbook("Requirements", ["Question", "Answer"])) == [
        "This is not a requirements workbook: the Requirements sheet has no “Question id” heading"
    ]
    assert problems_of(
        questionnaire, _workbook("Requirements", ["Question id", "Rule", "Value", "Severity"])
    ) == [
        "This is not a requirements workbook: the Requirements sheet has no “Switched off” "
        "or “Note” columns"
    ]


def test_headings_may_move(questionnaire: Questionnaire) -> None:
    data = _workbook(
        "Requirements",
        ["Requirement profile for Oak Hill"],
        [],
        ["Note", "Severity", "Question id", "Rule", "Value", "Switched off"],
        ["UK only", "critical", "hosting_location", "equals", "uk", None],
        [None, None, "deletion_days"],
    )
    assert read_profile(questionnaire, data) == {
        "hosting_location": RuleInput("equals", "uk", "critical", False, "UK only")
    }
