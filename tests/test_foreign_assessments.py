"""Answers from assessments a supplier already has (issue 25, part 2): a
CAIQ or HECVAT workbook read through a mapping file proposes answers, marked
with their source, that the supplier confirms section by section; and a
questionnaire submitted once offers the answers that mean the same in another."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Answer, Request
from portal.questionnaire.definition import load_file
from portal.questionnaire.mappings import check, load_mapping, load_mappings, propose
from portal.services.requests import reuse

from .conftest import SHIPPED_QUESTIONNAIRES, TEST_QUESTIONNAIRES
from .factories import Factory

HEADINGS = ["Question ID", "Question", "CSP CAIQ Answer", "SSRM Control Ownership",
            "CSP Implementation Description"]  # fmt: skip


def caiq(
    rows: list[tuple[str, Any, Any]], sheet: str = "CAIQv4.0.3", headings: list[str] | None = None
) -> bytes:
    """A workbook laid out as CAIQ v4: a title row, then the headings, then a row per question."""
    book = Workbook()
    page = book.active
    page.title = sheet
    page.append(["Consensus Assessments Initiative Questionnaire v4.0.3"])
    page.append(headings or HEADINGS)
    for qid, answer, comment in rows:
        page.append([qid, "A question", answer, "CSP-owned", comment])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def opened(app: Flask, make: Factory) -> tuple[FlaskClient, Request]:
    row, path = make.request(make.user(make.org("Oakfield Primary School")), "features")
    supplier = app.test_client()
    supplier.get(path)
    return supplier, row


def send(supplier: FlaskClient, row: Request, data: bytes, fmt: str = "test_caiq") -> str:
    sent = supplier.post(
        f"/respond/{row.reference}/assessment",
        data={"format": fmt, "assessment": (io.BytesIO(data), "caiq.xlsx")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    return supplier.get(sent.location).get_data(as_text=True)


def stored(dbs: Session, row: Request) -> dict[str, Answer]:
    dbs.rollback()
    return {
        a.question_id: a for a in dbs.scalars(select(Answer).where(Answer.request_id == row.id))
    }


def test_a_caiq_proposes_answers_the_supplier_confirms(
    app: Flask, make: Factory, dbs: Session
) -> None:
    supplier, row = opened(app, make)
    tasks = supplier.get(f"/respond/{row.reference}/tasks").get_data(as_text=True)
    assert "Start from an assessment you already have" in tasks and "Test CAIQ" in tasks
    page = send(supplier, row, caiq([
        ("STA-09.1", "Yes", "AWS and Google"),
        ("CERT-01.1", "No", ""),
        ("CERT-01.2", "Yes", ""),
        ("GOV-01.1", "NA", "We are a small team and keep it simple."),
        ("UNRELATED-1", "Yes", ""),
    ]))  # fmt: skip
    assert "3 answers copied from your Test CAIQ" in page
    answers = stored(dbs, row)
    assert answers["uses_subprocessors"].value == "yes"
    assert answers["certificate"].value == "none"  # the first id answered is used
    assert answers["why_not"].value == "We are a small team and keep it simple."
    assert all(a.prefilled for a in answers.values())
    assert answers["uses_subprocessors"].answered_by == "From your Test CAIQ (question STA-09.1)"

    section = supplier.get(f"/respond/{row.reference}/sections/main").get_data(as_text=True)
    assert "From your Test CAIQ (question CERT-01.1)" in section
    # The school sees nothing until the supplier confirms.
    check_page = supplier.get(f"/respond/{row.reference}/check").get_data(as_text=True)
    assert "check this answer" in check_page


def test_an_answer_already_given_is_never_replaced(app: Flask, make: Factory, dbs: Session) -> None:
    supplier, row = opened(app, make)
    supplier.post(
        f"/respond/{row.reference}/sections/more/autosave",
        json={"answers": {"uses_subprocessors": "no"}},
    )
    page = send(supplier, row, caiq([("STA-09.1", "Yes", ""), ("CERT-01.1", "Yes", "")]))
    assert "1 answer copied" in page
    answers = stored(dbs, row)
    assert (
        answers["uses_subprocessors"].value == "no" and not answers["uses_subprocessors"].prefilled
    )
    assert answers["certificate"].value == "basic"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (caiq([("STA-09.1", "Yes", "")], sheet="Sheet1"), "This is not a Test CAIQ workbook"),
        (
            caiq([("STA-09.1", "Yes", "")], headings=["QID", "Question", "Answer"]),
            "heading row was not found or was changed",
        ),
        (b"PK not really a workbook", "not an Excel workbook"),
        (b"x" * (21 * 1024 * 1024), "over 20 MB"),
    ],
)
def test_a_workbook_that_is_not_the_format_copies_nothing(
    app: Flask, make: Factory, dbs: Session, data: bytes, message: str
) -> None:
    supplier, row = opened(app, make)
    page = send(supplier, row, data)
    assert "Nothing was copied" in page and message in page
    assert stored(dbs, row) == {}


def test_formulas_are_read_as_their_text_and_never_evaluated(
    app: Flask, make: Factory, dbs: Session
) -> None:
    supplier, row = opened(app, make)
    page = send(supplier, row, caiq([("STA-09.1", '=IF(1,"Yes","No")', "")]))
    assert "No answers could be taken" in page
    assert stored(dbs, row) == {}


def test_a_mapping_is_checked_against_the_version_it_names(tmp_path: Path) -> None:
    features = load_file(TEST_QUESTIONNAIRES / "features.toml")
    good = load_mapping(TEST_QUESTIONNAIRES / "mappings" / "test_caiq.toml")
    assert check(good, features) == []
    text = (TEST_QUESTIONNAIRES / "mappings" / "test_caiq.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        text.replace('question = "why_not"', 'question = "nothing_here"').replace(
            'values = { yes = "basic", no = "none" }', 'values = { yes = "gold" }'
        ),
        encoding="utf-8",
    )
    problems = check(load_mapping(bad), features)
    assert "bad.toml: features version 1 has no question 'nothing_here'" in problems
    assert any("gold is not one of its answers" in p for p in problems)


def test_every_shipped_mapping_fits_and_answers_from_a_workbook_in_its_layout() -> None:
    questionnaires = {
        (q.key, q.version): q
        for q in (load_file(p) for p in sorted(SHIPPED_QUESTIONNAIRES.glob("*.toml")))
    }
    for mapping in load_mappings(SHIPPED_QUESTIONNAIRES / "mappings"):
        questionnaire = questionnaires[(mapping.questionnaire, mapping.version)]
        assert check(mapping, questionnaire) == [], mapping.name
        rows = {
            s.casefold(): ("Yes", "Described here.") for m in mapping.answers for s in m.sources
        }
        proposals = propose(mapping, questionnaire, rows)
        assert len(proposals) >= len(mapping.answers) // 2, mapping.name


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
def test_answers_that_mean_the_same_are_offered_from_another_questionnaire(
    app: Flask, make: Factory
) -> None:
    school = make.user(make.org("Oakfield Primary School"), role="admin")
    earlier, _ = make.submitted(
        school, "it_support",
        answers={"breach_notice_hours": 24, "sub_processors_used": "no", "transfer_mechanism": "idta"},
    )  # fmt: skip
    later, _ = make.request(school, "cloud_supplier")
    with app.test_request_context():
        target = db.session.get(Request, later.id)
        assert target is not None
        offered = reuse.earlier_submission(db.session, target)
        assert offered is not None and offered.id == earlier.id
        reuse.prefill_from(db.session, target, offered)
        db.session.commit()
        copied = {a.question_id: a.value for a in target.answers}
    assert copied.get("breach_notice_hours") == 24
    assert copied.get("uses_subprocessors") == "no"
    # Only the declared meanings cross over: nothing else of it_support does.
    assert set(copied) <= {"breach_notice_hours", "uses_subprocessors", "transfer_mechanism",
                           "cyber_essentials_expiry"}  # fmt: skip


def shipped_caiq() -> bytes:
    """A synthetic workbook in CAIQ v4.0.3's layout (the real one may not be
    redistributed): metadata row, headings on row 2, a row per question."""
    book = Workbook()
    page = book.active
    page.title = "CAIQv4.0.3"
    page.append(["v4.0.3", "CONSENSUS ASSESSMENTS INITIATIVE QUESTIONNAIRE v4.0.3"])
    page.append(["Question ID", "Question", "CSP CAIQ Answer", "SSRM Control Ownership",
                 "CSP Implementation Description (Optional/Recommended)",
                 "CSC Responsibilities  (Optional/Recommended)"])  # fmt: skip
    for qid, answer in (("IAM-14.1", "Yes"), ("CEK-03.1", "Yes"), ("IPY-04.1", "No"),
                        ("A&A-01.1", "Yes"), ("BCR-08.1", "NA"), ("HRS-01.1", "Yes"),
                        ("BCR-08.3", "No")):  # fmt: skip
        page.append([qid, "A question", answer, "CSP-owned", "How we do it", ""])
    page.append(["End of Standard"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def shipped_hecvat() -> bytes:
    """A synthetic workbook in HECVAT 4.1.4's layout: vendor tabs of section
    blocks, the general rows repeated on each tab."""
    book = Workbook()
    book.remove(book.active)
    tabs = {
        "START HERE": [("GNRL-01", "Solution Provider Name", "Cloudy Classroom Ltd", "")],
        "Organization": [("GNRL-01", "Solution Provider Name", "Someone else", ""),
                         ("PPPR-10", "Will you comply with applicable breach notification laws?", "Yes", "")],
        "Product": [("DATA-03", "Is the storage of sensitive data encrypted ...?*", "Yes", "AES-256"),
                    ("DATA-09", "At the completion of this contract, will data be returned ...?", "Yes", "")],
        "Infrastructure": [("DCTR-14", "Do you require multifactor authentication for all administrative accounts in your environment?", "No", "Being rolled out")],
    }  # fmt: skip
    for name, rows in tabs.items():
        page = book.create_sheet(name)
        page.append(["Cells contained in this worksheet may contain cells with dropdown lists"])
        page.append(
            [f"HECVAT Solution Provider Response - {name}", None, None, None, None, "Version 4.1.4"]
        )
        page.append(["Date Completed"])
        page.append(
            [" Section", None, "Answer", "Additional Information", "Guidance", "Analyst Notes"]
        )
        for row in rows:
            page.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
@pytest.mark.parametrize(
    ("fmt", "data", "expected"),
    [
        # IPY-04.1 "No" proposes nothing: it may fail on one item of several.
        ("caiq_v4", shipped_caiq, {"supplier_staff_mfa": "yes", "encryption_at_rest": "all",
                                   "staff_checks": "yes", "backups_tested": "no"}),
        # DATA-03 (encryption, backups not included) is not mapped.
        ("hecvat_4", shipped_hecvat, {"supplier_staff_mfa": "no",
                                      "art28_end_of_contract": "yes"}),
    ],
)  # fmt: skip
def test_the_shipped_caiq_and_hecvat_mappings_read_their_layouts(
    app: Flask, make: Factory, dbs: Session, fmt: str, data: Any, expected: dict[str, str]
) -> None:
    row, path = make.request(make.user(make.org("Oakfield Primary School")), "cloud_supplier")
    supplier = app.test_client()
    supplier.get(path)
    page = send(supplier, row, data(), fmt)
    assert f"{len(expected)} answers copied" in page
    answers = stored(dbs, row)
    assert {qid: a.value for qid, a in answers.items()} == expected
    assert all(a.prefilled for a in answers.values())


@pytest.mark.config(QUESTIONNAIRE_FOLDER=str(SHIPPED_QUESTIONNAIRES))
def test_curators_see_each_formats_coverage_and_check_passes(app: Flask, make: Factory) -> None:
    from .factories import login

    curator = app.test_client()
    login(curator, make.user(make.org("Northgate Data Protection", kind="curator"), role="curator"))
    page = curator.get("/curate/questionnaires/").get_data(as_text=True)
    listed = page.split('id="coverage-cloud_supplier"', 1)[1].split("</ul>", 1)[0]
    assert "CSA CAIQ v4: answers 7 of 66 questions" in listed
    assert "EDUCAUSE HECVAT 4: answers 8 of 66 questions" in listed
    checked = app.test_cli_runner().invoke(args=["questionnaires", "check"])
    assert checked.exit_code == 0, checked.output


def _mappings_with_mistakes(tmp_path: Path) -> str:
    """The tests' questionnaires, with a mapping file that does not load and
    one naming a question the questionnaire does not ask."""
    import shutil

    folder = tmp_path / "questionnaires"
    shutil.copytree(TEST_QUESTIONNAIRES, folder)
    (folder / "mappings" / "broken.toml").write_text('title = "Broken\n', encoding="utf-8")
    good = (folder / "mappings" / "test_caiq.toml").read_text(encoding="utf-8")
    (folder / "mappings" / "misfit.toml").write_text(
        good.replace('title = "Test CAIQ"', 'title = "Misfit HECVAT"').replace(
            'question = "uses_subprocessors"', 'question = "not_asked_here"'
        ),
        encoding="utf-8",
    )
    (folder / "mappings" / "same_meaning.toml").write_text("[[same]\n", encoding="utf-8")
    return str(folder)


@pytest.mark.config(QUESTIONNAIRE_FOLDER=_mappings_with_mistakes)
def test_a_broken_or_misfit_mapping_is_not_offered_and_breaks_no_page(
    app: Flask, make: Factory
) -> None:
    from .factories import login

    supplier, row = opened(app, make)
    tasks = supplier.get(f"/respond/{row.reference}/tasks")
    assert tasks.status_code == 200
    page = tasks.get_data(as_text=True)
    assert "Test CAIQ" in page  # the sound mapping is still offered
    assert "Misfit HECVAT" not in page and "Broken" not in page
    refused = supplier.post(
        f"/respond/{row.reference}/assessment",
        data={"format": "misfit", "assessment": (io.BytesIO(caiq([])), "caiq.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Choose which assessment you are uploading" in refused.get_data(as_text=True)
    assert supplier.get(f"/respond/{row.reference}/").status_code == 200  # reuse offers

    curator = app.test_client()
    login(curator, make.user(make.org("Northgate Data Protection", kind="curator"), role="curator"))
    listed = curator.get("/curate/questionnaires/").get_data(as_text=True)
    assert "<code>mappings/broken.toml</code> cannot be used" in listed
    assert "not offered to suppliers until these are put right" in listed
    assert "has no question &#39;not_asked_here&#39;" in listed
    checked = app.test_cli_runner().invoke(args=["questionnaires", "check"])
    assert checked.exit_code != 0
    assert "broken.toml" in checked.output and "misfit.toml" in checked.output
    assert "same_meaning.toml" in checked.output
