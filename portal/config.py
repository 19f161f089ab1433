"""Configuration: defaults, then ``instance/config.py``, then the environment.

Only names listed in :data:`ENVIRONMENT` are read from the environment, so a
stray variable on a server cannot change behaviour unnoticed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

# The project's folder (templates, questionnaires, migrations, instance).
ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """The app must not start with this configuration."""


LOCAL_BASE_URL = "http://127.0.0.1:5000"

DEFAULTS: dict[str, Any] = {
    "PORTAL_ENV": "development",
    "PORTAL_SMTP_URL": "",
    "PORTAL_MAIL_FROM": "Due Diligence Portal <no-reply@portal.invalid>",
    "DATABASE_URL": "",
    # Supplier links live 30 days unless the request says otherwise.
    "LINK_LIFETIME_DAYS": 30,
    "INVITATION_LIFETIME_HOURS": 72,
    "RESET_LIFETIME_HOURS": 1,
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_FAILURE_WINDOW_MINUTES": 15,
    "LOGIN_LOCK_MINUTES": 15,
    # Room for a section's evidence files (a question allows up to max_files x max_size_mb).
    "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "TOKEN_RATE_LIMIT": "60 per minute",
    "LOGIN_RATE_LIMIT": "20 per minute",
    # Workbook and CSV downloads per person (all export routes together).
    "EXPORT_RATE_LIMIT": "60 per minute",
    # Per API key (or link token): a trust sending dozens of requests stays well inside.
    "API_RATE_LIMIT": "300 per minute",
    "SESSION_COOKIE_HTTPONLY": True,
    # Staff sessions end after this long idle, and this long in all.
    "STAFF_IDLE_MINUTES": 30,
    "STAFF_SESSION_HOURS": 12,
    # Never "remember me": a shared school computer must not stay signed in.
    "REMEMBER_COOKIE_DURATION": 0,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    "UPLOAD_FOLDER": "",
    # Remind suppliers this many days before the due date, then every N days once overdue.
    "REMINDER_DAYS_BEFORE": (7, 2),
    "REMINDER_OVERDUE_EVERY_DAYS": 7,
    # Closed requests and their files are purged this many years after closing.
    "RETENTION_YEARS": 6,
    # All the evidence one request may hold.
    "EVIDENCE_REQUEST_LIMIT_MB": 100,
    # Who sends an email a request queued: the request itself once its response
    # has gone ("after_response": one server, no worker), or the outbox worker,
    # `send-emails --watch` ("worker": several servers). Either claims it first.
    "EMAIL_DELIVERY": "after_response",
    # Where evidence files live: "folder" (UPLOAD_FOLDER, one server) or
    # "database" (the portal's database, shared by several servers).
    "EVIDENCE_STORE": "folder",
    # Single sign-on (identity/sso.py): a provider is offered once its client id
    # and secret are set. Microsoft's is the multi-tenant "organizations"
    # authority: any school's tenant, which its admin then links.
    "SSO_MICROSOFT_CLIENT_ID": "",
    "SSO_MICROSOFT_CLIENT_SECRET": "",
    "SSO_MICROSOFT_METADATA_URL": (
        "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration"
    ),
    "SSO_GOOGLE_CLIENT_ID": "",
    "SSO_GOOGLE_CLIENT_SECRET": "",
    "SSO_GOOGLE_METADATA_URL": "https://accounts.google.com/.well-known/openid-configuration",
    # Any other OpenID Connect provider: its issuer URL, and the name on the button.
    "SSO_OIDC_NAME": "",
    "SSO_OIDC_ISSUER": "",
    "SSO_OIDC_CLIENT_ID": "",
    "SSO_OIDC_CLIENT_SECRET": "",
    # Seconds to wait for a provider (discovery, keys, token) before giving up.
    "SSO_TIMEOUT_SECONDS": 10,
}

# Environment variables we read, and how to turn the text into a value.
ENVIRONMENT: dict[str, type] = {
    "DATABASE_URL": str,
    "SECRET_KEY": str,
    "PORTAL_BASE_URL": str,
    "PORTAL_SMTP_URL": str,
    "PORTAL_ENV": str,
    "RATELIMIT_STORAGE_URI": str,
    # The name the README gives it; wins over RATELIMIT_STORAGE_URI when both are set.
    "PORTAL_RATELIMIT_STORAGE_URL": str,
    "UPLOAD_FOLDER": str,
    "QUESTIONNAIRE_FOLDER": str,
    "TOKEN_RATE_LIMIT": str,
    "API_RATE_LIMIT": str,
    "LOGIN_RATE_LIMIT": str,
    "EXPORT_RATE_LIMIT": str,
    "EMAIL_DELIVERY": str,
    "EVIDENCE_STORE": str,
    "SSO_MICROSOFT_CLIENT_ID": str,
    "SSO_MICROSOFT_CLIENT_SECRET": str,
    "SSO_GOOGLE_CLIENT_ID": str,
    "SSO_GOOGLE_CLIENT_SECRET": str,
    "SSO_OIDC_NAME": str,
    "SSO_OIDC_ISSUER": str,
    "SSO_OIDC_CLIENT_ID": str,
    "SSO_OIDC_CLIENT_SECRET": str,
    "SSO_TIMEOUT_SECONDS": int,
}


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill ``app.config`` in order of precedence and check it is safe to run."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        for name, kind in ENVIRONMENT.items():
            if name in os.environ:
                app.config[name] = kind(os.environ[name])
    else:
        app.config.from_mapping(test_config)

    if app.config.get("PORTAL_RATELIMIT_STORAGE_URL"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config["PORTAL_RATELIMIT_STORAGE_URL"]
    instance = Path(app.instance_path)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'portal.sqlite3'}"
    if not app.config["UPLOAD_FOLDER"]:
        app.config["UPLOAD_FOLDER"] = str(instance / "uploads")

    for name, choices in (
        ("EMAIL_DELIVERY", ("after_response", "worker")),
        ("EVIDENCE_STORE", ("folder", "database")),
    ):
        if app.config[name] not in choices:
            raise ConfigurationError(f"{name} must be one of: {', '.join(choices)}.")

    if app.config["PORTAL_ENV"] == "production":
        _check_production(app)
    else:
        app.config.setdefault("PORTAL_BASE_URL", LOCAL_BASE_URL)
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = _local_secret_key(instance)
    app.config["PORTAL_BASE_URL"] = app.config["PORTAL_BASE_URL"].rstrip("/")


def _check_production(app: Flask) -> None:
    missing = [name for name in ("SECRET_KEY", "PORTAL_BASE_URL") if not app.config.get(name)]
    if missing:
        raise ConfigurationError(
            "PORTAL_ENV=production needs " + " and ".join(missing) + " set explicitly."
        )
    if len(app.config["SECRET_KEY"]) < 32:
        raise ConfigurationError("SECRET_KEY must be at least 32 characters in production.")
    base = urlsplit(app.config["PORTAL_BASE_URL"])
    if base.scheme not in ("http", "https") or not base.hostname:
        raise ConfigurationError(
            "PORTAL_BASE_URL must be the address people use, such as https://dd.example.org."
        )
    app.config.update(
        # __Host-: only over HTTPS, for this host alone, for the whole site.
        SESSION_COOKIE_NAME="__Host-session",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        SESSION_COOKIE_SECURE=True,
        REMEMBER_COOKIE_SECURE=True,
        REMEMBER_COOKIE_HTTPONLY=True,
        PREFERRED_URL_SCHEME="https",
    )
    # A request naming another host gets 400: nothing the app says or builds
    # (links in emails are on PORTAL_BASE_URL anyway) ever follows a forged Host.
    if not app.config.get("TRUSTED_HOSTS"):  # Flask's default is None: any host
        app.config["TRUSTED_HOSTS"] = [base.hostname]


def _local_secret_key(instance: Path) -> str:
    """Generate a key once for this installation, readable only by its owner."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
