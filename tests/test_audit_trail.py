"""The audit trail: sign-ins, refusals, links opened and API key use are
recorded; an admin reads, filters and downloads them; log lines stay single."""

from __future__ import annotations

import io
import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEvent
from portal.redaction import RedactingFilter

from .factories import Factory, login


def actions(dbs: Session) -> list[str]:
    dbs.rollback()
    return list(dbs.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_sign_ins_refusals_links_and_sign_outs_are_recorded(
    app: Flask, make: Factory, dbs: Session
) -> None:
    school = make.org("Oakfield Primary")
    viewer = make.user(school, role="viewer")
    client = app.test_client()
    client.post("/login", data={"email": viewer.email, "password": "wrong"})
    client.post("/login", data={"email": "nobody@nowhere.example", "password": "x"})
    login(client, viewer)
    assert client.get("/requests/new").status_code == 403  # a viewer may not send
    assert client.post("/requests/new", data={}).status_code == 403
    client.post("/logout")
    _, link = make.request(make.user(school), "features")
    app.test_client().get(link)

    dbs.rollback()
    events = list(dbs.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    by_action = {e.action: e for e in events}
    failed = [e for e in events if e.action == "sign_in_failed"]
    assert [e.organisation_id for e in failed] == [school.id, None]
    assert failed[0].detail["email"] == viewer.email
    assert failed[1].actor_label == "Unknown"
    assert by_action["signed_in"].actor_id == viewer.id
    denied = [e for e in events if e.action == "permission_denied"]
    assert [(e.detail["method"], e.detail["path"]) for e in denied] == [
        ("GET", "/requests/new"),
        ("POST", "/requests/new"),
    ]
    assert denied[0].detail["needed"] == "send_requests"
    assert by_action["signed_out"].actor_id == viewer.id
    assert by_action["link_opened"].actor_label == "Supplier"
    assert by_action["link_opened"].request_id is not None


def test_an_admin_filters_pages_and_downloads_the_trail(
    app: Flask, make: Factory, client: FlaskClient
) -> None:
    school = make.org("Oakfield Primary")
    admin = make.user(school, role="admin")
    other = make.org("Elm Tree Academy")
    outsider = make.user(other, role="admin")
    app.test_client().post("/login", data={"email": outsider.email, "password": "wrong"})
    login(client, admin)
    make.request(admin, "features", supplier_name='=HYPERLINK("http://evil")')

    page = client.get("/audit").get_data(as_text=True)
    assert "Request created" in page and "Signed in" in page
    assert outsider.email not in page  # another organisation's trail
    only = client.get("/audit?action=signed_in").get_data(as_text=True)
    table = only[only.index("<table") :]
    assert "Signed in" in table and "Request created" not in table
    bad = client.get("/audit?since=31/02/2026").get_data(as_text=True)
    assert "Enter a real date" in bad

    download = client.get("/audit.xlsx")
    assert download.status_code == 200
    sheet = load_workbook(io.BytesIO(download.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows(values_only=False)]
    assert rows[0] == ["When (UTC)", "Who", "What", "Request", "Details"]
    whats = [row[2] for row in rows[1:]]
    assert "Request created" in " ".join(whats)
    assert all(not isinstance(v, str) or not v.startswith("=") for row in rows for v in row)

    reviewer = app.test_client()
    login(reviewer, make.user(school, role="reviewer"))
    assert reviewer.get("/audit").status_code == 403
    assert reviewer.get("/audit.xlsx").status_code == 403


def test_the_trail_pages_back_without_gaps(
    app: Flask, make: Factory, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.views import school as school_views

    admin = make.user(make.org(), role="admin")
    for _ in range(5):
        login(client, admin)
        client.post("/logout")
    login(client, admin)  # six sign-ins in all
    monkeypatch.setattr(school_views, "AUDIT_PAGE", 4)
    first = client.get("/audit?action=signed_in").get_data(as_text=True)
    assert first.count('<td class="govuk-table__cell">Signed in</td>') == 4
    assert "6 events match, newest first, 4 on this page." in first
    older = first[: first.index("Older events")].rsplit('href="', 1)[1].split('"', 1)[0]
    second = client.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count('<td class="govuk-table__cell">Signed in</td>') == 2
    assert "6 events match; these are older ones, newest first, 2 on this page." in second
    assert "Older events" not in second


def test_log_lines_cannot_be_forged_with_line_breaks() -> None:
    record = logging.LogRecord(
        "portal", logging.WARNING, __file__, 1,
        "Unhandled error on %s", ("/x\r\n2026-11-28 INFO portal: admin signed in",), None,
    )  # fmt: skip
    RedactingFilter().filter(record)
    message = record.getMessage()
    assert "\n" not in message and "\r" not in message
    assert "\\r\\n2026-11-28 INFO" in message


def test_api_key_use_is_recorded_once_a_minute(app: Flask, make: Factory, dbs: Session) -> None:
    from .test_api import bearer, make_key

    key = bearer(make_key(app, make.org()))
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/requests", headers=key).status_code == 200
    assert actions(dbs).count("api_key_used") == 1
