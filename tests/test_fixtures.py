"""The test client serves requests as a server does: no request shares a
``g`` with another, or with the test (tests/conftest.py says why it must)."""

from __future__ import annotations

from flask import Flask, has_app_context, has_request_context
from flask.testing import FlaskClient

from .factories import Factory, login


def test_no_context_is_pushed_for_the_test_or_left_by_a_request(client: FlaskClient) -> None:
    assert not has_app_context() and not has_request_context()
    assert client.get("/login").status_code == 200
    assert not has_app_context() and not has_request_context()


def test_a_second_client_is_not_signed_in_by_the_first(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    login(client, make.user())
    assert client.get("/").status_code == 200
    anonymous = app.test_client()
    assert anonymous.get("/").status_code == 302  # to sign in, not the first one's page
    assert client.get("/").status_code == 200
