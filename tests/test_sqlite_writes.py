"""On SQLite every transaction that writes begins IMMEDIATE.

A deferred transaction that reads and then writes fails at once with
"database is locked" when another worker wrote in between, whatever the busy
timeout: `make loadtest` found that happening to the email a request queues,
delivered in a second transaction after the request's commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from portal.extensions import db

from .factories import Factory, login


@pytest.fixture
def begins(app: Flask) -> Iterator[list[str]]:
    engine = db.engine_for(app)
    if engine.dialect.name != "sqlite":
        pytest.skip("BEGIN IMMEDIATE is SQLite's; PostgreSQL locks rows instead")
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_request_that_sends_email_writes_twice_and_begins_immediate_both_times(
    client: FlaskClient, make: Factory, begins: list[str]
) -> None:
    login(client, make.user(role="admin"))
    begins.clear()
    response = client.post(
        "/users", data={"name": "New Person", "email": "new@school.example", "role": "viewer"}
    )
    assert response.status_code == 302
    # The request's own transaction; after the response, the invitation it
    # queued is claimed by a short writer (an outbox worker must not send it
    # too), sent with no transaction open, and its outcome recorded by another.
    assert begins == ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]


def test_an_audited_download_begins_immediate(
    client: FlaskClient, make: Factory, begins: list[str]
) -> None:
    user = make.user(role="admin")
    login(client, user)
    begins.clear()
    assert client.get("/register.csv").status_code == 200
    assert begins and set(begins) == {"BEGIN IMMEDIATE"}
    begins.clear()
    assert client.get("/").status_code == 200  # a plain page only reads
    assert set(begins) == {"BEGIN"}
