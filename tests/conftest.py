"""Fixtures: a fresh app and an empty database for every test.

The schema is created once per run; each test starts from empty tables. Set
TEST_DATABASE_URL to run against PostgreSQL (``make test`` does).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, MetaData, text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from portal import create_app
from portal.cli import upgrade_database
from portal.extensions import db, make_engine
from portal.models import Base

from .factories import Factory

ROOT = Path(__file__).resolve().parent.parent
TEST_QUESTIONNAIRES = ROOT / "tests" / "data" / "questionnaires"
SHIPPED_QUESTIONNAIRES = ROOT / "questionnaires"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = (
        os.environ.get("TEST_DATABASE_URL")
        or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    )
    engine = make_engine(url)
    leftover = MetaData()
    leftover.reflect(engine)
    leftover.drop_all(engine)
    engine.dispose()
    # The schema the tests run on is the one the migrations build.
    upgrade_database("head", url)
    return url


def empty_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 (our own table names)


def app_config(database_url: str, tmp_path: Path, **overrides: object) -> dict[str, object]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-of-a-decent-length-0123456789",
        "DATABASE_URL": database_url,
        "PORTAL_BASE_URL": "http://portal.test",
        "PORTAL_SMTP_URL": "memory://",
        "SERVER_NAME": "portal.test",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        # Small, stable definitions for the tests of the web flow; the shipped
        # questionnaires have tests of their own (test_shipped_questionnaires.py).
        "QUESTIONNAIRE_FOLDER": str(TEST_QUESTIONNAIRES),
        **overrides,
    }


class ServedClient(FlaskClient):
    """A test client that finishes each response as a WSGI server does: the
    body is read and the response closed, which runs its close hooks (the
    email a request queued is sent then, after the reply)."""

    def open(self, *args: Any, buffered: bool = True, **kwargs: Any) -> TestResponse:
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def app(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The app; ``@pytest.mark.config(NAME=value)`` overrides its configuration."""
    overrides: dict[str, object] = {}
    for marker in request.node.iter_markers("config"):
        overrides.update(marker.kwargs)
    app = create_app(app_config(database_url, tmp_path, **overrides))
    app.test_client_class = ServedClient
    yield app

    engine = app.extensions["portal_db"].engine_for(app)
    empty_tables(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Replace pytest-flask's fixture of this name: it keeps a request context
    open for the whole test, so every client request would share one ``g`` (the
    signed-in user, the database session) as no real request does."""


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Replace pytest-flask's client, which keeps the last request's context
    open (``with app.test_client()``), for the same reason as above."""
    return app.test_client()


@pytest.fixture
def dbs(app: Flask) -> Iterator[Session]:
    """A session of the test's own, outside any request: it sees what was committed."""
    session = Session(db.engine_for(app))
    yield session
    session.close()


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory(app)


@pytest.fixture
def sent_mail(app: Flask) -> list[dict[str, str]]:
    """Emails delivered during the test, in order."""
    return app.extensions.setdefault("portal_mail_memory", [])
