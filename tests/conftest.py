"""Fixtures: a fresh app and an empty database for every test.

The schema is created once per run; each test starts from empty tables. Set
TEST_DATABASE_URL to run against PostgreSQL (``make test`` does).

pytest-flask gives the ``client`` (of our ``app``, opened as a ServedClient)
and JSON-aware responses; ``@pytest.mark.config`` and ``real_server`` below
say why its ``options`` marker and ``live_server`` are not used.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, MetaData, event, text
from sqlalchemy.orm import Session
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from portal import create_app
from portal.cli import upgrade_database
from portal.database import make_engine
from portal.extensions import db
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
        # TEST_EVIDENCE_STORE=database runs the suite with the files in the database.
        "EVIDENCE_STORE": os.environ.get("TEST_EVIDENCE_STORE", "folder"),
        # Small, stable definitions for the tests of the web flow; the shipped
        # questionnaires have tests of their own (test_shipped_questionnaires.py).
        "QUESTIONNAIRE_FOLDER": str(TEST_QUESTIONNAIRES),
        **overrides,
    }


class ServedClient(FlaskClient):
    """A test client that serves each request as a WSGI server does.

    The body is read and the response closed, which runs its close hooks (the
    email a request queued is sent then, after the reply). And nothing of a
    request outlives it: pytest-flask's ``client`` fixture opens the client
    with ``with``, which in Flask keeps the last request's context pushed
    until the next one, and any other request meanwhile (another client's, a
    factory's) would join that app context and its ``g``: an anonymous second
    client was served the first one's signed-in pages (tests/test_fixtures.py).
    So ``with`` here only scopes the client."""

    def open(self, *args: Any, buffered: bool = True, **kwargs: Any) -> TestResponse:
        return super().open(*args, buffered=buffered, **kwargs)

    def __enter__(self) -> ServedClient:
        return self


@pytest.fixture
def app(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The app; ``@pytest.mark.config(NAME=value)`` sets its configuration
    before it is built (``NAME=function``: the function's value for the
    test's tmp_path). (pytest-flask's ``options`` marker sets app.config
    after: too late for what create_app reads, such as RATELIMIT_ENABLED,
    QUESTIONNAIRE_FOLDER and the PORTAL_ENV=production checks.)"""
    overrides: dict[str, object] = {}
    for marker in request.node.iter_markers("config"):
        # A callable value is called with the test's own folder: a setting
        # that needs files made for the test (a questionnaires folder).
        overrides.update(
            {name: value(tmp_path) if callable(value) else value
             for name, value in marker.kwargs.items()}
        )  # fmt: skip
    with built_app(database_url, tmp_path, **overrides) as built:
        yield built


@contextmanager
def built_app(database_url: str, tmp_path: Path, **overrides: object) -> Iterator[Flask]:
    """An app on the test database, whose tables are emptied after it."""
    app = create_app(app_config(database_url, tmp_path, **overrides))
    app.test_client_class = ServedClient  # pytest-flask's ``client`` is one
    yield app

    engine = app.extensions["portal_db"].engine_for(app)
    empty_tables(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def idps() -> Iterator[dict[str, Any]]:
    """Real OpenID Connect providers on loopback (tests/oidc_provider.py, built
    on Authlib's authorization server), one per kind the portal knows:
    Microsoft's (with Entra's multi-tenant issuer), Google's and another's."""
    from .oidc_provider import OidcTestProvider

    started = {
        "microsoft": OidcTestProvider(tenant_issuer=True).start(),
        "google": OidcTestProvider().start(),
        "oidc": OidcTestProvider().start(),
    }
    yield started
    for provider in started.values():
        provider.stop()


def sso_settings(idps: dict[str, Any]) -> dict[str, object]:
    """The portal's configuration for the providers of ``idps``."""
    return {
        "SSO_MICROSOFT_CLIENT_ID": "portal-microsoft",
        "SSO_MICROSOFT_CLIENT_SECRET": "microsoft-secret",
        "SSO_MICROSOFT_METADATA_URL": idps["microsoft"].metadata_url,
        "SSO_GOOGLE_CLIENT_ID": "portal-google",
        "SSO_GOOGLE_CLIENT_SECRET": "google-secret",
        "SSO_GOOGLE_METADATA_URL": idps["google"].metadata_url,
        "SSO_OIDC_NAME": "Northwind ID",
        "SSO_OIDC_ISSUER": idps["oidc"].base,
        "SSO_OIDC_CLIENT_ID": "portal-oidc",
        "SSO_OIDC_CLIENT_SECRET": "oidc-secret",
    }


def register_portal(idps: dict[str, Any], base_url: str) -> None:
    """Register the portal at each provider, with its callback on ``base_url``."""
    for key, provider in idps.items():
        provider.add_client(
            f"portal-{key}", f"{key}-secret", [f"{base_url}/login/sso/{key}/callback"]
        )


@pytest.fixture
def sso_app(database_url: str, tmp_path: Path, idps: dict[str, Any]) -> Iterator[Flask]:
    """The app with single sign-on through the test providers."""
    with built_app(database_url, tmp_path, **sso_settings(idps)) as built:
        register_portal(idps, "http://portal.test")
        yield built


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Replaces pytest-flask's autouse fixture of this name, which pushes one
    test request context for the whole test. Flask lets every request context
    pushed under it join its app context, so the client's requests and each
    context the test opens (the factories' ``test_request_context()``, a
    test's own) would share one ``g``: the user flask-login caches there, the membership permissions.py
    caches, the database session, the emails queued; and CLI commands run
    through ``app.test_cli_runner()`` would use it instead of an app context
    of their own, as ``flask <command>`` does. No two real requests or
    commands share a ``g``, so a test opens the contexts it needs
    (``with app.app_context()``) and none is pushed for it."""


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


@contextmanager
def real_server(app: Flask) -> Iterator[str]:
    """The app behind a real threaded server in this process; yields its base
    URL. Without SERVER_NAME, as in production (Flask would answer 404 to a
    request for 127.0.0.1).

    Not pytest-flask's ``live_server``: that forks a process, where caplog
    cannot see the server's log lines and the database connections the
    parent pooled would be shared; it sets SERVER_NAME (ours, or
    localhost.localdomain, with its port); and it lives for the session,
    while our app is built per test."""
    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app sends to the database, in order: a page's
    cost must not grow with rows it does not show (tests count them at two
    data sizes)."""
    seen: list[str] = []
    engine = db.engine_for(app)

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)
