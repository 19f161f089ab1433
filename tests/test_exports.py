"""Workbooks, CSV and JSON: complete, typed, and safe with hostile text.

Every workbook is read back with openpyxl, as a person's spreadsheet would
read it: the right cell, the right type, and never a formula or a link made
from what somebody typed.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.exports.cells import EXCEL_CELL_LIMIT, TRUNCATED, csv_cell, sheet_name
from portal.exports.directory import DirectoryBlock, DirectoryRow, directory_workbook
from portal.exports.request import RequestWorkbook, request_workbook
from portal.models import AuditEvent
from portal.questionnaire import logic
from portal.questionnaire.compare import compare
from portal.questionnaire.definition import load_file, questionnaire_from_snapshot
from portal.questionnaire.examples import example_answers

from .conftest import SHIPPED_QUESTIONNAIRES
from .factories import Factory, login

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "{=1+1}",
    "+cmd|' /C calc'!A0",
    "@SUM(A1)",
    "-2+3",
    "http://evil.example",
    "file:///etc/passwd",
    "\tstarts with a tab",
    "\r\nstarts with a line break",
    "0123",
    "1e5",
    "bell\x07and\x1bescape",
]
LONG = "x" * (EXCEL_CELL_LIMIT + 500)


def workbook_cells(data: bytes) -> dict[str, list[Any]]:
    """Sheet name -> every non-empty cell."""
    book = load_workbook(io.BytesIO(data))
    return {
        sheet.title: [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
        for sheet in book.worksheets
    }


def assert_inert(data: bytes) -> None:
    """No formula, no hyperlink, anywhere in the workbook."""
    for name, found in workbook_cells(data).items():
        for cell in found:
            assert cell.data_type != "f", f"{name}!{cell.coordinate} is a formula: {cell.value!r}"
            assert cell.hyperlink is None, f"{name}!{cell.coordinate} is a link"


HOSTILE_DEFINITION: dict[str, Any] = {
    "key": "hostile",
    "version": 1,
    "title": "Hostile text",
    "audience": "cloud",
    "sections": [
        {
            "id": "main",
            "title": "=Section title",
            "questions": [
                *(
                    {"id": f"text_{i}", "label": f"Text {i}", "type": "long_text", "comment": True}
                    for i in range(len(HOSTILE) + 1)
                ),
                {
                    "id": "subs",
                    "label": "Sub/processors: [all]*?",
                    "type": "table",
                    "columns": [
                        {"id": "name", "label": "=Name", "type": "text"},
                        {"id": "since", "label": "Since", "type": "date", "required": False},
                    ],
                },
            ],
        }
    ],
}


def hostile_workbook(for_supplier: bool = False) -> bytes:
    questionnaire = questionnaire_from_snapshot(HOSTILE_DEFINITION)
    answers: dict[str, Any] = {f"text_{i}": text for i, text in enumerate([*HOSTILE, LONG])}
    answers["subs"] = [{"name": text, "since": "2025-02-28"} for text in HOSTILE]
    return request_workbook(
        RequestWorkbook(
            questionnaire=questionnaire,
            summary=[("Supplier", '=HYPERLINK("http://x","y")'), ("Sent", datetime(2026, 11, 28))],
            answers=answers,
            comments={f"text_{i}": text for i, text in enumerate(HOSTILE)},
            shown=logic.visibility(questionnaire, answers),
            files={"text_0": ["=cmd.pdf", "http://evil.example/x.pdf"]},
            comparison=compare(questionnaire, answers),
            for_supplier=for_supplier,
        )
    )


@pytest.mark.parametrize("for_supplier", [False, True])
def test_hostile_text_stays_plain_text_in_every_cell(for_supplier: bool) -> None:
    data = hostile_workbook(for_supplier)
    assert_inert(data)
    cells = workbook_cells(data)
    answers = {cell.value: cell for cell in cells["Answers"]}
    for text in HOSTILE[:-1]:
        cell = answers[text.replace("\r\n", "\n")]  # XML reads CR LF back as LF
        assert cell.data_type == "s", text
        if text.startswith(("=", "+", "-", "@", "\t", "\r", "{=")):
            assert cell.quotePrefix, f"{text!r} has no quote prefix"
    assert answers["bellandescape"].data_type == "s"  # control characters dropped
    assert "0123" in answers and isinstance(answers["0123"].value, str)
    long_cell = next(c for c in cells["Answers"] if str(c.value).startswith("xxxx"))
    assert len(long_cell.value) == EXCEL_CELL_LIMIT
    assert long_cell.value.endswith(TRUNCATED)
    assert answers["=Section title"].quotePrefix
    # The table's own sheet: its name made safe, its cells text.
    table_sheet = "Sub processors all"
    assert table_sheet in cells
    names = [c.value for c in cells[table_sheet] if c.column == 1]
    assert names[0] == "=Name"
    assert names[1:] == [
        t.replace("\x07", "").replace("\x1b", "").replace("\r\n", "\n") for t in HOSTILE
    ]
    assert "Evidence" in [c.value for c in cells["Answers"] if c.row == 1]
    summary = {c.value: c for c in cells["Summary"]}
    assert summary['=HYPERLINK("http://x","y")'].data_type == "s"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sub/processors: [all]*?", "Sub processors all"),
        ("'Quoted'", "Quoted"),
        ("", "Sheet"),
        ("A" * 40, "A" * 31),
        ("History", "History (2)"),
        ("answers", "answers (2)"),
    ],
)
def test_sheet_names_from_user_text_are_valid_and_unique(text: str, expected: str) -> None:
    assert sheet_name(text, {"Answers"}) == expected


def test_csv_cells_that_look_like_formulas_are_text() -> None:
    assert csv_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert csv_cell("+1") == "'+1"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("\tx") == "'\tx"
    assert csv_cell("plain") == "plain"
    assert csv_cell("bell\x07") == "bell"


# --- through the app ---------------------------------------------------------

shipped = pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))


@shipped
def test_a_reviewer_downloads_the_request_workbook(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    reviewer = make.user()
    row, _ = make.submitted(
        reviewer,
        answers={
            "breach_notice_hours": 72,
            "sub_processors": [
                {"name": "=cmd|' /C calc'!A0", "country": "uk", "purpose": "Hosting"},
                {"name": "Mailer Ltd", "country": "us", "purpose": "Email"},
            ],
        },
        comments={"breach_notice_hours": "@SUM(A1) we aim for 48"},
        supplier_name="Cloudy Classroom Ltd",
    )
    login(client, reviewer)
    client.post(f"/requests/{row.id}/clarify", data={"note-breach_notice_hours": "=1+1 why?"})
    response = client.get(f"/requests/{row.id}/export.xlsx")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert f"{row.reference} Cloudy Classroom Ltd " in disposition
    assert f"{row.reference} Cloudy Classroom Ltd {date.today().isoformat()}.xlsx" in disposition
    assert_inert(response.data)
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [
        "Summary",
        "Answers",
        "List your sub-processors",  # the table question's label (31 at most)
        "Clarifications",
        "Timeline",
    ]
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Reference"] == row.reference
    assert summary["Supplier"] == "Cloudy Classroom Ltd"
    assert summary["Rating"] == "Red"
    assert isinstance(summary["Score (out of 100)"], int | float)
    assert summary["In words"].startswith("Red because")  # issue 21: the rating explains itself
    assert isinstance(summary["Sent"], datetime)
    assert book["Summary"]._charts  # the findings chart

    answers = book["Answers"]
    headings = [c.value for c in answers[1]]
    assert headings[:4] == ["Section", "Question id", "Question", "Answer"]
    assert answers.freeze_panes == "A2"
    assert answers.auto_filter.ref
    line = {r[1]: r for r in answers.iter_rows(min_row=2, values_only=True)}
    breach = line["breach_notice_hours"]
    assert breach[3] == 72  # a number, not text
    assert breach[headings.index("Supplier comment")] == "@SUM(A1) we aim for 48"
    assert breach[headings.index("Requirement")] == "At most 24 hours"
    assert breach[headings.index("Finding")] == "Not met"
    assert breach[headings.index("Severity")] == "Critical"
    column = headings.index("Finding") + 1
    finding_cell = next(
        row[0]
        for row in answers.iter_rows(min_col=column, max_col=column)
        if row[0].value == "Not met"
    )
    assert finding_cell.fill.fgColor.rgb.endswith("F4CDC6")  # red fill
    assert any(isinstance(r[3], datetime) for r in line.values())  # dates are Excel dates
    assert "2 rows (see sheet" in line["sub_processors"][3]
    table = book[book.sheetnames[2]]
    assert [c.value for c in table[1]] == [
        "Company name",
        "Country where it handles the data",
        "What it does for you",
    ]
    assert table.cell(2, 1).value == "=cmd|' /C calc'!A0"
    assert table.cell(2, 1).data_type == "s"
    clarifications = list(book["Clarifications"].iter_rows(min_row=2, values_only=True))
    assert clarifications[0][0] == 1 and clarifications[0][2] == "=1+1 why?"
    timeline = [r[2] for r in book["Timeline"].iter_rows(min_row=2, values_only=True)]
    assert "Declaration signed" in timeline
    assert "Clarification asked (round 1)" in timeline

    dbs.rollback()
    [event] = dbs.scalars(select(AuditEvent).where(AuditEvent.action == "export_downloaded"))
    assert (event.detail["what"], event.detail["format"], event.request_id) == (
        "request",
        "xlsx",
        row.id,
    )


@shipped
def test_the_request_as_csv_and_json(client: FlaskClient, make: Factory) -> None:
    reviewer = make.user()
    row, _ = make.submitted(
        reviewer,
        answers={"breach_notice_hours": 72},
        comments={"breach_notice_hours": '=HYPERLINK("http://x")'},
    )
    login(client, reviewer)
    response = client.get(f"/requests/{row.id}/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    rows = {r[1]: r for r in csv.reader(io.StringIO(text))}
    assert rows["Question id"][:4] == ["Section", "Question id", "Question", "Answer"]
    assert rows["breach_notice_hours"][3] == "72 hours"
    assert rows["breach_notice_hours"][4] == '\'=HYPERLINK("http://x")'
    assert rows["breach_notice_hours"][7] == "Not met"

    data = client.get(f"/requests/{row.id}/export.json")
    assert data.mimetype == "application/json"
    body = json.loads(data.data)
    assert body["reference"] == row.reference
    assert body["rating"] == "red"
    answers = {a["question_id"]: a for a in body["answers"]}
    assert answers["breach_notice_hours"]["value"] == 72
    findings = {f["question_id"]: f for f in body["findings"]}
    assert findings["breach_notice_hours"]["outcome"] == "not_met"
    assert findings["breach_notice_hours"]["expected"] == "At most 24 hours"


@shipped
def test_another_schools_request_cannot_be_exported(client: FlaskClient, make: Factory) -> None:
    owner = make.user()
    row, _ = make.submitted(owner)
    login(client, make.user(make.org("Elm Tree Academy")))
    for file_format in ("xlsx", "csv", "json"):
        assert client.get(f"/requests/{row.id}/export.{file_format}").status_code == 404


@shipped
def test_the_suppliers_copy_has_no_findings_or_internal_history(
    client: FlaskClient, make: Factory
) -> None:
    reviewer = make.user()
    row, link = make.submitted(reviewer, answers={"breach_notice_hours": 72})
    assert client.get(link).status_code == 303
    response = client.get(f"/respond/{row.reference}/copy.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert "Timeline" not in book.sheetnames
    headings = [c.value for c in book["Answers"][1]]
    assert "Finding" not in headings and "Requirement" not in headings
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r[0]}
    assert "Rating" not in summary
    assert summary["Reference"] == row.reference


# --- the register ----------------------------------------------------------------


@shipped
def test_the_register_has_a_row_per_request_with_the_chosen_answers(
    client: FlaskClient, make: Factory, dbs: Session
) -> None:
    admin = make.user(role="admin")
    decided, _ = make.submitted(admin, supplier_name="StarMaths Online")
    waiting, _ = make.submitted(
        admin, answers={"breach_notice_hours": 72}, supplier_name="=Cloudy Ltd"
    )
    login(client, admin)
    client.post(
        f"/requests/{decided.id}/decision",
        data={
            "outcome": "accepted_with_conditions",
            "reason": "Fine",
            "conditions": "Sign the DPA",
        },
    )
    page = client.get("/register").get_data(as_text=True)
    assert "2 in all" in page
    assert 'value="breach_notice_hours"' in page
    response = client.get("/register.xlsx?answer=breach_notice_hours&answer=hosting_location")
    assert response.status_code == 200
    assert "supplier register" in response.headers["Content-Disposition"]
    assert_inert(response.data)
    sheet = load_workbook(io.BytesIO(response.data))["Register"]
    headings = [c.value for c in sheet[1]]
    assert headings[:3] == ["Reference", "Supplier", "Questionnaire"]
    assert headings[-2:] == [
        "How soon will you tell the school about a personal data breach affecting its data?",
        "Where is the school's data stored?",
    ]
    rows = {
        r[0]: dict(zip(headings, r, strict=True))
        for r in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert set(rows) == {decided.reference, waiting.reference}
    accepted = rows[decided.reference]
    assert accepted["Decision"] == "Accepted with conditions"
    assert accepted["Conditions"] == "Sign the DPA"
    assert isinstance(accepted["Next review"], datetime)
    assert accepted["Rating"] == "Green"
    assert rows[waiting.reference]["Supplier"] == "=Cloudy Ltd"
    assert rows[waiting.reference]["Rating"] == "Red"
    assert rows[waiting.reference][headings[-2]] == "72 hours"
    assert sheet.freeze_panes == "A2"

    as_csv = client.get("/register.csv?answer=breach_notice_hours")
    lines = list(csv.reader(io.StringIO(as_csv.data.decode("utf-8-sig"))))
    assert lines[0][-1].startswith("How soon will you tell the school")
    assert ["'=Cloudy Ltd"] == [line[1] for line in lines[1:] if line[0] == waiting.reference]
    dbs.rollback()
    formats = [
        e.detail["format"]
        for e in dbs.scalars(select(AuditEvent).where(AuditEvent.action == "export_downloaded"))
    ]
    assert formats == ["xlsx", "csv"]


@shipped
def test_the_register_from_the_command_line(app: Any, make: Factory, tmp_path: Any) -> None:
    admin = make.user(role="admin")
    make.submitted(admin, supplier_name="StarMaths Online")
    make.request(admin, supplier_name="Slow Supplier Ltd")
    organisation_id = admin.memberships[0].organisation_id
    out = tmp_path / "register.xlsx"
    result = app.test_cli_runner().invoke(
        args=[
            "export-register",
            "--org",
            str(organisation_id),
            "--out",
            str(out),
            "--answer",
            "hosting_location",
        ]
    )
    assert result.exit_code == 0, result.output
    assert f"2 rows written to {out} in " in result.output
    sheet = load_workbook(out)["Register"]
    assert sheet.max_row == 3
    assert sheet.cell(1, sheet.max_column).value == "Where is the school's data stored?"
    as_csv = tmp_path / "register.csv"
    result = app.test_cli_runner().invoke(
        args=["export-register", "--org", str(organisation_id), "--out", str(as_csv)]
    )
    assert result.exit_code == 0
    assert len(as_csv.read_text(encoding="utf-8-sig").splitlines()) == 3
    missing = app.test_cli_runner().invoke(
        args=["export-register", "--org", "999", "--out", str(out)]
    )
    assert missing.exit_code != 0
    assert "There is no organisation with id 999" in missing.output


# --- side by side ----------------------------------------------------------------


@shipped
def test_suppliers_side_by_side_as_a_workbook(client: FlaskClient, make: Factory) -> None:
    reviewer = make.user()
    good, _ = make.submitted(reviewer, supplier_name="StarMaths Online")
    weak, _ = make.submitted(
        reviewer, answers={"breach_notice_hours": 72}, supplier_name="@Cloudy Ltd"
    )
    login(client, reviewer)
    page = client.get(f"/compare?request={good.id}&request={weak.id}").get_data(as_text=True)
    assert "Download this comparison as a spreadsheet" in page
    response = client.get(f"/compare.xlsx?request={good.id}&request={weak.id}&differences=1")
    assert response.status_code == 200
    assert_inert(response.data)
    sheet = load_workbook(io.BytesIO(response.data))["Side by side"]
    assert [c.value for c in sheet[1]][3:] == [
        f"StarMaths Online ({good.reference})",
        f"@Cloudy Ltd ({weak.reference})",
    ]
    assert [c.value for c in sheet[2]][3:] == ["Green (100)", sheet.cell(2, 5).value]
    assert sheet.cell(2, 5).value.startswith("Red (")
    lines = list(sheet.iter_rows(min_row=3, values_only=True))
    assert len(lines) == 1  # only the difference
    assert lines[0][1].startswith("How soon will you tell the school")
    assert lines[0][3] == "Met: 24 hours"
    assert lines[0][4] == "Not met: 72 hours"
    mixed = client.get(f"/compare.xlsx?request={good.id}")
    assert mixed.status_code == 302
    assert "Choose at least two requests" in client.get(mixed.location).get_data(as_text=True)


# --- the directory (pure: the curated directory feeds it) --------------------------


def directory_rows(questionnaire: Any, count: int, hostile: bool = False) -> Any:
    answers = example_answers(questionnaire)
    for number in range(count):
        yield DirectoryRow(
            supplier=HOSTILE[number % len(HOSTILE)] if hostile else f"Supplier {number}",
            product=f"Product {number}",
            category="Learning platform",
            rating="green",
            score=95,
            status="Published",
            reviewed=date(2026, 11, 1),
            review_due=date(2027, 11, 1),
            summary="=SUM(A1) looks fine" if hostile else "Looks fine",
            conditions="",
            answers=answers,
        )


def test_the_directory_has_a_sheet_per_version_with_hidden_question_ids(tmp_path: Any) -> None:
    cloud = load_file(SHIPPED_QUESTIONNAIRES / "cloud_supplier.toml")
    it = load_file(SHIPPED_QUESTIONNAIRES / "it_support.toml")
    out = tmp_path / "directory.xlsx"
    written = directory_workbook(
        str(out),
        [
            DirectoryBlock(cloud, directory_rows(cloud, 3, hostile=True)),
            DirectoryBlock(it, directory_rows(it, 2)),
        ],
    )
    assert written == 5
    data = out.read_bytes()
    assert_inert(data)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == [
        f"{cloud.title} v{cloud.version}"[:31],
        f"{it.title} v{it.version}"[:31],
    ]
    sheet = book.worksheets[0]
    assert sheet.row_dimensions[1].hidden
    ids = [c.value for c in sheet[1]]
    assert ids[:2] == ["_supplier", "_product"]
    assert "breach_notice_hours" in ids
    headings = [c.value for c in sheet[2]]
    assert headings[0] == "Supplier"
    column = ids.index("breach_notice_hours")
    assert sheet.cell(3, column + 1).value == 24  # typed
    assert sheet.cell(3, 1).value == HOSTILE[0] and sheet.cell(3, 1).data_type == "s"
    assert sheet.cell(3, headings.index("Curator's summary") + 1).quotePrefix
    assert sheet.max_row == 2 + 3


@pytest.mark.slow
def test_a_ten_thousand_entry_directory(tmp_path: Any) -> None:
    cloud = load_file(SHIPPED_QUESTIONNAIRES / "cloud_supplier.toml")
    out = tmp_path / "big.xlsx"
    ticks: list[int] = []
    written = directory_workbook(
        str(out), [DirectoryBlock(cloud, directory_rows(cloud, 10_000))], progress=ticks.append
    )
    assert written == 10_000
    assert len(ticks) == 10_000
    # Counted in the sheet's XML: openpyxl would take longer to read it than we to write it.
    with zipfile.ZipFile(out) as archive:
        rows = re.findall(rb"<row ", archive.read("xl/worksheets/sheet1.xml"))
    assert len(rows) == 2 + 10_000


@shipped
def test_one_request_from_the_command_line(app: Any, make: Factory, tmp_path: Any) -> None:
    row, _ = make.submitted(make.user(), answers={"breach_notice_hours": 72})
    runner = app.test_cli_runner()
    for name in ("request.xlsx", "request.csv", "request.json"):
        out = tmp_path / name
        result = runner.invoke(args=["export-request", "--ref", row.reference, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert f"{row.reference} written to {out}" in result.output
    assert json.loads((tmp_path / "request.json").read_text())["rating"] == "red"
    assert "Not met" in (tmp_path / "request.csv").read_text(encoding="utf-8-sig")
    assert load_workbook(tmp_path / "request.xlsx").sheetnames[:2] == ["Summary", "Answers"]
    unknown = runner.invoke(args=["export-request", "--ref", "DD-NOPE00", "--out", str(out)])
    assert "There is no request DD-NOPE00" in unknown.output


@shipped
def test_download_names_are_meaningful_and_rfc_6266_encoded(
    client: FlaskClient, make: Factory
) -> None:
    reviewer = make.user()
    row, _ = make.submitted(reviewer, supplier_name='Café "Ünïcode": Ltd/UK')
    login(client, reviewer)
    disposition = client.get(f"/requests/{row.id}/export.xlsx").headers["Content-Disposition"]
    today = date.today().isoformat()
    # Characters Windows refuses are gone; the UTF-8 name rides in filename*.
    assert disposition.startswith("attachment; filename=")
    assert (
        f"filename*=UTF-8''{row.reference}%20Caf%C3%A9%20%C3%9Cn%C3%AFcode%20Ltd%20UK%20{today}.xlsx"
        in disposition
    )
