"""No input makes a server error. Hypothesis posts hostile values (NUL bytes,
lone surrogates, megabyte strings, markup, wrong JSON types, extra fields such
as org_id and status) to every route in app.url_map, as a signed-in admin and
as a supplier; and fields the forms do not have change nothing."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.routing import Rule
from wtforms.fields.core import UnboundField

from portal.models import Request
from portal.views import forms as page_forms

from .factories import PASSWORD, Factory, login
from .test_access_matrix import fill, methods, rules, upload_evidence

HOSTILE = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "A" * 1_000_000,
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(1)>",
    "' OR 1=1 --",
    "{{7*7}}{% raw %}",
    "%s%n%x",
    "../../../etc/passwd",
    "\r\nSet-Cookie: planted=1",
    '=HYPERLINK("http://evil")',
    "9" * 400,
    "-1",
    "2026-02-31",
    "",
]


def field_names() -> list[str]:
    """Every field of the portal's own forms, the questionnaire's ids, and the
    names an attacker tries (mass assignment)."""
    names = {
        name
        for _, form in inspect.getmembers(page_forms, inspect.isclass)
        for name, value in vars(form).items()
        if isinstance(value, UnboundField)
    }
    names |= {"certificate", "expiry", "response_minutes", "cover", "subprocessors", "policy"}
    names |= {"certificate-comment", "rev-certificate", "shown", "action", "csrf_token"}
    names |= {"organisation_id", "org_id", "status", "revision", "answers", "comments"}
    names |= {"revisions", "notes", "value", "days", "required", "q", "category", "before"}
    return sorted(names)


FIELDS = field_names()
TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=6,
)


def sendable(text: str) -> bool:
    """A form or URL carries bytes: a lone surrogate reaches them only as
    invalid UTF-8 (tested on its own below); JSON carries it as an escape."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


FORM_TEXT = TEXT.filter(sendable)
FORM = st.dictionaries(st.sampled_from(FIELDS), FORM_TEXT, max_size=6)
JSON_BODY = st.dictionaries(st.one_of(st.sampled_from(FIELDS), TEXT), JSON_VALUE, max_size=6)
QUERY = st.dictionaries(
    st.sampled_from(FIELDS), FORM_TEXT.filter(lambda t: len(t) < 5000), max_size=4
)
SKIP = {"auth.logout", "school.choose_organisation", "static"}


def is_json_route(rule: Rule) -> bool:
    return rule.endpoint.startswith("api.") or rule.endpoint == "supplier.autosave"


def fuzz(client: FlaskClient, rule: Rule, path: str) -> None:
    for method in methods(rule):
        fuzz_one(client, rule, path, method)


def fuzz_one(client: FlaskClient, rule: Rule, path: str, method: str) -> None:
    @given(form=FORM, body=JSON_BODY, query=QUERY)
    @settings(
        max_examples=8,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def call(form: dict[str, str], body: Any, query: dict[str, str]) -> None:
        if method == "GET":
            response = client.get(path, query_string=query)
        elif is_json_route(rule):
            response = client.open(path, method=method, json=body, query_string=query)
        else:
            response = client.open(path, method=method, data=form)
        assert response.status_code < 500, f"{method} {path}: {response.status_code}"

    call()


@pytest.fixture
def world(app: Flask, make: Factory) -> dict[str, Any]:
    admin = make.user(make.org("Oakfield Primary"), role="admin")
    row, link = make.request(admin, "features")
    submitted, _ = make.submitted(admin, "features")
    return {
        "admin": admin,
        "values": {
            "request_id": submitted.id,
            "evidence_id": upload_evidence(app, row, link),
            "reference": row.reference,
            "section_id": "main",
            "key": "features",
            "version": 1,
            "question_id": "certificate",
            "file_format": "xlsx",
            "entry_id": 1,
            "action": "publish",
            "key_id": 1,
            "user_id": admin.id,
            "token": link.rsplit("/", 1)[1],
            "filename": "init.js",
            "file_id": 1,
            "slug": "dfe-it-support-standard-4",
            "supplier_id": 1,
            "share_id": 1,
            "dpia_id": 1,
            "invitation_id": 1,
            "answer": "accept",
            "upload_id": 1,
            "colleague_id": 1,
            "provider": "microsoft",
            "link_id": 1,
            "change": "remove",
            "join_id": 1,
            "decision": "approve",
        },
        "link": link,
    }


def test_no_input_makes_a_server_error(app: Flask, world: dict[str, Any]) -> None:
    staff = app.test_client()
    login(staff, world["admin"])
    supplier = app.test_client()
    assert supplier.get(world["link"]).status_code == 303
    checked = 0
    for rule in rules(app):
        if rule.endpoint in SKIP or rule.endpoint.startswith("auth."):
            continue
        client = supplier if rule.endpoint.startswith("supplier.") else staff
        fuzz(client, rule, fill(rule, world["values"]))
        checked += 1
    assert checked > 70


def test_the_curators_questionnaire_pages_survive_hostile_input(app: Flask, make: Factory) -> None:
    """Hostile answers in a try-out, and hostile forms on every page, as a
    curator with a sound upload to try (a school admin only meets 403s)."""
    import io

    from portal.questionnaire.definition import load_file
    from portal.services.platform.questionnaire_workbooks import workbook_of

    from .conftest import TEST_QUESTIONNAIRES

    curator = app.test_client()
    login(curator, make.user(make.org("Data Protection Partners", kind="curator"), role="curator"))
    data = workbook_of(load_file(TEST_QUESTIONNAIRES / "features.toml"))
    sent = curator.post(
        "/curate/questionnaires/uploads",
        data={"workbook": (io.BytesIO(data), "features.xlsx")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    values = {"upload_id": int(sent.location.rsplit("/", 1)[1]), "key": "features", "version": 1}
    checked = 0
    for rule in rules(app):
        if rule.endpoint.startswith("curator_questionnaires."):
            fuzz(curator, rule, fill(rule, values))
            checked += 1
    assert checked >= 7


def test_sign_in_pages_survive_hostile_input(app: Flask) -> None:
    client = app.test_client()
    for path in ("/login", "/forgot-password", "/login/code", "/reset-password/x", "/invitation/x"):
        for value in filter(sendable, HOSTILE):
            response = client.post(path, data={"email": value, "password": value, "code": value})
            assert response.status_code < 500, (path, value[:20])
        # Bytes that are not UTF-8 at all (a lone surrogate as a client sends it).
        raw = client.post(
            path,
            data=b"email=%ED%A0%80%00%FF&password=%C0%AF",
            content_type="application/x-www-form-urlencoded",
        )
        assert raw.status_code < 500, path


def test_fields_the_forms_do_not_have_change_nothing(
    app: Flask, make: Factory, dbs: Session
) -> None:
    mine, other = make.org("Oakfield Primary"), make.org("Elm Tree Academy")
    admin = make.user(mine, role="admin")
    client = app.test_client()
    login(client, admin)
    sent = client.post(
        "/requests/new",
        data={
            "questionnaire": "features",
            "supplier_name": "Mass Assignment Ltd",
            "contact_name": "Sam",
            "contact_email": "sam@mass.example",
            "link_days": "30",
            "organisation_id": str(other.id),
            "status": "accepted",
            "rating": "green",
        },
    )
    assert sent.status_code == 302
    dbs.rollback()
    row = dbs.scalars(select(Request).where(Request.contact_email == "sam@mass.example")).one()
    assert (row.organisation_id, row.status, row.rating) == (mine.id, "sent", None)

    supplier = app.test_client()
    answering, link = make.request(admin, "features", supplier_name="Autosave Ltd")
    supplier.get(link)
    reference = answering.reference
    saved = supplier.post(
        f"/respond/{reference}/sections/main/autosave",
        json={"answers": {"certificate": "plus", "status": "submitted"}, "status": "submitted"},
    )
    assert saved.status_code == 200
    dbs.rollback()
    assert dbs.scalars(select(Request.status).where(Request.reference == reference)).one() == (
        "in_progress"
    )


def test_nul_bytes_and_lone_surrogates_are_cleaned_not_stored(
    app: Flask, make: Factory, dbs: Session
) -> None:
    from .test_api import NEW_REQUEST, bearer, make_key

    school = make.org()
    key = bearer(make_key(app, school))
    client = app.test_client()
    # JSON carries a lone surrogate as an escape; PostgreSQL refuses NUL in text.
    created = client.post(
        "/api/v1/requests",
        json={**NEW_REQUEST, "supplier_name": "Nul\x00Byte \ud800Ltd"},
        headers=key,
    )
    assert created.status_code == 201, created.json
    assert created.json["supplier"] == "NulByte \ufffdLtd"
    dbs.rollback()
    row = dbs.scalars(select(Request).where(Request.reference == created.json["reference"])).one()
    assert row.supplier.name == "NulByte \ufffdLtd"
    assert client.get("/api/v1/requests/DD-%00", headers=key).status_code == 404


def test_ids_too_large_for_the_database_are_not_found(app: Flask, make: Factory) -> None:
    """PostgreSQL integers stop at 2,147,483,647: a larger id can name nothing
    (Schemathesis found /api/v1/directory/7934882300075 answering 500)."""
    from .test_api import bearer, make_key

    admin = make.user(make.org(), role="admin")
    client = app.test_client()
    login(client, admin)
    huge = 7934882300075
    assert client.get(f"/requests/{huge}").status_code == 404
    assert client.get(f"/directory/{huge}").status_code == 404
    assert client.get(f"/audit?before={huge}").status_code == 200
    key = bearer(make_key(app, make.org()))
    assert app.test_client().get(f"/api/v1/directory/{huge}", headers=key).status_code == 404
    import base64

    cursor = base64.urlsafe_b64encode(str(huge).encode()).decode()
    assert (
        app.test_client().get(f"/api/v1/requests?cursor={cursor}", headers=key).status_code == 400
    )


# Issue 20, finding 7: the input that gave server errors, as a property over
# every route, anonymous, as an admin and as a supplier.
DEEP_JSON = "[" * 50_000 + "]" * 50_000
HUGE = st.sampled_from(["9" * 30, "9" * 400, "-" + "9" * 25, "1e400", str(2**63), str(2**31)])
CRLF = st.sampled_from(["/\r\nSet-Cookie: x=1", "a\r\nb", "\n", "/\\evil.example", "%0d%0a"])
HOSTILE_QUERY = st.dictionaries(st.sampled_from(FIELDS), st.one_of(HUGE, CRLF), max_size=5)
HOSTILE_FORM = st.dictionaries(st.sampled_from(FIELDS), HUGE, max_size=5)


def backslash_multipart(name: str) -> bytes:
    return (
        f'--b\r\nContent-Disposition: form-data; name="{name}\\"\r\n\r\nx\r\n--b--\r\n'
    ).encode()


def hostile_one(client: FlaskClient, rule: Rule, path: str, method: str) -> None:
    @given(
        query=HOSTILE_QUERY,
        form=HOSTILE_FORM,
        kind=st.sampled_from(["query", "form", "deep", "multipart"]),
    )
    @settings(max_examples=4, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def call(query: dict[str, str], form: dict[str, str], kind: str) -> None:
        if method == "GET" or kind == "query":
            response = client.open(path, method=method, query_string=query)
        elif kind == "deep":
            response = client.open(path, method=method, data=DEEP_JSON,
                                   content_type="application/json")  # fmt: skip
        elif kind == "multipart":
            response = client.open(path, method=method, data=backslash_multipart("email"),
                                   content_type="multipart/form-data; boundary=b")  # fmt: skip
        elif is_json_route(rule):
            response = client.open(path, method=method, json={k: int(v) if v.lstrip("-").isdigit() else v for k, v in form.items()})  # fmt: skip
        else:
            response = client.open(path, method=method, data=form)
        assert response.status_code < 500, f"{method} {path} ({kind}): {response.status_code}"

    call()


def test_hostile_input_of_the_penetration_test_makes_no_server_error(
    app: Flask, world: dict[str, Any]
) -> None:
    staff = app.test_client()
    login(staff, world["admin"])
    supplier = app.test_client()
    assert supplier.get(world["link"]).status_code == 303
    anonymous = app.test_client()
    checked = 0
    for rule in rules(app):
        if rule.endpoint in SKIP:
            continue
        path = fill(rule, world["values"])
        clients = [anonymous, supplier if rule.endpoint.startswith("supplier.") else staff]
        for client in clients:
            for method in methods(rule):
                hostile_one(client, rule, path, method)
        checked += 1
    assert checked > 70


def test_each_hostile_input_gets_a_clear_answer(
    app: Flask, make: Factory, world: dict[str, Any]
) -> None:
    anonymous = app.test_client()
    for path in ("/login", "/forgot-password"):  # no account needed
        broken = anonymous.post(path, data=backslash_multipart("email"),
                                content_type="multipart/form-data; boundary=b")  # fmt: skip
        assert broken.status_code == 400
        assert "one of its fields has no usable name" in broken.get_data(as_text=True)
    signed_in = anonymous.post(
        "/login?next=/requests%0d%0aSet-Cookie:%20x=1",
        data={"email": world["admin"].email, "password": PASSWORD},
    )
    assert signed_in.status_code == 302
    assert signed_in.location == "/"
    staff = app.test_client()
    login(staff, world["admin"])
    assert staff.get("/compare?request=" + "9" * 30).status_code == 200
    deep = staff.post("/api/v1/requests", data=DEEP_JSON, content_type="application/json")
    assert deep.status_code == 400
    assert "nested too deeply" in deep.json["detail"]
    huge = staff.post(
        "/requests/new",
        data={"questionnaire": "features", "supplier_name": "A", "contact_name": "B",
              "contact_email": "b@x.example", "link_days": "9" * 30},
    )  # fmt: skip
    assert huge.status_code == 200
    assert "Enter a number of days" in huge.get_data(as_text=True)
