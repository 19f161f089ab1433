"""Security headers on every response: each route in app.url_map, errors and
static files; a policy with no inline script or style."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .factories import Factory, login
from .test_access_matrix import fill, methods, rules

VALUES = {
    "request_id": 1, "evidence_id": 1, "question_id": "q", "key": "features", "version": 1,
    "file_format": "xlsx", "entry_id": 1, "section_id": "main", "action": "publish",
    "key_id": 1, "user_id": 1, "reference": "DD-AAAAAA", "token": "t", "filename": "init.js",
    "file_id": 1, "slug": "dfe-it-support-standard-4", "supplier_id": 1, "share_id": 1, "dpia_id": 1,
    "invitation_id": 1, "answer": "accept", "upload_id": 1, "colleague_id": 1,
    "provider": "microsoft", "link_id": 1, "change": "remove", "join_id": 1, "decision": "approve",
}  # fmt: skip
POLICY = (
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "style-src 'self'",
)


def assert_secure(response: object, where: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    policy = headers.get("Content-Security-Policy", "")
    for part in POLICY:
        assert part in policy, f"{where}: {part} missing from {policy!r}"
    assert "unsafe-inline" not in policy, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    # Supplier pages are stricter still (no-referrer).
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), where
    assert headers.get("X-Frame-Options") == "DENY", where


def test_every_route_sends_the_security_headers(app: Flask, client: FlaskClient) -> None:
    checked = 0
    for rule in rules(app):
        path = fill(rule, VALUES)
        for method in methods(rule):
            response = client.open(path, method=method)
            assert_secure(response, f"{method} {path} ({response.status_code})")
            checked += 1
    assert checked > 80
    assert_secure(client.get("/no/such/page"), "404")
    assert_secure(client.delete("/login"), "405")
    assert_secure(client.get("/api/v1/nothing"), "API 404")
    assert "Strict-Transport-Security" not in client.get("/login").headers  # not over plain http


def test_a_server_error_has_them_too(app: Flask) -> None:
    def broken() -> str:
        raise RuntimeError("deliberately broken")

    app.add_url_rule("/broken-for-test", view_func=broken)
    response = app.test_client().get("/broken-for-test")
    assert response.status_code == 500
    assert_secure(response, "500")


def test_pages_have_no_inline_script_or_style_but_the_templates_nonced_one(
    client: FlaskClient, make: Factory
) -> None:
    pages = [client.get("/login")]
    login(client, make.user(role="admin"))
    pages += [client.get(p) for p in ("/", "/requests/new", "/users", "/api-keys", "/directory/")]
    for response in pages:
        assert response.status_code == 200
        path = response.request.path
        html = response.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
        assert inline, path  # the page template's one
        assert nonce and all(f'nonce="{nonce.group(1)}"' in attrs for attrs in inline), path
        assert "<style" not in html and " style=" not in html, path
        assert not re.search(r"\son[a-z]+=", html), f"{path}: an inline event handler"


@pytest.mark.config(
    PORTAL_ENV="production",
    SECRET_KEY="production-secret-key-of-at-least-32-characters",
    PORTAL_BASE_URL="https://portal.test",  # the host the test client uses
)
def test_production_adds_hsts(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert_secure(response, "production")


def test_each_page_gets_its_own_nonce(client: FlaskClient) -> None:
    first = client.get("/login").headers["Content-Security-Policy"]
    second = client.get("/login").headers["Content-Security-Policy"]
    assert "'nonce-" in first and first != second
