"""The curator's questionnaires page (issue 24): download a version's
workbook, upload a changed one, see every problem by sheet, row and column,
fix it, check what changes, publish; schools only ever see published versions."""

from __future__ import annotations

import io
import tomllib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import AuditEvent, QuestionnaireUpload, QuestionnaireVersion, VersionOrigin
from portal.questionnaire import questionnaire_from_snapshot
from portal.services.platform.questionnaire_workbooks import workbook_of

from .conftest import TEST_QUESTIONNAIRES
from .factories import Factory, login

FEATURES = TEST_QUESTIONNAIRES / "features.toml"


@pytest.fixture
def curator(app: Flask, make: Factory) -> FlaskClient:
    client = app.test_client()
    login(client, make.user(make.org("Data Protection Partners", kind="curator"), role="curator"))
    return client


def changed_workbook(version: int = 2, label: str = "Target time to respond") -> bytes:
    snapshot = tomllib.loads(FEATURES.read_text(encoding="utf-8").replace("Response target", label))
    snapshot["version"] = version
    return workbook_of(questionnaire_from_snapshot(snapshot))


def broken(data: bytes) -> bytes:
    """The workbook with a typo in the first question's condition."""
    book = load_workbook(io.BytesIO(data))
    survey = book["survey"]
    headings = [cell.value for cell in survey[1]]
    first = next(row for row in survey.iter_rows(min_row=2) if row[0].value != "begin group")
    first[headings.index("relevant")].value = "hostng == 'yes'"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client: FlaskClient, data: bytes, name: str = "features.xlsx") -> tuple[int, str]:
    sent = client.post(
        "/curate/questionnaires/uploads",
        data={"workbook": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    page = client.get(sent.location)
    return page.status_code, page.get_data(as_text=True)


def test_a_curator_downloads_changes_uploads_fixes_and_publishes(
    app: Flask, curator: FlaskClient, make: Factory, dbs: Session
) -> None:
    listing = curator.get("/curate/questionnaires/")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert 'id="questionnaire-features"' in text
    download = curator.get("/curate/questionnaires/features/1/workbook")
    assert download.status_code == 200
    assert load_workbook(io.BytesIO(download.data)).sheetnames == [
        "settings", "survey", "choices", "triage"
    ]  # fmt: skip

    status, page = upload(curator, broken(changed_workbook()), "features-draft.xlsx")
    assert status == 422
    assert "nothing was published" in page
    assert "survey row" in page and "column relevant" in page and "hostng" in page
    dbs.rollback()
    assert dbs.scalar(select(func.count()).select_from(QuestionnaireVersion)
                      .where(QuestionnaireVersion.origin == VersionOrigin.WORKBOOK)) == 0  # fmt: skip
    kept = dbs.scalars(select(QuestionnaireUpload)).one()
    assert kept.filename == "features-draft.xlsx" and kept.problems
    assert "features-draft.xlsx" in curator.get("/curate/questionnaires/").get_data(as_text=True)

    status, page = upload(curator, changed_workbook())
    assert status == 200
    assert "Reworded: “Response target” → “Target time to respond”" in page
    upload_id = int(page.split('action="/curate/questionnaires/uploads/', 1)[1].split("/", 1)[0])
    published = curator.post(f"/curate/questionnaires/uploads/{upload_id}/publish")
    assert published.status_code == 302
    listing = curator.get("/curate/questionnaires/").get_data(as_text=True)
    card = listing.split('id="questionnaire-features"', 1)[1].split("</table>", 1)[0]
    assert "Published by" in card and "Current" in card

    dbs.rollback()
    row = dbs.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.version == 2))
    assert row is not None and row.origin == VersionOrigin.WORKBOOK
    assert dbs.get(QuestionnaireUpload, upload_id).published_version_id == row.id
    event = dbs.scalar(select(AuditEvent).where(AuditEvent.action == "questionnaire_published"))
    assert event is not None and event.detail["version"] == 2

    # A school sends the new version straight away.
    school = app.test_client()
    admin = make.user(role="admin")
    login(school, admin)
    sent_row, link = make.request(admin, questionnaire="features")
    supplier = app.test_client()
    assert supplier.get(link).status_code == 303
    answering = supplier.get(f"/respond/{sent_row.reference}/sections/main").get_data(as_text=True)
    assert "Target time to respond" in answering

    again = curator.post(
        f"/curate/questionnaires/uploads/{upload_id}/publish", follow_redirects=True
    )
    assert "This workbook is already published" in again.get_data(as_text=True)


def test_only_the_curator_organisation_reaches_its_questionnaires_and_uploads(
    app: Flask, curator: FlaskClient, make: Factory, dbs: Session
) -> None:
    upload(curator, changed_workbook())
    dbs.rollback()
    upload_id = dbs.scalars(select(QuestionnaireUpload.id)).one()
    school = app.test_client()
    login(school, make.user(role="admin"))
    assert school.get("/curate/questionnaires/").status_code == 403
    assert school.get(f"/curate/questionnaires/uploads/{upload_id}").status_code == 403
    assert school.post(f"/curate/questionnaires/uploads/{upload_id}/publish").status_code == 403
    other = app.test_client()
    login(other, make.user(make.org("Another Consultancy", kind="curator"), role="curator"))
    assert other.get(f"/curate/questionnaires/uploads/{upload_id}").status_code == 404
    assert other.post(f"/curate/questionnaires/uploads/{upload_id}/publish").status_code == 404


def test_a_curator_retires_a_questionnaire_and_offers_it_again(
    app: Flask, curator: FlaskClient, make: Factory
) -> None:
    assert curator.post("/curate/questionnaires/features/retire").status_code == 302
    admin = make.user(role="admin")
    school = app.test_client()
    login(school, admin)
    assert 'value="features"' not in school.get("/requests/new").get_data(as_text=True)
    card = curator.get("/curate/questionnaires/").get_data(as_text=True)
    assert "Retired" in card.split('id="questionnaire-features"', 1)[1].split("</table>", 1)[0]
    assert curator.post("/curate/questionnaires/features/restore").status_code == 302
    assert 'value="features"' in school.get("/requests/new").get_data(as_text=True)


def counts(dbs: Session) -> dict[str, int]:
    from portal.models import Answer, AuditEvent, Request

    dbs.rollback()
    return {
        model.__tablename__: dbs.scalar(select(func.count()).select_from(model)) or 0
        for model in (QuestionnaireVersion, Request, Answer, AuditEvent, QuestionnaireUpload)
    }


def test_a_curator_tries_an_upload_as_a_supplier_sees_it_and_nothing_is_stored(
    curator: FlaskClient, dbs: Session
) -> None:
    _, page = upload(curator, changed_workbook())
    upload_id = int(page.split('action="/curate/questionnaires/uploads/', 1)[1].split("/", 1)[0])
    before = counts(dbs)

    blank = curator.get(f"/curate/questionnaires/uploads/{upload_id}/try")
    assert blank.status_code == 200
    text = blank.get_data(as_text=True)
    assert "Target time to respond" in text and ">More</h2>" in text  # every section
    expiry = text.split('data-question="expiry"', 1)[1].split(">", 1)[0]
    assert "hidden" in expiry  # asked only once a certificate is chosen

    shown = curator.post(f"/curate/questionnaires/uploads/{upload_id}/shown",
                         data={"certificate": "basic"})  # fmt: skip
    assert shown.status_code == 200 and shown.get_json()["shown"]["expiry"] is True

    tried = curator.post(
        f"/curate/questionnaires/uploads/{upload_id}/try",
        data={"certificate": "basic", "expiry": "2020-01-31", "response_minutes": "abc"},
    )
    assert tried.status_code == 200
    text = tried.get_data(as_text=True)
    finding = text.split('id="tried-expiry"', 1)[1].split("</tr>", 1)[0]
    assert "Not met" in finding and "Critical" in finding
    expiry = text.split('data-question="expiry"', 1)[1].split(">", 1)[0]
    assert "hidden" not in expiry
    assert 'name="expiry" type="date" value="2020-01-31"' in text  # what was typed stays
    assert "abc" in text  # a wrong format stays as typed, with its message
    assert counts(dbs) == before


def test_a_published_version_can_be_tried_out_too(curator: FlaskClient, dbs: Session) -> None:
    before = counts(dbs)
    page = curator.get("/curate/questionnaires/features/1/try")
    assert page.status_code == 200
    assert "Response target" in page.get_data(as_text=True)
    tried = curator.post(
        "/curate/questionnaires/features/1/try",
        data={"certificate": "basic", "expiry": "2020-01-31"},
    )
    assert (
        "Not met"
        in tried.get_data(as_text=True).split('id="tried-expiry"', 1)[1].split("</tr>", 1)[0]
    )
    shown = curator.post("/curate/questionnaires/features/1/shown", data={"certificate": "none"})
    assert shown.get_json()["shown"]["expiry"] is False
    assert curator.get("/curate/questionnaires/features/9/try").status_code == 404
    assert counts(dbs) == before


def test_only_the_newest_unpublished_uploads_are_kept(curator: FlaskClient, dbs: Session) -> None:
    from portal.services.platform.questionnaire_publishing import KEPT_UPLOADS

    for n in range(KEPT_UPLOADS + 3):
        upload(curator, b"not a workbook", f"draft-{n}.xlsx")
    dbs.rollback()
    names = [
        row.filename
        for row in dbs.scalars(select(QuestionnaireUpload).order_by(QuestionnaireUpload.id))
    ]
    assert len(names) == KEPT_UPLOADS and names[-1] == f"draft-{KEPT_UPLOADS + 2}.xlsx"
    assert "draft-0.xlsx" not in names
