"""Error pages: in the layout for people, JSON under /api/, and a 500 that
rolls back and logs no secrets."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Supplier

from .factories import Factory, login


def test_404_page_is_in_the_layout(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "Page not found" in text
    assert "Due Diligence Portal" in text
    assert "govuk-header" in text


def test_api_errors_are_problem_details(client: FlaskClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"  # RFC 9457
    assert response.json == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "There is nothing here, or it belongs to another organisation",
    }
    wrong_method = client.post("/api/v1/health")
    assert wrong_method.status_code == 405
    assert wrong_method.json["status"] == 405
    assert (
        wrong_method.headers["Allow"] == "GET, HEAD, OPTIONS"
        or "GET" in wrong_method.headers["Allow"]
    )


def test_health_check(client: FlaskClient) -> None:
    assert client.get("/api/v1/health").json == {
        "status": "ok",
        "database": "ok",
        "rate_limit_store": "off",  # the tests switch limits off
    }


def test_405_page(client: FlaskClient) -> None:
    response = client.delete("/login")
    assert response.status_code == 405
    assert "that action is not possible here" in response.get_data(as_text=True)


def test_403_page_for_a_role_that_may_not(client: FlaskClient, make: Factory) -> None:
    login(client, make.user(role="viewer"))
    response = client.get("/requests/new")
    assert response.status_code == 403
    assert "Ask an administrator of your organisation" in response.get_data(as_text=True)


def test_413_page_when_a_body_is_too_large(app: Flask, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/login", data={"email": "x" * 5000, "password": "y"})
    assert response.status_code == 413
    assert "The file is too large" in response.get_data(as_text=True)


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_429_when_a_token_link_is_hammered(client: FlaskClient) -> None:
    statuses = [client.get("/respond/link/guessing-a-token").status_code for _ in range(61)]
    assert statuses[:60] == [404] * 60
    assert statuses[60] == 429
    refused = client.get("/respond/link/yet-another-guess")
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many attempts" in client.get("/respond/link/another-guess").get_data(as_text=True)


@pytest.mark.config(RATELIMIT_ENABLED=True)
def test_sign_in_is_rate_limited_per_address(client: FlaskClient) -> None:
    statuses = [
        client.post("/login", data={"email": f"a{i}@x.example", "password": "p"}).status_code
        for i in range(21)
    ]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429


def test_500_rolls_back_and_logs_without_secrets(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture, dbs: Session
) -> None:
    token = "SeCrEtToKeN-abcdefghijklmnop"

    def boom(token: str) -> str:
        db.session.add(Supplier(name="Half-made supplier"))
        db.session.flush()
        raise RuntimeError("something broke")

    app.add_url_rule("/respond/link/<token>/boom", "boom", boom, methods=["POST"])
    with caplog.at_level(logging.ERROR):
        response = client.post(f"/respond/link/{token}/boom", data={"password": "hunter2-secret"})
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.get_data(as_text=True)
    assert dbs.scalar(select(Supplier)) is None  # rolled back
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Unhandled error on POST /respond/link/[redacted]/boom" in logged
    assert "RuntimeError" in caplog.text
    assert token not in caplog.text
    assert "hunter2-secret" not in caplog.text


def test_redaction_of_tokens_and_passwords() -> None:
    from portal.redaction import redact

    assert (
        redact('"GET /respond/link/abc123-XYZ_ HTTP/1.1" 302')
        == '"GET /respond/link/[redacted] HTTP/1.1" 302'
    )
    assert redact("/invitation/tok?x=1") == "/invitation/[redacted]?x=1"
    assert redact("password=hunter2&email=a") == "password=[redacted]&email=a"
