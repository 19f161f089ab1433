"""Sign-in, throttling, invitations and password resets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import User, UserToken, utcnow
from portal.services.accounts import sign_in as signing_in

from .factories import PASSWORD, Factory, login

NEW_PASSWORD = "violet-tunnel-marble-harvest-37"
LOCKED = "Too many failed attempts to sign in with this email address"
WRONG = "Enter a correct email address and password"


def sign_in(client: FlaskClient, email: str, password: str) -> str:
    return client.post("/login", data={"email": email, "password": password}).get_data(as_text=True)


def test_sign_in_and_out(client: FlaskClient, make: Factory) -> None:
    user = make.user(role="admin")
    assert client.get("/").status_code == 302
    response = client.post(
        "/login?next=/users", data={"email": user.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.location == "/users"
    assert "Invite a user" in client.get("/users").get_data(as_text=True)
    response = client.post("/logout")
    assert response.location == "/login"
    assert client.get("/").status_code == 302


def test_sign_in_never_redirects_off_site(client: FlaskClient, make: Factory) -> None:
    user = make.user()
    response = client.post(
        "/login?next=//evil.example/phish", data={"email": user.email, "password": PASSWORD}
    )
    assert response.location == "/"


def test_wrong_password_says_what_to_do_without_revealing_the_account(
    client: FlaskClient, make: Factory
) -> None:
    user = make.user()
    assert WRONG in sign_in(client, user.email, "wrong-password-here")
    assert WRONG in sign_in(client, "nobody@nowhere.example", "wrong-password-here")
    page = sign_in(client, user.email, "wrong-password-here")
    assert f'value="{user.email}"' in page  # what was typed stays
    assert "I have forgotten my password" in page


def test_five_failures_lock_an_account_for_fifteen_minutes(
    client: FlaskClient, make: Factory, app: Flask
) -> None:
    user = make.user()
    for _ in range(5):
        assert WRONG in sign_in(client, user.email, "not-the-password")
    # Locked now, even with the right password, and the message says for how long.
    page = sign_in(client, user.email, PASSWORD)
    assert LOCKED in page
    assert "Try again in 15 minutes, or reset your password" in page
    assert client.get("/").status_code == 302

    # An unregistered email behaves the same, so the lock reveals nothing.
    for _ in range(5):
        sign_in(client, "nobody@nowhere.example", "not-the-password")
    assert LOCKED in sign_in(client, "nobody@nowhere.example", "not-the-password")

    # Fifteen minutes after the last failure the lock is gone.
    with app.app_context():
        later = utcnow() + timedelta(minutes=15, seconds=1)
        assert signing_in.authenticate(db.session, user.email, PASSWORD, now=later).id == user.id
        db.session.rollback()
        with pytest.raises(signing_in.AccountLockedError):
            signing_in.authenticate(
                db.session, user.email, PASSWORD, now=utcnow() + timedelta(minutes=14)
            )


def test_failures_older_than_the_window_do_not_count(app: Flask, make: Factory) -> None:
    user = make.user()
    with app.app_context():
        start = utcnow()
        for minute in range(5):
            with pytest.raises(signing_in.LoginError):
                signing_in.authenticate(
                    db.session, user.email, "nope", now=start + timedelta(minutes=4 * minute)
                )
        # The first failure (16 minutes ago) is outside the 15-minute window.
        assert signing_in.authenticate(
            db.session, user.email, PASSWORD, now=start + timedelta(minutes=16, seconds=30)
        )


def invite(client: FlaskClient, admin: User, email: str, role: str = "reviewer") -> str:
    response = client.post("/users", data={"name": "New Person", "email": email, "role": role})
    assert response.status_code == 302
    return response.location


def link_from(mail: list[dict[str, str]], marker: str) -> str:
    body = mail[-1]["body"]
    url = next(word for word in body.split() if marker in word)
    return url.split("portal.test", 1)[1]


def test_admin_invites_a_user_who_sets_a_password_once(
    client: FlaskClient, make: Factory, sent_mail: list[dict[str, str]], dbs: Session
) -> None:
    admin = make.user(role="admin")
    login(client, admin)
    invite(client, admin, "New.Person@School.example")
    assert "Invitation sent to new.person@school.example" in client.get("/users").get_data(
        as_text=True
    )
    assert sent_mail[-1]["to"] == "new.person@school.example"
    assert "works once, for 72 hours" in sent_mail[-1]["body"]
    link = link_from(sent_mail, "/invitation/")
    invited = dbs.scalar(select(User).where(User.email == "new.person@school.example"))
    assert invited is not None
    assert invited.password_hash is None
    assert invited.memberships == []  # not a member until they accept by setting a password

    guest = client.application.test_client()
    assert "Set your password" in guest.get(link).get_data(as_text=True)
    weak = guest.post(link, data={"password": "password1234", "confirm": "password1234"})
    assert "This password is too common" in weak.get_data(as_text=True)
    short = guest.post(link, data={"password": "short", "confirm": "short"})
    assert "Password must be 12 characters or more" in short.get_data(as_text=True)
    mismatch = guest.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert "The passwords do not match" in mismatch.get_data(as_text=True)

    done = guest.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert "Your password has been set" in guest.get("/").get_data(as_text=True)
    dbs.rollback()
    assert [m.role for m in invited.memberships] == ["reviewer"]

    again = client.application.test_client().get(link)
    assert again.status_code == 410
    assert "This invitation has already been used" in again.get_data(as_text=True)
    fresh_client = client.application.test_client()
    assert (
        fresh_client.post(
            "/login", data={"email": "new.person@school.example", "password": NEW_PASSWORD}
        ).status_code
        == 302
    )


def test_expired_invitation_tells_the_user_who_to_ask(
    client: FlaskClient, make: Factory, sent_mail: list[dict[str, str]], dbs: Session
) -> None:
    login(client, make.user(role="admin"))
    invite(client, make.user(), "late@school.example")
    link = link_from(sent_mail, "/invitation/")
    token = dbs.scalar(select(UserToken))
    assert token is not None
    token.expires_at = utcnow() - timedelta(seconds=1)
    dbs.commit()
    response = client.application.test_client().get(link)
    assert response.status_code == 410
    assert (
        "This invitation has expired. Ask an administrator of your organisation"
        in response.get_data(as_text=True)
    )
    assert client.application.test_client().get("/invitation/made-up").status_code == 404


def test_inviting_an_existing_member_is_refused_with_a_message(
    client: FlaskClient, make: Factory
) -> None:
    admin = make.user(role="admin")
    login(client, admin)
    response = client.post("/users", data={"name": "Me", "email": admin.email, "role": "viewer"})
    assert response.status_code == 200
    assert "is already a member of" in response.get_data(as_text=True)


def test_only_admins_manage_users(client: FlaskClient, make: Factory) -> None:
    login(client, make.user(role="reviewer"))
    assert client.get("/users").status_code == 403


def test_password_reset_works_once_within_an_hour(
    client: FlaskClient, make: Factory, sent_mail: list[dict[str, str]], dbs: Session
) -> None:
    user = make.user()
    unknown = client.post("/forgot-password", data={"email": "nobody@nowhere.example"})
    known = client.post("/forgot-password", data={"email": user.email})
    # The same answer whether or not the email is registered.
    assert "If nobody@nowhere.example has an account" in unknown.get_data(as_text=True)
    assert f"If {user.email} has an account" in known.get_data(as_text=True)
    assert [m["to"] for m in sent_mail] == [user.email]
    link = link_from(sent_mail, "/reset-password/")

    assert (
        client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code
        == 302
    )
    used = client.application.test_client().get(link)
    assert used.status_code == 410
    assert "already been used" in used.get_data(as_text=True)
    assert "Enter a correct email address and password" in sign_in(
        client.application.test_client(), user.email, PASSWORD
    )

    client.post("/forgot-password", data={"email": user.email})
    link = link_from(sent_mail, "/reset-password/")
    token = dbs.scalar(select(UserToken).where(UserToken.used_at.is_(None)))
    assert token is not None
    assert token.expires_at - token.created_at == timedelta(hours=1)
    token.expires_at = utcnow() - timedelta(minutes=1)
    dbs.commit()
    expired = client.application.test_client().get(link)
    assert expired.status_code == 410
    assert "reset links last one hour. Ask for a new one" in expired.get_data(as_text=True)


def test_a_new_reset_link_replaces_the_old_one(
    client: FlaskClient, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    user = make.user()
    client.post("/forgot-password", data={"email": user.email})
    first = link_from(sent_mail, "/reset-password/")
    client.post("/forgot-password", data={"email": user.email})
    assert client.get(first).status_code == 410
    assert client.get(link_from(sent_mail, "/reset-password/")).status_code == 200


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "Password must be 12 characters or more"),
        ("qwertyuiop123", "too common"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
    ],
)
def test_password_rules(password: str, message: str) -> None:
    from portal.services.accounts.passwords import WeakPasswordError, check_password_rules

    with pytest.raises(WeakPasswordError, match=message):
        check_password_rules(password, email="someone@school.example")
    check_password_rules(NEW_PASSWORD, email="someone@school.example")
