"""The OpenAPI document tells the truth: every route is in it, every operation
in it exists, and Schemathesis finds no server error and no response that
differs from it."""

from __future__ import annotations

import re

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from wtforms.validators import InputRequired, Length

from portal.extensions import db
from portal.services.accounts import api_keys
from portal.views.api.openapi import document
from portal.views.forms import DecisionForm, DeclarationForm, NewRequestForm, ReviewFindingForm

from .factories import Factory

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def documented(app: Flask) -> set[tuple[str, str]]:
    document = app.test_client().get("/api/v1/openapi.json").json
    return {
        (method.upper(), "/api/v1" + path)
        for path, operations in document["paths"].items()
        for method in operations
    }


def routed(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - IGNORED_METHODS:
            found.add((method, path))
    return found


def test_every_route_is_documented_and_every_operation_exists(app: Flask) -> None:
    assert routed(app) - documented(app) == set(), "routes missing from openapi.json"
    assert documented(app) - routed(app) == set(), "documented operations with no route"


def test_the_document_is_openapi_3_1_with_unique_operation_ids(app: Flask) -> None:
    document = app.test_client().get("/api/v1/openapi.json").json
    assert document["openapi"] == "3.1.0"
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    # Every operation says what its errors look like.
    for ops in document["paths"].values():
        for op in ops.values():
            problems = [code for code in op["responses"] if code.startswith(("4", "5"))]
            assert problems, op["operationId"]


@pytest.mark.parametrize(
    ("component", "form_class"),
    [
        ("NewRequest", NewRequestForm),
        ("DecisionBody", DecisionForm),
        ("ReviewBody", ReviewFindingForm),
        ("Declaration", DeclarationForm),
    ],
)
def test_a_body_in_the_document_has_its_forms_limits(
    app: Flask, component: str, form_class: type[FlaskForm]
) -> None:
    """The API checks bodies with the pages' forms; the document reads its
    maxLength and required from the same forms, so the two cannot drift."""
    schema = document()["components"]["schemas"][component]
    with app.test_request_context():
        form = form_class(meta={"csrf": False})
    limits = {
        field.name: check.max
        for field in form
        for check in field.validators
        if isinstance(check, Length)
    }
    # conditions: the API also takes a list, which it joins into the form's text.
    limits.pop("conditions", None)
    assert limits, component
    for name, most in limits.items():
        assert schema["properties"][name]["maxLength"] == most, name
    required = {
        field.name for field in form if any(isinstance(c, InputRequired) for c in field.validators)
    }
    assert set(schema["required"]) == required


@pytest.fixture
def credentials(app: Flask, make: Factory) -> dict[str, str]:
    """A write key and a live supplier link of the same school, with a submitted
    request; the school is in a trust, whose read key calls the trust's operations."""
    trust = make.org(kind="trust")
    school = make.org(trust=trust)
    # The DPO service (the curator organisation), whose key calls its operations.
    curator = make.org("Fuzz DPO Service", kind="curator")
    author = make.user(school)
    make.submitted(author, "features")
    # Evidence that has run out and runs out soon, for /evidence/expiring to list.
    make.submitted(author, "expiring", answers={"ce_expiry": "2020-01-01", "insured": "yes"})
    _, link = make.request(author, "features")
    with app.app_context():
        new = api_keys.create_api_key(db.session, db.session.merge(school), None, "Fuzz", "write")
        trusts = api_keys.create_api_key(db.session, db.session.merge(trust), None, "Fuzz", "read")
        curators = api_keys.create_api_key(
            db.session, db.session.merge(curator), None, "Fuzz", "write"
        )
        db.session.commit()
    return {
        "key": new.secret,
        "token": link.rsplit("/", 1)[1],
        "trust": trusts.secret,
        "curator": curators.secret,
    }


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
OPERATIONS = [
    f"{method.upper()} {path}" for path, ops in document()["paths"].items() for method in ops
]


@pytest.mark.parametrize("label", OPERATIONS)
def test_the_api_answers_as_its_document_says(
    app: Flask, credentials: dict[str, str], label: str
) -> None:
    """Schemathesis generates calls from the document (valid and not) and checks
    each response: no 5xx, and status, content type, headers and body as documented."""
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).find_operation_by_label(
        label
    )
    assert operation is not None, label
    secret = credentials[
        "token" if " /supplier" in label
        else "trust" if " /trust/" in label
        else "curator" if " /dpo/" in label or " /curator/" in label
        else "key"
    ]  # fmt: skip

    @given(case=operation.as_strategy())
    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples on every run: CI stays repeatable
        suppress_health_check=list(HealthCheck),
    )
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {secret}", "Host": "portal.test"}, checks=CHECKS
        )

    call()


def test_a_read_key_writes_nothing_through_any_operation(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    """Every operation the document lists that changes something answers a
    read key 403, before it looks anything up (so whatever the ids)."""
    school = make.org()
    with app.app_context():
        key = api_keys.create_api_key(db.session, db.session.merge(school), None, "Read", "read")
        db.session.commit()
        secret = key.secret
    values = {"reference": "DD-AAAAAA", "question_id": "q", "dpia_id": 1, "share_id": 1,
              "supplier_id": 1, "entry_id": 1, "request_id": 1, "slug": "s", "key": "k",
              "version": 1, "file_id": 1}  # fmt: skip
    checked = 0
    for path, ops in document()["paths"].items():
        for method, op in ops.items():
            if method == "get" or "apiKey" not in str(op.get("security")):
                continue
            url = "/api/v1" + re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), path)
            response = client.open(
                url, method=method.upper(), json={}, headers={"Authorization": f"Bearer {secret}"}
            )
            assert response.status_code == 403, f"{method.upper()} {path}: {response.status_code}"
            checked += 1
    assert checked >= 30
