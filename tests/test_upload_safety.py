"""Uploads that are not what they claim: renamed programs, web pages, SVG,
zip bombs dressed as Office files, names that climb folders. All refused or
made harmless; every download is an attachment, never shown inline."""

from __future__ import annotations

import io
import zipfile

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal.services.requirements.workbook import ProfileWorkbookError, read_profile

from .factories import Factory, login

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def docx(*parts: tuple[str, bytes], level: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=level) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for name, data in parts:
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def upload(app: Flask, make: Factory) -> tuple[FlaskClient, str]:
    from .test_api import token_of

    _, link = make.request(make.user(), "features")
    return app.test_client(), token_of(link)


def send(client: FlaskClient, token: str, name: str, data: bytes) -> tuple[int, str]:
    response = client.post(
        "/api/v1/supplier/evidence/policy",
        data={"file": (io.BytesIO(data), name)},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code, (response.json or {}).get("detail", "")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("policy.pdf", b"MZ\x90\x00\x03\x00\x00\x00 a Windows program", "is not a real PDF file"),
        ("policy.pdf", b"<html><script>alert(1)</script></html>", "is not a real PDF file"),
        ("policy.svg", b"<svg onload=alert(1)></svg>", "must be a PDF or DOCX file"),
        ("policy.html", b"<html></html>", "must be a PDF or DOCX file"),
        ("policy.docx", b"PK\x03\x04 but not really a zip", "is not a real DOCX file"),
        (
            "policy.docx",
            docx(*((f"word/media/p{n}.xml", b"x") for n in range(2100))),
            "holds more than 2,000 parts",
        ),
        (
            "policy.docx",
            docx(("word/media/zeros.bin", b"\0" * (40 * 1024 * 1024))),
            "compressed far more tightly than a real document",
        ),
        ("policy.docx", docx(("../../outside.xml", b"<x/>")), "leads outside the document"),
        ("policy.docx", docx(("word/vbaProject.bin", b"macro")), "contains macros"),
    ],
)
def test_disguised_and_dangerous_files_are_refused(
    upload: tuple[FlaskClient, str], name: str, data: bytes, message: str
) -> None:
    client, token = upload
    status, detail = send(client, token, name, data)
    assert status == 422
    assert message in detail


def test_a_name_that_climbs_folders_is_neutralised_and_downloads_are_attachments(
    app: Flask, make: Factory, upload: tuple[FlaskClient, str]
) -> None:
    client, token = upload
    status, _ = send(client, token, "../../../etc/passwd.pdf", PDF)
    assert status == 201
    mine = client.get("/api/v1/supplier/request", headers={"Authorization": f"Bearer {token}"})
    (stored,) = mine.json["evidence"]
    assert stored["filename"] == "etc_passwd.pdf"
    # The school downloads it: an attachment, typed by us, never sniffed.
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Request

    with app.app_context():
        row = db.session.scalars(select(Request)).one()
        school_user = row.created_by
    staff = app.test_client()
    login(staff, school_user)
    download = staff.get(f"/requests/{row.id}/files/{stored['id']}")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == "application/pdf"
    stranger = app.test_client()  # signed out: to the sign-in page, no file
    assert stranger.get(f"/requests/{row.id}/files/{stored['id']}").status_code == 302


def test_a_profile_import_refuses_a_zip_bomb_before_opening_it() -> None:
    from portal.questionnaire.definition import load_file

    from .conftest import SHIPPED_QUESTIONNAIRES

    questionnaire = load_file(SHIPPED_QUESTIONNAIRES / "cloud_supplier.toml")
    bomb = docx(("xl/workbook.xml", b"<w/>"), ("xl/zeros.bin", b"\0" * (40 * 1024 * 1024)))
    with pytest.raises(ProfileWorkbookError) as caught:
        read_profile(questionnaire, bomb)
    assert "compressed far more tightly" in caught.value.problems[0]


def files_on_disk(app: Flask) -> list[str]:
    from pathlib import Path

    root = Path(app.config["UPLOAD_FOLDER"])
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


# Issue 20, finding 4: a refused upload leaves nothing on disk.
def test_a_refused_file_beside_a_good_one_leaves_nothing_behind(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session
) -> None:
    from sqlalchemy import select

    from portal.models import Evidence

    row, link = make.request(make.user(), "features")
    client.get(link)
    response = client.post(
        f"/respond/{row.reference}/sections/more",
        data={
            "policy": [(io.BytesIO(PDF), "good.pdf"), (io.BytesIO(b"MZ\x90 a program"), "bad.pdf")],
            "shown": "policy",
            "action": "later",
        },
        content_type="multipart/form-data",
    )
    assert "bad.pdf is not a real PDF file" in response.get_data(as_text=True)
    assert files_on_disk(app) == []
    dbs.rollback()
    assert dbs.scalars(select(Evidence)).all() == []


def test_a_request_that_fails_after_storing_a_file_leaves_nothing_behind(
    app: Flask, client: FlaskClient, make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.services.requests import answering as responses

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    row, link = make.request(make.user(), "features")
    client.get(link)
    monkeypatch.setattr(responses, "save_valid_answers", broken)
    response = client.post(
        f"/respond/{row.reference}/sections/more",
        data={"policy": (io.BytesIO(PDF), "good.pdf"), "shown": "policy", "action": "later"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 500
    assert files_on_disk(app) == []


# Issue 20, finding 10: sizes an archive declares are not believed.
def test_an_archive_that_lies_about_its_sizes_is_refused(upload: tuple[FlaskClient, str]) -> None:
    import struct

    data = bytearray(docx(("word/media/zeros.bin", b"\0" * (30 * 1024 * 1024))))
    name = b"word/media/zeros.bin"
    # Declare 1 KB unpacked in the local header and in the central directory,
    # so the declared ratio looks like a real document's.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = 0
        while (at := data.find(signature, at)) != -1:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                struct.pack_into("<I", data, at + offset, 1024)
            at += 4
    client, token = upload
    status, detail = send(client, token, "policy.docx", bytes(data))
    assert status == 422
    assert "its parts do not unpack to what it declares" in detail
