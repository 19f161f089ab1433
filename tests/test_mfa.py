"""Signing in with an authenticator app: setting it up, codes that work once,
recovery codes, lock-out, an organisation that requires it, curators who
always need it, and an admin's reset for a lost phone."""

from __future__ import annotations

import re
import time

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import AuditEvent, RecoveryCode, User
from portal.services.accounts import users as accounts

from .factories import PASSWORD, Factory, fresh_code, login


def set_up_app(client: FlaskClient) -> tuple[str, list[str]]:
    """Turn the app on from the authenticator page; (secret, recovery codes)."""
    page = client.get("/account/authenticator").get_data(as_text=True)
    secret = re.search(r'class="portal-secret-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    done = client.post("/account/authenticator", data={"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", done.get_data(as_text=True))
    return secret, codes


def events(dbs: Session, action: str) -> list[AuditEvent]:
    dbs.rollback()
    return list(
        dbs.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def test_a_person_turns_the_app_on_and_then_signs_in_with_it(
    app: Flask, make: Factory, dbs: Session
) -> None:
    user = make.user(make.org("Oakfield Primary"))
    client = app.test_client()
    login(client, user)
    page = client.get("/account/authenticator").get_data(as_text=True)
    assert "Scan this QR code" in page
    qr = client.get("/account/authenticator/qr.svg")
    assert qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    assert qr.headers["Cache-Control"] == "no-store"
    wrong = client.post("/account/authenticator", data={"code": "000000"})
    assert "Enter the 6-digit code your authenticator app shows now" in wrong.get_data(as_text=True)

    secret, codes = set_up_app(client)
    assert len(codes) == 10
    dbs.rollback()
    stored = dbs.get(User, user.id)
    assert stored is not None and stored.mfa_secret == secret and stored.mfa_enabled_at
    hashes = dbs.scalars(
        select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)
    ).all()
    assert len(hashes) == 10 and codes[0].replace("-", "") not in hashes  # hashes only
    assert "Make new recovery codes" in client.get("/account/authenticator").get_data(as_text=True)
    assert client.get("/account/authenticator/qr.svg").status_code == 404  # the secret is gone
    assert len(events(dbs, "mfa_enabled")) == 1

    laptop = app.test_client()
    step = laptop.post("/login", data={"email": user.email, "password": PASSWORD})
    assert step.location.endswith("/login/code")
    assert laptop.get("/").status_code == 302  # not signed in on the password alone
    bad = laptop.post("/login/code", data={"code": "123456"})
    assert "Enter the 6-digit code" in bad.get_data(as_text=True)
    code = fresh_code(app, user, secret)  # setting up used this 30 seconds' code
    assert laptop.post("/login/code", data={"code": code}).status_code == 302
    assert laptop.get("/").status_code == 200

    # The same code again, seconds later, on another device: refused (used once).
    thief = app.test_client()
    thief.post("/login", data={"email": user.email, "password": PASSWORD})
    assert thief.post("/login/code", data={"code": code}).status_code == 200
    # A recovery code works, once.
    assert thief.post("/login/code", data={"code": codes[0].upper()}).status_code == 302
    assert "9 left" in thief.get("/").get_data(as_text=True)
    again = app.test_client()
    again.post("/login", data={"email": user.email, "password": PASSWORD})
    assert again.post("/login/code", data={"code": codes[0]}).status_code == 200
    signed_in = events(dbs, "signed_in")
    assert [e.detail.get("how") for e in signed_in][-2:] == ["app", "recovery"]
    assert events(dbs, "mfa_failed")


def test_the_code_must_follow_the_password_within_five_minutes(app: Flask, make: Factory) -> None:
    user = make.user(make.org("Northgate", kind="curator"), role="curator")
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    with client.session_transaction() as session:
        session["mfa_pending"]["at"] = int(time.time()) - 301
        session.modified = True
    late = client.post("/login/code", data={"code": fresh_code(app, user)}, follow_redirects=True)
    assert "within 5 minutes" in late.get_data(as_text=True)
    assert client.get("/curate/").status_code == 302


def test_five_wrong_codes_lock_the_second_step(app: Flask, make: Factory) -> None:
    user = make.user(make.org("Northgate", kind="curator"), role="curator")
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    for _ in range(5):
        client.post("/login/code", data={"code": "000000"})
    locked = client.post("/login/code", data={"code": fresh_code(app, user)})
    assert "Too many wrong codes" in locked.get_data(as_text=True)
    assert client.get("/curate/").status_code == 302


def test_an_admin_requires_it_and_people_without_it_set_it_up_first(
    app: Flask, make: Factory, dbs: Session
) -> None:
    school = make.org()
    admin, reviewer = make.user(school, role="admin"), make.user(school, role="reviewer")
    boss = app.test_client()
    login(boss, admin)
    assert "Require it of everyone" in boss.get("/users").get_data(as_text=True)
    boss.post("/organisation/require-authenticator", data={"required": "yes"})
    assert boss.get("/users").status_code == 302  # the admin too: to set-up
    assert boss.get("/users").location.endswith("/account/authenticator")

    staff = app.test_client()
    login(staff, reviewer)
    for path in ("/", "/requests/new", "/directory/"):
        response = staff.get(path)
        assert response.status_code == 302 and response.location.endswith(
            "/account/authenticator"
        ), path
    assert staff.get("/api/v1/requests").status_code == 403
    page = staff.get("/account/authenticator").get_data(as_text=True)
    assert "Your organisation needs everyone to sign in with an authenticator app" in page
    set_up_app(staff)
    assert staff.get("/").status_code == 200
    assert [e.detail["required"] for e in events(dbs, "mfa_requirement_changed")] == [True]


def test_curators_always_need_it(app: Flask, make: Factory) -> None:
    curators = make.org("Northgate", kind="curator")
    with app.app_context():
        user = accounts.create_user(
            db.session,
            email="new.curator@northgate.example",
            name="New Curator",
            organisation=db.session.merge(curators),
            role="curator",
            password=PASSWORD,
        )
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert client.get("/curate/").location.endswith("/account/authenticator")


def test_an_admin_resets_a_lost_phone(app: Flask, make: Factory, dbs: Session) -> None:
    school, other = make.org(), make.org()
    admin, person = make.user(school, role="admin"), make.user(school)
    phone = app.test_client()
    login(phone, person)
    set_up_app(phone)
    boss = app.test_client()
    login(boss, admin)
    outsider = app.test_client()
    login(outsider, make.user(other, role="admin"))
    assert outsider.post(f"/users/{person.id}/reset-authenticator").status_code == 404

    done = boss.post(f"/users/{person.id}/reset-authenticator", follow_redirects=True)
    assert "authenticator app was reset" in done.get_data(as_text=True)
    dbs.rollback()
    stored = dbs.get(User, person.id)
    assert stored is not None and stored.mfa_secret is None
    assert dbs.scalars(select(RecoveryCode).where(RecoveryCode.user_id == person.id)).all() == []
    assert phone.get("/").status_code == 302  # signed out everywhere
    assert [e.actor_id for e in events(dbs, "mfa_reset")] == [admin.id]
    login(phone, person)  # the password alone again, until they set it up
    assert phone.get("/").status_code == 200


def test_a_password_reset_link_is_not_a_second_factor(
    app: Flask, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    user = make.user(make.org("Northgate", kind="curator"), role="curator")
    client = app.test_client()
    client.post("/forgot-password", data={"email": user.email})
    link = re.search(r"https?://[^/\s]+(/reset-password/[A-Za-z0-9_\-]+)", sent_mail[-1]["body"])
    assert link
    new = "a-brand-new-passphrase-42"
    done = client.post(link.group(1), data={"password": new, "confirm": new})
    assert done.location.endswith("/login/code")
    assert client.get("/curate/").status_code == 302
    assert client.post("/login/code", data={"code": fresh_code(app, user)}).status_code == 302
    assert client.get("/curate/").status_code == 200
