"""Staff sessions: a new one at sign-in, ended everywhere by sign-out or a
password change, after 30 minutes idle and 12 hours in all; no remember-me;
cookies that scripts and other sites cannot use."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .factories import PASSWORD, Factory, login


def reset_path(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/reset-password/[A-Za-z0-9_\-]+)", body)
    assert match, body
    return match.group(1)


def shift(client: FlaskClient, **seconds_ago: int) -> None:
    """Pretend the session's clock marks happened ``seconds_ago``."""
    with client.session_transaction() as session:
        for key, ago in seconds_ago.items():
            session[key] = int(time.time()) - ago


def test_signing_in_starts_a_new_session_without_remember_me(
    client: FlaskClient, make: Factory
) -> None:
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["sid"] = "fixed-id"
    user = make.user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["sid"] != "fixed-id"
    cookies = response.headers.getlist("Set-Cookie")
    assert not any(c.startswith("remember_token") for c in cookies)
    (cookie,) = [c for c in cookies if c.startswith("session=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires" not in cookie  # gone when the browser closes


def test_idle_for_30_minutes_ends_the_session(client: FlaskClient, make: Factory) -> None:
    login(client, make.user())
    shift(client, seen_at=29 * 60)
    assert client.get("/").status_code == 200  # still in, and the clock restarts
    shift(client, seen_at=31 * 60)
    response = client.get("/", follow_redirects=True)
    assert "signed out after 30 minutes without activity" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_twelve_hours_in_all_ends_the_session_even_when_busy(
    client: FlaskClient, make: Factory
) -> None:
    login(client, make.user())
    shift(client, auth_at=12 * 3600 + 60, seen_at=10)
    response = client.get("/requests/new", follow_redirects=True)
    assert "signed out after 12 hours" in response.get_data(as_text=True)


def test_signing_out_ends_the_users_other_sessions(app: Flask, make: Factory) -> None:
    user = make.user()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user)
    login(phone, user)
    assert phone.get("/").status_code == 200
    laptop.post("/logout")
    assert laptop.get("/").status_code == 302
    ended = phone.get("/", follow_redirects=True).get_data(as_text=True)
    assert "You were signed out because you signed out or changed your password elsewhere" in ended
    login(phone, user)  # signing in again works
    assert phone.get("/").status_code == 200


def test_a_password_reset_ends_every_other_session(
    app: Flask, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    user = make.user()
    stolen = app.test_client()
    login(stolen, user)
    owner = app.test_client()
    owner.post("/forgot-password", data={"email": user.email})
    reset = reset_path(sent_mail[-1]["body"])
    owner.post(
        reset,
        data={"password": "a-brand-new-passphrase-42", "confirm": "a-brand-new-passphrase-42"},
    )
    assert owner.get("/").status_code == 200  # the owner is in, on a new session
    assert stolen.get("/").status_code == 302  # the other session is over
    again = app.test_client()
    assert again.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 200


def test_a_forged_session_without_the_markers_is_refused(
    client: FlaskClient, make: Factory
) -> None:
    user = make.user()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert client.get("/").status_code == 302


@pytest.mark.config(
    PORTAL_ENV="production",
    SECRET_KEY="production-secret-key-of-at-least-32-characters",
    PORTAL_BASE_URL="https://portal.test",  # the host the test client uses
)
def test_production_cookies_are_host_only_and_secure(app: Flask, make: Factory) -> None:
    client = app.test_client()
    user = make.user()
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        base_url="https://portal.test",
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/" in cookie and "Domain" not in cookie


def test_passwords_are_stored_as_scrypt_hashes(app: Flask, make: Factory) -> None:
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User

    user = make.user()
    with app.app_context():
        stored = db.session.scalars(select(User.password_hash).where(User.id == user.id)).one()
    assert stored is not None and stored.startswith("scrypt:")
    assert PASSWORD not in stored


def test_removing_someone_ends_their_sessions_and_disables_the_account(
    app: Flask, make: Factory
) -> None:
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import AuditEvent, User

    school = make.org()
    admin, leaver = make.user(school, role="admin"), make.user(school)
    theirs = app.test_client()
    login(theirs, leaver)
    boss = app.test_client()
    login(boss, admin)
    assert "cannot remove yourself" in boss.post(
        f"/users/{admin.id}/remove", follow_redirects=True
    ).get_data(as_text=True)
    done = boss.post(f"/users/{leaver.id}/remove", follow_redirects=True)
    assert "signed out everywhere" in done.get_data(as_text=True)
    assert theirs.get("/").status_code == 302  # their session is over at once
    again = app.test_client()
    refused = again.post("/login", data={"email": leaver.email, "password": PASSWORD})
    assert refused.status_code == 200  # the account is disabled
    with app.app_context():
        assert db.session.get(User, leaver.id).is_active is False
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "member_removed")
        ).one()
        assert event.detail["disabled"] is True


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    app: Flask, make: Factory
) -> None:
    user = make.user()
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user)
    login(elsewhere, user)
    wrong = here.post(
        "/account/password",
        data={"current": "not it", "password": "x", "confirm": "y"},
    ).get_data(as_text=True)
    assert "The passwords do not match" in wrong
    wrong = here.post(
        "/account/password",
        data={
            "current": "not it",
            "password": "fresh-quiet-harbour-77",
            "confirm": "fresh-quiet-harbour-77",
        },
    ).get_data(as_text=True)
    assert "Your current password is not right" in wrong
    done = here.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "password": "fresh-quiet-harbour-77",
            "confirm": "fresh-quiet-harbour-77",
        },
        follow_redirects=True,
    )
    assert "signed out everywhere else" in done.get_data(as_text=True)
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    other = app.test_client()
    assert other.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 200
