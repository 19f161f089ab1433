"""Configuration: defaults, instance file, environment, and production refusals."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from flask import Flask

from portal.config import ConfigurationError, load_config


def bare_app(instance: Path) -> Flask:
    return Flask("portal_config_test", instance_path=str(instance), instance_relative_config=True)


def test_secret_key_is_generated_once_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    first = bare_app(tmp_path)
    load_config(first, None)
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    second = bare_app(tmp_path)
    load_config(second, None)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'portal.sqlite3'}"


def test_environment_overrides_instance_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.py").write_text(
        'PORTAL_BASE_URL = "https://from-file.example"\nLINK_LIFETIME_DAYS = 10\n'
    )
    monkeypatch.setenv("PORTAL_BASE_URL", "https://from-env.example/")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.sqlite3")
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    app = bare_app(tmp_path)
    load_config(app, None)
    assert app.config["PORTAL_BASE_URL"] == "https://from-env.example"
    assert app.config["LINK_LIFETIME_DAYS"] == 10
    assert app.config["DATABASE_URL"] == "sqlite:///elsewhere.sqlite3"


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"PORTAL_BASE_URL": "https://portal.example"}, "SECRET_KEY"),
        ({"SECRET_KEY": "k" * 40}, "PORTAL_BASE_URL"),
    ],
)
def test_production_refuses_to_start_without_explicit_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], missing: str
) -> None:
    for name in ("SECRET_KEY", "PORTAL_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_ENV", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=missing):
        load_config(bare_app(tmp_path), None)
    assert not (tmp_path / "secret_key").exists()


def test_production_sets_secure_cookies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.example")
    app = bare_app(tmp_path)
    load_config(app, None)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_security_headers(client: object) -> None:
    from flask.testing import FlaskClient

    assert isinstance(client, FlaskClient)
    headers = client.get("/login").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
