"""Evidence that knows when it runs out, through the API (issue 26): a
request's evidence with its dates and where each piece stands today, the
organisation's evidence that has run out or runs out soon, and the dates a
supplier gives beside an upload, checked as the page checks them."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Evidence, Organisation, Request, User, utcnow
from portal.questionnaire.expiry import add_months

from .factories import Factory
from .test_api import PDF, bearer, make_key, token_of


def day(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


def pen_test_expiry() -> str:
    """The demo files' pen test report: issued 60 days ago, a year's life."""
    return add_months(utcnow().date() - timedelta(days=60), 12).isoformat()


def submitted(make: Factory, author: User, supplier: str, **answers: Any) -> Request:
    row, _ = make.submitted(author, "expiring", answers=answers, supplier_name=supplier)
    return row


# --- one request's evidence -------------------------------------------------------


def test_the_request_read_has_its_evidence_with_dates_and_statuses(
    app: Flask, make: Factory
) -> None:
    school = make.org("Oakfield Primary School")
    author = make.user(school, role="admin")
    row = submitted(make, author, "Stale Certs Ltd", ce_expiry=day(-10), insured="yes")
    got = app.test_client().get(
        f"/api/v1/requests/{row.reference}", headers=bearer(make_key(app, school))
    )
    assert got.status_code == 200, got.json
    assert got.json["reference"] == row.reference
    tracked = {t["question_id"]: t for t in got.json["evidence"]["tracked"]}
    assert list(tracked) == [
        "ce_certificate",
        "insured",
        "pen_test_report",
    ]  # the questionnaire's order
    assert tracked["ce_certificate"] == {
        "question_id": "ce_certificate",
        "question": "Upload your Cyber Essentials certificate",
        "kind": "certificate",
        "kind_label": "Certificate",
        "expires_on": day(-10),
        "status": "expired",
        "status_label": "Expired",
        "accepted_without_dates": None,
    }
    assert tracked["insured"]["expires_on"] == day(305)
    assert tracked["insured"]["status"] == "current"
    assert tracked["insured"]["kind"] == "insurance"
    assert tracked["pen_test_report"]["expires_on"] == pen_test_expiry()

    files = {f["question_id"]: f for f in got.json["evidence"]["files"]}
    assert set(files) == {"ce_certificate", "insured", "pen_test_report"}
    assert files["insured"]["filename"] == "insured.pdf"
    assert files["insured"]["size"] > 0
    assert (files["insured"]["issued_on"], files["insured"]["expires_on"]) == (day(-60), day(305))
    assert files["insured"]["renewing"] is False
    assert (files["pen_test_report"]["issued_on"], files["pen_test_report"]["expires_on"]) == (
        day(-60),
        None,
    )
    assert files["ce_certificate"]["issued_on"] is None  # its expiry is the answer


def test_expiring_and_accepted_undated_evidence_say_so(app: Flask, make: Factory) -> None:
    from portal.services.requests import evidence as files
    from portal.services.requests import evidence_life

    school = make.org("Oakfield Primary School")
    author = make.user(school, role="admin")
    row = submitted(make, author, "Soon Cover Ltd", ce_expiry=day(20), insured="yes")
    with app.test_request_context():
        request = db.session.get(Request, row.id)
        for item in files.attached(db.session, request)["insured"]:
            item.expires_on = None  # the supplier would not say
        db.session.flush()
        evidence_life.track(db.session, request)
        evidence_life.accept_without_dates(
            db.session, request, "insured", db.session.merge(author), "Broker letter seen"
        )
        db.session.commit()
    got = app.test_client().get(
        f"/api/v1/requests/{row.reference}", headers=bearer(make_key(app, school))
    )
    tracked = {t["question_id"]: t for t in got.json["evidence"]["tracked"]}
    assert (tracked["ce_certificate"]["status"], tracked["ce_certificate"]["status_label"]) == (
        "expiring",
        "Expiring soon",
    )
    assert tracked["insured"]["expires_on"] is None
    assert tracked["insured"]["status"] == "unknown"
    assert tracked["insured"]["accepted_without_dates"] == "Broker letter seen"


def test_a_request_not_yet_answered_has_its_files_and_nothing_tracked(
    app: Flask, make: Factory
) -> None:
    school = make.org()
    row, _ = make.request(make.user(school), "expiring")
    got = app.test_client().get(
        f"/api/v1/requests/{row.reference}", headers=bearer(make_key(app, school))
    )
    assert got.status_code == 200
    assert got.json["evidence"] == {"tracked": [], "files": []}


def test_the_request_read_costs_the_same_whatever_its_answers_and_files(
    app: Flask, make: Factory, statements: list[str]
) -> None:
    from werkzeug.datastructures import FileStorage

    from portal.services.requests import answering, evidence

    school = make.org()
    author = make.user(school)
    few = submitted(make, author, "Few Files Ltd", ce_expiry=day(100), insured="yes")
    more = submitted(make, author, "More Files Ltd", ce_expiry=day(100), insured="yes")
    with app.test_request_context():
        row = db.session.get(Request, more.id)
        question = answering.questionnaire_of(row).question("insured")
        extra = [FileStorage(io.BytesIO(PDF), filename=f"cover-{n}.pdf") for n in range(3)]
        keep = [e.id for e in evidence.attached(db.session, row)["insured"]]
        evidence.update_attachments(
            db.session, row, question, keep, extra, evidence.Dates(expires_on=utcnow().date())
        )
        db.session.commit()
    many, _ = make.submitted(author, "it_support", supplier_name="Many Answers Ltd")
    client = app.test_client()
    key = bearer(make_key(app, school))

    def cost(row: Request) -> tuple[int, int]:
        client.get(f"/api/v1/requests/{row.reference}", headers=key)  # warm the caches
        statements.clear()
        got = client.get(f"/api/v1/requests/{row.reference}", headers=key)
        assert got.status_code == 200
        return len(statements), len(got.json["evidence"]["files"])

    with app.app_context():
        answers = {r.id: len(db.session.get(Request, r.id).answers) for r in (few, more, many)}
    costs = {r.id: cost(r) for r in (few, more, many)}
    assert answers[few.id] < answers[many.id]
    assert costs[few.id][1] < costs[more.id][1]  # more files
    assert len({statements for statements, _ in costs.values()}) == 1, costs


# --- the organisation's evidence running out ----------------------------------------


@pytest.fixture
def oakfield(app: Flask, make: Factory) -> dict[str, Any]:
    """A school with evidence expired, expiring within 60 days, within a
    year and later; and a rival school with its own expired evidence."""
    school = make.org("Oakfield Primary School")
    author = make.user(school, role="admin")
    rows = {
        name: submitted(make, author, name, ce_expiry=day(days), insured="no")
        for name, days in [
            ("Later Ltd", 400),
            ("Expired Ltd", -10),
            ("Within A Year Ltd", 100),
            ("Today Ltd", 0),
            ("Soon Ltd", 20),
        ]
    }
    rival = make.org("Riverside Academy")
    submitted(make, make.user(rival), "Rival Supplier Ltd", ce_expiry=day(-30), insured="no")
    return {"school": school, "rows": rows, "key": bearer(make_key(app, school)), "rival": rival}


def expiring(client: FlaskClient, key: dict[str, str], query: str = "") -> Any:
    return client.get(f"/api/v1/evidence/expiring{query}", headers=key)


def test_the_listing_has_what_ran_out_or_runs_out_soon_oldest_first(
    app: Flask, oakfield: dict[str, Any]
) -> None:
    got = expiring(app.test_client(), oakfield["key"])  # within 60 days by default
    assert got.status_code == 200, got.json
    items = got.json["items"]
    assert [(i["supplier"], i["expires_on"], i["status"]) for i in items] == [
        ("Expired Ltd", day(-10), "expired"),
        ("Today Ltd", day(0), "expired"),  # on its expiry day it has run out
        ("Soon Ltd", day(20), "expiring"),
    ]
    first = items[0]
    assert first["reference"] == oakfield["rows"]["Expired Ltd"].reference
    assert first["question_id"] == "ce_certificate"
    assert first["question"] == "Upload your Cyber Essentials certificate"
    assert (first["kind"], first["kind_label"]) == ("certificate", "Certificate")
    assert first["status_label"] == "Expired"
    assert first["links"]["request"] == f"/api/v1/requests/{first['reference']}"
    assert got.json["total"] == 3 and got.json["within"] == 60
    assert got.json["next_cursor"] is None


def test_within_reaches_as_far_as_asked(app: Flask, oakfield: dict[str, Any]) -> None:
    client = app.test_client()
    expired = expiring(client, oakfield["key"], "?within=0").json
    assert [i["supplier"] for i in expired["items"]] == ["Expired Ltd", "Today Ltd"]
    year = expiring(client, oakfield["key"], "?within=365").json
    listed = [(i["supplier"], i["question_id"]) for i in year["items"]]
    # Within a year: the certificates to 100 days, then each supplier's
    # insurance schedule and pen test report (the demo files' year of life).
    assert listed[:4] == [
        ("Expired Ltd", "ce_certificate"),
        ("Today Ltd", "ce_certificate"),
        ("Soon Ltd", "ce_certificate"),
        ("Within A Year Ltd", "ce_certificate"),
    ]
    assert sorted(listed[4:]) == sorted(
        (name, q) for name in oakfield["rows"] for q in ("insured", "pen_test_report")
    )
    assert ("Later Ltd", "ce_certificate") not in listed
    dates = [i["expires_on"] for i in year["items"]]
    assert dates == sorted(dates)
    assert year["items"][3]["status"] == "current"  # 100 days off: not yet "expiring"


@pytest.mark.parametrize("within", ["-1", "366", "abc", "1.5", "", "99999999999999999999"])
def test_within_out_of_bounds_is_a_422_saying_so(
    app: Flask, oakfield: dict[str, Any], within: str
) -> None:
    got = expiring(app.test_client(), oakfield["key"], f"?within={within}")
    assert got.status_code == 422
    assert got.mimetype == "application/problem+json"
    assert got.json["detail"] == "within must be a whole number of days from 0 to 365"
    assert got.json["errors"]["within"] == ["Enter a whole number of days from 0 to 365"]


def test_the_listing_pages_by_cursor_to_the_end(app: Flask, oakfield: dict[str, Any]) -> None:
    client = app.test_client()
    whole = expiring(client, oakfield["key"], "?within=365").json
    walked, cursor = [], None
    while True:
        query = "?within=365&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = expiring(client, oakfield["key"], query).json
        assert page["total"] == whole["total"]
        walked += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == whole["items"]
    assert len(walked) == whole["total"] == 14
    bad = expiring(client, oakfield["key"], "?cursor=bm90LWEtY3Vyc29y")
    assert bad.status_code == 400 and "cursor" in bad.json["errors"]
    assert expiring(client, oakfield["key"], "?limit=0").status_code == 400


def test_another_schools_evidence_never_appears(
    app: Flask, make: Factory, oakfield: dict[str, Any]
) -> None:
    client = app.test_client()
    mine = expiring(client, oakfield["key"], "?within=365").json
    assert "Rival Supplier Ltd" not in {i["supplier"] for i in mine["items"]}
    rival_key = bearer(make_key(app, oakfield["rival"]))
    theirs = expiring(client, rival_key, "?within=365").json
    assert {i["supplier"] for i in theirs["items"]} == {"Rival Supplier Ltd"}
    reference = oakfield["rows"]["Expired Ltd"].reference
    assert client.get(f"/api/v1/requests/{reference}", headers=rival_key).status_code == 404


def test_a_superseded_requests_evidence_is_not_listed(app: Flask, make: Factory) -> None:
    """As on the Evidence page: each supplier's latest answered assessment."""
    school = make.org()
    author = make.user(school)
    submitted(make, author, "Renewed Ltd", ce_expiry=day(-5), insured="no")
    newer = submitted(make, author, "Renewed Ltd", ce_expiry=day(30), insured="no")
    got = expiring(app.test_client(), bearer(make_key(app, school))).json
    assert [(i["reference"], i["status"]) for i in got["items"]] == [(newer.reference, "expiring")]


def test_a_trust_lists_its_own_requests_as_its_other_lists_do(app: Flask, make: Factory) -> None:
    """A trust's request on a school's behalf is the trust's: in the trust's
    listing (as in its request list), not the school's."""
    trust = make.org("Riverside Learning Trust", kind="trust")
    with app.app_context():
        trust_row = db.session.get(Organisation, trust.id)
    school = make.org("Hillside Primary", trust=trust_row)
    central = make.user(trust, role="admin")
    row, _ = make.submitted(
        central, "expiring", answers={"ce_expiry": day(-3), "insured": "no"},
        supplier_name="Central IT Ltd", on_behalf_of=(school.id,),
    )  # fmt: skip
    client = app.test_client()
    trust_key = bearer(make_key(app, trust))
    listed = expiring(client, trust_key).json["items"]
    assert [i["reference"] for i in listed] == [row.reference]
    requests = client.get("/api/v1/requests", headers=trust_key).json["items"]
    assert row.reference in {r["reference"] for r in requests}
    assert expiring(client, bearer(make_key(app, school))).json["items"] == []


def test_a_read_only_key_reads_both(app: Flask, oakfield: dict[str, Any]) -> None:
    client = app.test_client()
    key = bearer(make_key(app, oakfield["school"], "read"))
    assert expiring(client, key).status_code == 200
    reference = oakfield["rows"]["Soon Ltd"].reference
    read = client.get(f"/api/v1/requests/{reference}", headers=key)
    assert read.status_code == 200 and read.json["evidence"]["tracked"]


def test_no_key_reads_neither(app: Flask) -> None:
    assert app.test_client().get("/api/v1/evidence/expiring").status_code == 401


# --- the supplier's upload with its dates ------------------------------------------------


@pytest.fixture
def supplier(app: Flask, make: Factory) -> tuple[FlaskClient, dict[str, str], Request]:
    row, path = make.request(make.user(make.org()), "expiring")
    token = bearer(token_of(path))
    client = app.test_client()
    said = client.put("/api/v1/supplier/answers/insured", json={"value": "yes", "revision": 0},
                      headers=token)  # fmt: skip
    assert said.status_code == 200, said.json
    return client, token, row


def upload(client: FlaskClient, token: dict[str, str], question_id: str, **fields: str) -> Any:
    return client.post(
        f"/api/v1/supplier/evidence/{question_id}",
        data={"file": (io.BytesIO(PDF), "evidence.pdf"), **fields},
        content_type="multipart/form-data",
        headers=token,
    )


def stored(dbs: Session, row: Request) -> int:
    dbs.rollback()
    return dbs.scalar(select(func.count()).where(Evidence.request_id == row.id)) or 0


def test_the_upload_keeps_the_dates_and_returns_them(
    supplier: tuple[FlaskClient, dict[str, str], Request], dbs: Session
) -> None:
    client, token, row = supplier
    got = upload(client, token, "insured", issued_on=day(-30), expires_on=day(335))
    assert got.status_code == 201, got.json
    (sent,) = got.json["files"]
    assert (sent["issued_on"], sent["expires_on"], sent["renewing"]) == (day(-30), day(335), False)
    dbs.rollback()
    kept = dbs.scalar(select(Evidence).where(Evidence.request_id == row.id))
    assert kept is not None and kept.expires_on.isoformat() == day(335)
    mine = client.get("/api/v1/supplier/request", headers=token).json
    assert [(f["question_id"], f["expires_on"]) for f in mine["evidence"]] == [
        ("insured", day(335))
    ]

    period = upload(client, token, "pen_test_report", issued_on=day(-60))
    assert period.status_code == 201, period.json
    assert (period.json["files"][0]["issued_on"], period.json["files"][0]["expires_on"]) == (
        day(-60),
        None,
    )
    answer = upload(client, token, "ce_certificate")  # its expiry is an answer: no dates
    assert answer.status_code == 201, answer.json


def test_a_document_being_renewed_may_have_run_out(
    supplier: tuple[FlaskClient, dict[str, str], Request],
) -> None:
    client, token, _ = supplier
    got = upload(client, token, "insured", expires_on=day(-3), renewing="true")
    assert got.status_code == 201, got.json
    assert got.json["files"][0]["renewing"] is True
    assert got.json["files"][0]["expires_on"] == day(-3)


def test_a_document_showing_no_date_is_kept_undated(
    supplier: tuple[FlaskClient, dict[str, str], Request],
) -> None:
    client, token, _ = supplier
    got = upload(client, token, "insured", undated="true")
    assert got.status_code == 201, got.json
    assert (got.json["files"][0]["issued_on"], got.json["files"][0]["expires_on"]) == (None, None)
    # A date sent with it is still checked.
    wrong = upload(client, token, "insured", undated="true", expires_on=day(-3))
    assert wrong.status_code == 422
    assert upload(client, token, "insured", undated="perhaps").status_code == 422


@pytest.mark.parametrize(
    ("question_id", "fields", "field", "message"),
    [
        ("insured", {"expires_on": day(-3)}, "expires_on", "This document has expired"),
        ("insured", {"expires_on": day(-3), "renewing": "false"}, "expires_on",
         "This document has expired"),
        ("insured", {"issued_on": day(-10), "expires_on": day(-20)}, "expires_on",
         "The expiry date must be after the issue date"),
        ("insured", {"expires_on": "2126-01-01"}, "expires_on",
         "The expiry date must be within 10 years"),
        ("insured", {"issued_on": "1926-01-01", "expires_on": day(30)}, "issued_on",
         "check the year"),
        ("insured", {"issued_on": day(10), "expires_on": day(300)}, "issued_on",
         "The issue date must be today or in the past"),
        ("insured", {"expires_on": "31/02/2027"}, "expires_on", "must be a real date"),
        ("insured", {"expires_on": "2027-02-30"}, "expires_on", "must be a real date"),
        ("insured", {"issued_on": "last week", "expires_on": day(30)}, "issued_on",
         "must be a real date"),
        ("insured", {}, "expires_on", "Enter the date the document expires"),
        ("insured", {"expires_on": day(30), "renewing": "maybe"}, "renewing", "true or false"),
        ("pen_test_report", {}, "issued_on", "Enter the date the document was issued"),
        ("pen_test_report", {"issued_on": day(-400)}, "issued_on", "this document ran out on"),
        ("pen_test_report", {"issued_on": day(-30), "expires_on": day(300)}, "expires_on",
         "give its issue date alone"),
        ("ce_certificate", {"expires_on": day(300)}, "expires_on",
         "its expiry is the answer to ce_expiry"),
    ],
)  # fmt: skip
def test_wrong_dates_are_a_422_naming_the_field_and_store_nothing(
    supplier: tuple[FlaskClient, dict[str, str], Request],
    dbs: Session,
    question_id: str,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    client, token, row = supplier
    got = upload(client, token, question_id, **fields)
    assert got.status_code == 422, got.json
    assert got.mimetype == "application/problem+json"
    assert got.json["type"] == "/api/v1/problems/validation"
    assert message in " ".join(got.json["errors"][field]), got.json
    assert stored(dbs, row) == 0


def test_a_renewing_document_still_needs_a_sound_date(
    supplier: tuple[FlaskClient, dict[str, str], Request], dbs: Session
) -> None:
    client, token, row = supplier
    got = upload(client, token, "insured", expires_on="2126-01-01", renewing="true")
    assert got.status_code == 422
    assert "within 10 years" in got.json["errors"]["expires_on"][0]
    assert stored(dbs, row) == 0
