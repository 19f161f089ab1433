"""Every kind of workbook we write opens cleanly in LibreOffice (headless),
and hostile text is still text once a spreadsheet program has read it."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest

from portal.exports.comparison import ComparisonColumn, ComparisonLine, comparison_workbook
from portal.exports.directory import DirectoryBlock, directory_workbook
from portal.exports.dpia import dpia_workbook
from portal.exports.profile import profile_workbook
from portal.exports.register import RegisterRow, register_workbook
from portal.questionnaire.compare import compare
from portal.questionnaire.definition import load_file
from portal.questionnaire.examples import example_answers
from portal.services.requirements.profiles import ProfileRow

from .conftest import SHIPPED_QUESTIONNAIRES
from .test_dpia import hostile_dpia
from .test_exports import HOSTILE, directory_rows, hostile_workbook

pytestmark = pytest.mark.office


def soffice() -> str:
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if path:
        return path
    message = "LibreOffice not found (apt-get install libreoffice-calc-nogui): office tests SKIPPED"
    if os.environ.get("CI") == "true":
        pytest.fail(message.replace("SKIPPED", "cannot be skipped under CI=true"))
    pytest.skip(message)


def convert(files: list[Path], to: str, folder: Path) -> None:
    result = subprocess.run(  # noqa: S603 (our own arguments)
        [
            soffice(),
            "--headless",
            "--norestore",
            f"-env:UserInstallation=file://{folder / 'profile'}",
            "--convert-to",
            to,
            "--outdir",
            str(folder / "out"),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_workbook_opens_in_libreoffice(tmp_path: Path) -> None:
    cloud = load_file(SHIPPED_QUESTIONNAIRES / "cloud_supplier.toml")
    answers = example_answers(cloud)
    files = {
        "request": tmp_path / "request.xlsx",
        "supplier": tmp_path / "supplier.xlsx",
        "register": tmp_path / "register.xlsx",
        "directory": tmp_path / "directory.xlsx",
        "comparison": tmp_path / "comparison.xlsx",
        "profile": tmp_path / "profile.xlsx",
        "dpia": tmp_path / "dpia.xlsx",
    }
    files["request"].write_bytes(hostile_workbook())
    files["supplier"].write_bytes(hostile_workbook(for_supplier=True))
    register_workbook(
        str(files["register"]),
        [
            RegisterRow(
                reference="DD-TEST01", supplier=text, questionnaire="Cloud", status="Accepted",
                sent=datetime(2026, 11, 1), due=date(2026, 11, 20), submitted=None, rating="green",
                score=100, decision="Accepted", decision_reason=text, conditions=[text],
                next_review=date(2027, 11, 1), overdue="", key_answers=[text],
            )
            for text in HOSTILE
        ],
        ["A key answer"],
        "Register",
    )  # fmt: skip
    directory_workbook(
        str(files["directory"]), [DirectoryBlock(cloud, directory_rows(cloud, 5, hostile=True))]
    )
    findings = compare(cloud, answers).findings
    comparison_workbook(
        str(files["comparison"]),
        cloud.title,
        [
            ComparisonColumn("=A", "DD-1", "green", 100),
            ComparisonColumn("+B", "DD-2", None, None),
        ],
        [ComparisonLine(f.question, "Section", [f, None]) for f in findings],
    )
    files["profile"].write_bytes(
        profile_workbook(
            cloud,
            [
                ProfileRow(q, "Section", q.requirement, None, None, q.requirement)
                for q in cloud.questions()
                if q.answerable
            ],
            "=Oakfield",
        )
    )
    dpia_workbook(str(files["dpia"]), *hostile_dpia())
    convert(list(files.values()), "ods", tmp_path)
    for name in files:
        converted = tmp_path / "out" / f"{name}.ods"
        assert converted.exists() and converted.stat().st_size > 1000, name

    # Read by a spreadsheet program, hostile text is shown, not run.
    convert([files["request"]], "csv", tmp_path)
    with open(tmp_path / "out" / "request.csv", encoding="utf-8", newline="") as handle:
        summary = {row[0]: row[1] for row in csv.reader(handle) if len(row) > 1 and row[0]}
    assert summary["Supplier"] == '=HYPERLINK("http://x","y")'
