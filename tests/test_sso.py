"""Single sign-on against real OpenID Connect providers on loopback
(tests/oidc_provider.py: Authlib's authorization server, with PKCE required).

Each test drives the whole round trip: the portal redirects to the provider,
the person signs in there (``idp.sign_in`` posts its form), and the provider
sends the browser back with a code the portal exchanges over HTTP."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from portal.models import (
    AuditEvent,
    ExternalIdentity,
    Membership,
    Organisation,
    SsoJoinRequest,
    SsoLink,
    User,
    utcnow,
)

from .conftest import built_app, sso_settings
from .factories import PASSWORD, TEST_MFA_SECRET, Factory, fresh_code, login

OAKFIELD_TENANT = "0a0a0a0a-1111-4222-8333-444444444444"
ELM_TENANT = "0b0b0b0b-1111-4222-8333-555555555555"


@pytest.fixture
def app(sso_app: Flask) -> Flask:
    return sso_app


@pytest.fixture
def ms(idps: dict[str, Any]) -> Any:
    return idps["microsoft"]


def link(app: Flask, organisation: Organisation, tenant: str, provider: str = "microsoft",
         **fields: Any) -> None:  # fmt: skip
    from portal.extensions import db

    with app.app_context():
        db.session.add(
            SsoLink(organisation_id=organisation.id, provider=provider, tenant=tenant, **fields)
        )
        db.session.commit()


def set_org(app: Flask, organisation: Organisation, **fields: Any) -> None:
    from portal.extensions import db

    with app.app_context():
        row = db.session.get(Organisation, organisation.id)
        for name, value in fields.items():
            setattr(row, name, value)
        db.session.commit()


def staff_of_tenant(ms: Any, email: str, tenant: str = OAKFIELD_TENANT, **claims: Any) -> str:
    return ms.add_user(email, name="Sam Staff", claims={"tid": tenant, **claims})


def sso(client: FlaskClient, idp: Any, email: str, provider: str = "microsoft") -> TestResponse:
    """Sign in at the provider as ``email`` and come back to the portal."""
    start = client.get(f"/login/sso/{provider}")
    assert start.status_code == 302, start.get_data(as_text=True)
    return client.get(idp.sign_in(start.location, email))


def events(dbs: Session, action: str) -> list[AuditEvent]:
    dbs.rollback()  # a fresh snapshot: the app committed since
    return list(dbs.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def oakfield(make: Factory, app: Flask) -> Organisation:
    school = make.org("Oakfield Primary School")
    link(app, school, OAKFIELD_TENANT)
    return school


# The protocol: discovery, code flow with PKCE, what is verified.


def test_a_known_member_signs_in_with_microsoft(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation, dbs: Session
) -> None:
    user = make.user(oakfield, email="sam@oakfield.example")
    staff_of_tenant(ms, "sam@oakfield.example")
    back = sso(client, ms, "sam@oakfield.example")
    assert back.status_code == 302 and back.location == "/", back.get_data(as_text=True)
    assert "Oakfield Primary School" in client.get("/").get_data(as_text=True)
    asked = ms.last_authorization
    assert asked["code_challenge_method"] == "S256" and asked["code_challenge"]
    assert asked["nonce"] and asked["state"]
    assert asked["scope"].split() == ["openid", "email", "profile"]
    identity = dbs.scalars(select(ExternalIdentity)).one()
    assert identity.user_id == user.id and identity.issuer.endswith(f"/{OAKFIELD_TENANT}/v2.0")
    [signed] = events(dbs, "signed_in")
    assert signed.detail["how"] == "sso:microsoft" and signed.organisation_id == oakfield.id


def test_the_known_identity_finds_the_account_after_its_email_changes(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation
) -> None:
    make.user(oakfield, email="sam@oakfield.example")
    subject = staff_of_tenant(ms, "sam@oakfield.example")
    assert sso(client, ms, "sam@oakfield.example").location == "/"
    client.post("/logout")
    ms.add_user("sam.jones@oakfield.example", sub=subject, claims={"tid": OAKFIELD_TENANT})
    assert sso(client, ms, "sam.jones@oakfield.example").location == "/"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("bad_signature", "BadSignatureError"),
        ("wrong_audience", "aud"),
        ("expired", "ExpiredTokenError"),
        ("wrong_issuer", "iss"),
        ("wrong_nonce", "nonce"),
    ],
)
def test_an_id_token_that_does_not_verify_signs_nobody_in(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation, dbs: Session,
    mode: str, reason: str,
) -> None:  # fmt: skip
    make.user(oakfield, email="sam@oakfield.example")
    staff_of_tenant(ms, "sam@oakfield.example")
    ms.misbehave(mode)
    back = sso(client, ms, "sam@oakfield.example")
    assert back.status_code == 403
    assert "could not be verified, so we did not accept it" in back.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out
    [refused] = events(dbs, "sso_refused")
    assert reason in refused.detail["reason"] and refused.detail["provider"] == "microsoft"
    assert not dbs.scalars(select(ExternalIdentity)).all()


def test_a_replayed_callback_is_refused_and_its_code_not_spent_again(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation
) -> None:
    make.user(oakfield, email="sam@oakfield.example")
    staff_of_tenant(ms, "sam@oakfield.example")
    start = client.get("/login/sso/microsoft")
    callback = ms.sign_in(start.location, "sam@oakfield.example")
    assert client.get(callback).location == "/"
    client.post("/logout")
    spent = ms.token_requests
    again = client.get(callback)
    assert again.status_code == 403
    assert "already used or has expired" in again.get_data(as_text=True)
    assert ms.token_requests == spent
    # And in another browser, which never started a sign-in.
    other = client.application.test_client()
    assert other.get(callback).status_code == 403


def test_a_callback_with_a_state_of_another_sign_in_is_refused(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation
) -> None:
    """Login CSRF: an attacker's own code, sent to a victim's browser."""
    make.user(oakfield, email="sam@oakfield.example")
    staff_of_tenant(ms, "sam@oakfield.example")
    attacker = client.application.test_client()
    attackers = ms.sign_in(attacker.get("/login/sso/microsoft").location, "sam@oakfield.example")
    client.get("/login/sso/microsoft")  # the victim's own sign-in under way
    assert client.get(attackers).status_code == 403
    assert client.get("/").status_code == 302


def test_an_unverified_email_is_not_believed(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation, dbs: Session
) -> None:
    make.user(oakfield, email="head@oakfield.example")
    ms.add_user("head@oakfield.example", email_verified=None, claims={"tid": OAKFIELD_TENANT})
    back = sso(client, ms, "head@oakfield.example")
    assert back.status_code == 403
    assert "did not confirm that head@oakfield.example is yours" in back.get_data(as_text=True)
    assert events(dbs, "sso_refused")[0].detail["reason"] == "email not verified"
    # Entra's optional claim xms_edov (the email's domain is the tenant's own) is enough.
    ms.add_user(
        "head@oakfield.example",
        email_verified=None,
        claims={"tid": OAKFIELD_TENANT, "xms_edov": True},
    )
    assert sso(client, ms, "head@oakfield.example").location == "/"


def test_a_tenant_nobody_linked_signs_nobody_in(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation, dbs: Session
) -> None:
    make.user(oakfield, email="sam@oakfield.example")
    staff_of_tenant(ms, "sam@oakfield.example", tenant=ELM_TENANT)
    back = sso(client, ms, "sam@oakfield.example")
    assert back.status_code == 403
    assert "has not turned on sign-in with Microsoft here" in back.get_data(as_text=True)
    assert events(dbs, "sso_refused")[0].detail["reason"] == "tenant not linked"


def test_the_tenant_decides_the_organisation_not_the_email(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation, dbs: Session
) -> None:
    """Elm Tree's tenant vouches for an email of an Oakfield account: the
    session enters Elm Tree only (as a newcomer there), never Oakfield."""
    elm = make.org("Elm Tree Academy")
    link(app=client.application, organisation=elm, tenant=ELM_TENANT)
    set_org(client.application, elm, sso_newcomers="viewer")
    make.user(oakfield, email="sam@oakfield.example")
    staff_of_tenant(ms, "sam@oakfield.example", tenant=ELM_TENANT)
    assert sso(client, ms, "sam@oakfield.example").location == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Elm Tree Academy" in home and "Oakfield" not in home
    assert client.post("/organisation", data={"organisation_id": oakfield.id}).status_code == 404
    assert "Oakfield" not in client.get("/").get_data(as_text=True)


def test_a_person_disabled_at_the_provider_cannot_sign_in(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation, dbs: Session
) -> None:
    make.user(oakfield, email="leaver@oakfield.example")
    staff_of_tenant(ms, "leaver@oakfield.example")
    assert sso(client, ms, "leaver@oakfield.example").location == "/"
    client.post("/logout")
    ms.disable("leaver@oakfield.example")
    back = sso(client, ms, "leaver@oakfield.example")
    assert back.status_code == 403
    assert "Microsoft did not sign you in" in back.get_data(as_text=True)
    assert "access_denied" in events(dbs, "sso_refused")[-1].detail["reason"]


def test_a_personal_google_account_is_refused_and_a_workspace_one_signs_in(
    client: FlaskClient, make: Factory, idps: dict[str, Any], dbs: Session
) -> None:
    google = idps["google"]
    school = make.org("Beech Hill School")
    link(client.application, school, "beechhill.example", provider="google")
    make.user(school, email="pat@beechhill.example")
    google.add_user("pat.personal@gmail.example")
    back = sso(client, google, "pat.personal@gmail.example", provider="google")
    assert back.status_code == 403 and "personal account" in back.get_data(as_text=True)
    google.add_user("pat@beechhill.example", claims={"hd": "beechhill.example"})
    assert sso(client, google, "pat@beechhill.example", provider="google").location == "/"


def test_an_operators_own_provider_links_by_email_domain(
    client: FlaskClient, make: Factory, idps: dict[str, Any]
) -> None:
    northwind = idps["oidc"]
    school = make.org("Northwind College", kind="college")
    link(client.application, school, "northwind.example", provider="oidc")
    make.user(school, email="kim@northwind.example")
    northwind.add_user("kim@northwind.example")
    assert "Sign in with Northwind ID" in client.get("/login").get_data(as_text=True)
    assert sso(client, northwind, "kim@northwind.example", provider="oidc").location == "/"


def test_a_provider_whose_discovery_names_another_issuer_is_not_trusted(
    database_url: str, tmp_path: Path, idps: dict[str, Any]
) -> None:
    # The Microsoft test provider's discovery names Entra's templated issuer,
    # not the base address configured here as the issuer.
    settings = {**sso_settings(idps), "SSO_OIDC_ISSUER": idps["microsoft"].base}
    with built_app(database_url, tmp_path, **settings) as app:
        back = app.test_client().get("/login/sso/oidc")
        assert back.status_code == 403
        assert "is not set up correctly here" in back.get_data(as_text=True)


def test_a_provider_that_does_not_answer_gets_a_clear_message(
    database_url: str, tmp_path: Path, idps: dict[str, Any]
) -> None:
    settings = {**sso_settings(idps), "SSO_OIDC_ISSUER": "http://127.0.0.1:9"}  # nothing there
    with built_app(database_url, tmp_path, **settings) as app:
        back = app.test_client().get("/login/sso/oidc")
        assert back.status_code == 403
        assert "We could not reach Northwind ID just now" in back.get_data(as_text=True)


def test_an_unconfigured_provider_is_404(client: FlaskClient) -> None:
    assert client.get("/login/sso/facebook").status_code == 404


# Newcomers and invitations.


def test_a_newcomer_waits_for_an_admin_who_approves_them(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation, dbs: Session
) -> None:
    admin = make.user(oakfield, role="admin")
    staff_of_tenant(ms, "new.teacher@oakfield.example")
    back = sso(client, ms, "new.teacher@oakfield.example")
    assert back.status_code == 200
    assert "Your request to join Oakfield Primary School has been sent" in back.get_data(
        as_text=True
    )
    assert client.get("/").status_code == 302  # not signed in
    sso(client, ms, "new.teacher@oakfield.example")  # asks again: still one request
    [waiting] = dbs.scalars(select(SsoJoinRequest)).all()
    assert waiting.email == "new.teacher@oakfield.example"

    staff = client.application.test_client()
    login(staff, admin)
    page = staff.get("/users").get_data(as_text=True)
    assert "Waiting to join" in page and "new.teacher@oakfield.example" in page
    decided = staff.post(f"/users/newcomers/{waiting.id}/approve", data={"role": "reviewer"})
    assert decided.status_code == 302
    assert sso(client, ms, "new.teacher@oakfield.example").location == "/"
    dbs.rollback()
    user = dbs.scalars(select(User).where(User.email == "new.teacher@oakfield.example")).one()
    assert [m.role for m in user.memberships] == ["reviewer"] and user.password_hash is None
    assert "Single sign-on" in staff.get("/users").get_data(as_text=True)
    assert events(dbs, "sso_join_approved")[0].detail["role"] == "reviewer"


def test_two_first_sign_ins_at_once_leave_one_request_waiting(
    client: FlaskClient,
    make: Factory,
    ms: Any,
    oakfield: Organisation,
    dbs: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second of two simultaneous first sign-ins does not see the first's
    request (it looked before the first committed): the unique index on
    pending requests refuses its copy, and it too says the person waits."""
    from portal.services.accounts import sso as accounts_sso

    staff_of_tenant(ms, "new.teacher@oakfield.example")
    assert sso(client, ms, "new.teacher@oakfield.example").status_code == 200
    monkeypatch.setattr(accounts_sso, "pending_request", lambda *args: None)
    again = sso(client, ms, "new.teacher@oakfield.example")
    assert again.status_code == 200
    assert "Your request to join Oakfield Primary School has been sent" in again.get_data(
        as_text=True
    )
    dbs.rollback()
    assert len(dbs.scalars(select(SsoJoinRequest)).all()) == 1
    assert len(events(dbs, "sso_join_requested")) == 1


def test_a_turned_away_newcomer_does_not_get_in(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation, dbs: Session
) -> None:
    admin = make.user(oakfield, role="admin")
    staff_of_tenant(ms, "stranger@oakfield.example")
    sso(client, ms, "stranger@oakfield.example")
    waiting = dbs.scalars(select(SsoJoinRequest)).one()
    staff = client.application.test_client()
    login(staff, admin)
    staff.post(f"/users/newcomers/{waiting.id}/decline")
    dbs.rollback()
    assert not dbs.scalars(select(User).where(User.email == "stranger@oakfield.example")).all()
    assert sso(client, ms, "stranger@oakfield.example").status_code == 200  # asks again
    assert client.get("/").status_code == 302


def test_newcomers_join_as_viewers_when_the_school_says_so(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation, dbs: Session
) -> None:
    set_org(client.application, oakfield, sso_newcomers="viewer")
    staff_of_tenant(ms, "ta@oakfield.example")
    assert sso(client, ms, "ta@oakfield.example").location == "/"
    user = dbs.scalars(select(User).where(User.email == "ta@oakfield.example")).one()
    assert [(m.organisation_id, m.role) for m in user.memberships] == [(oakfield.id, "viewer")]
    assert events(dbs, "sso_joined")[0].organisation_id == oakfield.id


def test_a_pending_invitation_is_accepted_by_signing_in(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation, dbs: Session
) -> None:
    admin = make.user(oakfield, role="admin")
    staff = client.application.test_client()
    login(staff, admin)
    staff.post("/users", data={"name": "Ada Bursar", "email": "ada@oakfield.example",
                               "role": "reviewer"})  # fmt: skip
    staff_of_tenant(ms, "ada@oakfield.example")
    assert sso(client, ms, "ada@oakfield.example").location == "/"
    user = dbs.scalars(select(User).where(User.email == "ada@oakfield.example")).one()
    assert [m.role for m in user.memberships] == ["reviewer"]
    assert not dbs.scalars(select(SsoJoinRequest)).all()
    accepted = dbs.scalars(
        select(AuditEvent).where(AuditEvent.action == "invitation_accepted")
    ).one()
    assert accepted.detail == {"role": "reviewer", "via": "microsoft"}
    assert accepted.organisation_id == oakfield.id and accepted.actor_id == user.id


def test_a_trusts_tenant_opens_the_trust_and_its_schools(
    client: FlaskClient, make: Factory, ms: Any
) -> None:
    trust = make.org("Riverside Learning Trust", kind="trust")
    school = make.org("Riverside Primary", trust=trust)
    link(client.application, trust, OAKFIELD_TENANT)
    person = make.user(trust, email="cfo@riverside.example")
    from portal.extensions import db

    with client.application.app_context():
        db.session.add(Membership(user_id=person.id, organisation_id=school.id, role="viewer"))
        db.session.commit()
    staff_of_tenant(ms, "cfo@riverside.example")
    assert sso(client, ms, "cfo@riverside.example").location == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Riverside Primary" in page  # in the organisation switcher


# An organisation that requires single sign-on.


def test_a_school_that_requires_sso_refuses_passwords_but_not_its_break_glass_admin(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation, dbs: Session
) -> None:
    reviewer = make.user(oakfield, email="rev@oakfield.example")
    admin = make.user(oakfield, role="admin", email="head@oakfield.example")
    plain_admin = make.user(oakfield, role="admin", email="deputy@oakfield.example")
    with client.application.app_context():
        from portal.extensions import db

        db.session.get(User, admin.id).mfa_secret = TEST_MFA_SECRET
        db.session.get(User, admin.id).mfa_enabled_at = utcnow()
        db.session.commit()
    set_org(client.application, oakfield, password_sign_in=False)
    other = make.org("Elm Tree Academy")
    elm_reviewer = make.user(other)

    refused = client.post("/login", data={"email": reviewer.email, "password": PASSWORD})
    assert refused.status_code == 200
    page = refused.get_data(as_text=True)
    assert "Oakfield Primary School asks its staff to sign in through" in page
    assert "Sign in with Microsoft" in page
    assert client.get("/").status_code == 302
    assert events(dbs, "sign_in_refused")[0].detail["how"] == "single sign-on required"

    deputy = client.post("/login", data={"email": plain_admin.email, "password": PASSWORD})
    assert "once you have set up an authenticator app" in deputy.get_data(as_text=True)

    login(client, admin)  # password, then the authenticator code
    assert "Oakfield Primary School" in client.get("/").get_data(as_text=True)
    client.post("/logout")

    login(client, elm_reviewer)  # another school on the same portal is unaffected
    assert client.get("/").status_code == 200
    client.post("/logout")

    staff_of_tenant(ms, reviewer.email)
    assert sso(client, ms, reviewer.email).location == "/"


def test_turning_passwords_off_ends_password_sessions_of_that_school_only(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation
) -> None:
    both = make.user(oakfield, email="both@oakfield.example")
    elm = make.org("Elm Tree Academy")
    from portal.extensions import db

    with client.application.app_context():
        db.session.add(Membership(user_id=both.id, organisation_id=elm.id, role="viewer"))
        db.session.commit()
    login(client, both)
    assert client.get("/").status_code == 200
    set_org(client.application, oakfield, password_sign_in=False)
    page = client.get("/").get_data(as_text=True)
    assert "Elm Tree Academy" in page and "Oakfield" not in page  # switched out of Oakfield

    only = make.user(oakfield, email="only@oakfield.example")
    alone = client.application.test_client()
    set_org(client.application, oakfield, password_sign_in=True)
    login(alone, only)
    set_org(client.application, oakfield, password_sign_in=False)
    ended = alone.get("/")
    assert ended.status_code == 302 and ended.location == "/login"
    assert "now requires you to sign in through" in alone.get("/login").get_data(as_text=True)


def test_an_admin_sets_the_rules_and_cannot_lock_themselves_out(
    client: FlaskClient, make: Factory, ms: Any, dbs: Session
) -> None:
    school = make.org("Ash Grove School")
    admin = make.user(school, role="admin", email="head@ashgrove.example")
    login(client, admin)
    no_link = client.post("/organisation/sign-in/rules",
                          data={"passwords": "no", "newcomers": "approval"})  # fmt: skip
    assert no_link.status_code == 400
    assert "Link your Microsoft 365 tenant or Google Workspace domain first" in no_link.get_data(
        as_text=True
    )
    link(client.application, school, OAKFIELD_TENANT)
    alone = client.post("/organisation/sign-in/rules",
                        data={"passwords": "no", "newcomers": "viewer"})  # fmt: skip
    assert alone.status_code == 400
    text = alone.get_data(as_text=True)
    assert "Set up your authenticator app first" in text
    assert 'value="viewer" checked' in text  # what they chose is kept

    client.post("/logout")
    staff_of_tenant(ms, "head@ashgrove.example")
    assert sso(client, ms, "head@ashgrove.example").location == "/"
    saved = client.post("/organisation/sign-in/rules",
                        data={"passwords": "no", "newcomers": "viewer"})  # fmt: skip
    assert saved.status_code == 302
    dbs.rollback()
    row = dbs.get(Organisation, school.id)
    assert (row.password_sign_in, row.sso_newcomers) == (False, "viewer")
    assert events(dbs, "sso_rules_changed")[0].detail == {
        "passwords_allowed": False,
        "newcomers": "viewer",
    }
    removed = client.post(f"/organisation/sign-in/links/{row_link(dbs, school)}/remove")
    assert removed.status_code == 302
    assert "Allow passwords again before removing the last" in client.get(
        "/organisation/sign-in"
    ).get_data(as_text=True)


def row_link(dbs: Session, organisation: Organisation) -> int:
    dbs.rollback()
    return dbs.scalars(select(SsoLink.id).where(SsoLink.organisation_id == organisation.id)).one()


# Linking a tenant.


def test_an_admin_links_the_tenant_they_sign_in_from(
    client: FlaskClient, make: Factory, ms: Any, dbs: Session
) -> None:
    school = make.org("Ash Grove School")
    admin = make.user(school, role="admin", email="head@ashgrove.example")
    login(client, admin)
    page = client.get("/organisation/sign-in").get_data(as_text=True)
    assert "Link your Microsoft 365 tenant" in page
    start = client.get("/organisation/sign-in/link/microsoft")
    assert start.status_code == 302
    staff_of_tenant(ms, "head@ashgrove.example", tenant=ELM_TENANT)
    back = client.get(ms.sign_in(start.location, "head@ashgrove.example"))
    assert back.status_code == 302 and back.location == "/organisation/sign-in"
    page = client.get("/organisation/sign-in").get_data(as_text=True)
    assert "Ash Grove School is linked to the Microsoft 365 tenant of head@ashgrove.example" in page
    assert ELM_TENANT in page
    linked = dbs.scalars(select(SsoLink)).one()
    assert (linked.organisation_id, linked.tenant) == (school.id, ELM_TENANT)
    assert events(dbs, "sso_linked")[0].actor_id == admin.id

    # Another school's admin signing in from the same tenant cannot take it.
    rival = make.org("Rival Academy")
    rival_admin = make.user(rival, role="admin", email="it@rival.example")
    other = client.application.test_client()
    login(other, rival_admin)
    start = other.get("/organisation/sign-in/link/microsoft")
    staff_of_tenant(ms, "it@rival.example", tenant=ELM_TENANT)
    other.get(ms.sign_in(start.location, "it@rival.example"))
    page = other.get("/organisation/sign-in").get_data(as_text=True)
    assert "already linked to another organisation on the portal" in page
    assert "Ash Grove" not in page
    dbs.rollback()
    assert len(dbs.scalars(select(SsoLink)).all()) == 1
    assert events(dbs, "sso_link_refused")[0].organisation_id == rival.id


def test_only_admins_link_tenants_and_change_rules(
    client: FlaskClient, make: Factory, oakfield: Organisation
) -> None:
    login(client, make.user(oakfield, role="reviewer"))
    assert client.get("/organisation/sign-in").status_code == 403
    assert client.get("/organisation/sign-in/link/microsoft").status_code == 403
    assert client.post("/organisation/sign-in/rules", data={"passwords": "no"}).status_code == 403


# Sessions and the authenticator-app rule.


def test_provider_mfa_meets_the_schools_authenticator_rule(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation
) -> None:
    make.user(oakfield, email="mfa@oakfield.example")
    make.user(oakfield, email="pwd@oakfield.example")
    # After the factory's users: it merges the organisation as it was made.
    set_org(client.application, oakfield, require_mfa=True)
    staff_of_tenant(ms, "mfa@oakfield.example", amr=["pwd", "mfa"])
    staff_of_tenant(ms, "pwd@oakfield.example", amr=["pwd"])
    sso(client, ms, "mfa@oakfield.example")
    assert client.get("/").status_code == 200
    client.post("/logout")
    sso(client, ms, "pwd@oakfield.example")
    assert client.get("/").location == "/account/authenticator"


def test_an_admin_may_trust_their_tenants_own_mfa(
    client: FlaskClient, make: Factory, ms: Any
) -> None:
    school = make.org("Hazel School")
    link(client.application, school, OAKFIELD_TENANT, trusts_mfa=True)
    make.user(school, email="pwd@hazel.example")
    set_org(client.application, school, require_mfa=True)
    staff_of_tenant(ms, "pwd@hazel.example", amr=["pwd"])
    sso(client, ms, "pwd@hazel.example")
    assert client.get("/").status_code == 200


def test_someone_with_an_authenticator_app_still_gives_its_code_without_provider_mfa(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation, dbs: Session
) -> None:
    user = make.user(oakfield, email="careful@oakfield.example")
    with client.application.app_context():
        from portal.extensions import db

        db.session.get(User, user.id).mfa_secret = TEST_MFA_SECRET
        db.session.get(User, user.id).mfa_enabled_at = utcnow()
        db.session.commit()
    staff_of_tenant(ms, "careful@oakfield.example")
    back = sso(client, ms, "careful@oakfield.example")
    assert back.location == "/login/code"
    code = client.post("/login/code", data={"code": fresh_code(client.application, user)})
    assert code.location == "/"
    assert client.get("/").status_code == 200
    assert events(dbs, "signed_in")[0].detail["how"] == "sso:microsoft+app"


def test_an_sso_session_ends_after_the_usual_idle_limit(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation
) -> None:
    make.user(oakfield, email="sam@oakfield.example")
    staff_of_tenant(ms, "sam@oakfield.example")
    sso(client, ms, "sam@oakfield.example")
    with client.session_transaction() as session:
        session["seen_at"] = int(utcnow().timestamp()) - 31 * 60
    ended = client.get("/")
    assert ended.status_code == 302 and ended.location.startswith("/login")


def test_linking_needs_the_pages_csrf_token(
    client: FlaskClient, make: Factory, oakfield: Organisation
) -> None:
    """Linking starts from a link (a form could not redirect to the provider
    under our form-action policy), so the link carries the CSRF token."""
    login(client, make.user(oakfield, role="admin"))
    client.application.config["WTF_CSRF_ENABLED"] = True
    assert client.get("/organisation/sign-in/link/microsoft").status_code == 400
    page = client.get("/organisation/sign-in").get_data(as_text=True)
    href = re.search(r'href="(/organisation/sign-in/link/microsoft\?csrf_token=[^"]+)"', page)
    assert href is not None
    started = client.get(html.unescape(href.group(1)))
    assert started.status_code == 302 and started.location.startswith("http://127.0.0.1:")


def test_a_curator_organisation_cannot_link_a_tenant(
    client: FlaskClient, make: Factory, ms: Any, dbs: Session
) -> None:
    curators = make.org("Curators Ltd", kind="curator")
    admin = make.user(curators, role="admin", email="lead@curators.example")
    login(client, admin)
    start = client.get("/organisation/sign-in/link/microsoft")
    staff_of_tenant(ms, "lead@curators.example", tenant=ELM_TENANT)
    client.get(ms.sign_in(start.location, "lead@curators.example"))
    assert "Curators sign in with a password and their own authenticator app" in client.get(
        "/organisation/sign-in"
    ).get_data(as_text=True)
    dbs.rollback()
    assert not dbs.scalars(select(SsoLink)).all()


def test_two_sign_ins_under_way_in_two_tabs_each_finish_as_started(
    client: FlaskClient, make: Factory, ms: Any, dbs: Session
) -> None:
    school = make.org("Ash Grove School")
    make.user(school, role="admin", email="head@ashgrove.example")
    login(client, make.user(school, role="admin", email="deputy@ashgrove.example"))
    staff_of_tenant(ms, "deputy@ashgrove.example", tenant=ELM_TENANT)
    linking = client.get("/organisation/sign-in/link/microsoft")
    # The same browser starts a second link in another tab, then finishes the first.
    client.get("/organisation/sign-in/link/google")
    back = client.get(ms.sign_in(linking.location, "deputy@ashgrove.example"))
    assert back.location == "/organisation/sign-in"
    dbs.rollback()
    assert dbs.scalars(select(SsoLink.tenant)).all() == [ELM_TENANT]


def test_a_curator_signing_in_through_a_schools_tenant_acts_for_the_school_only(
    client: FlaskClient, make: Factory, ms: Any, oakfield: Organisation
) -> None:
    """Curators keep their own authenticator step: a single sign-on through a
    school's tenant does not open the curator organisation."""
    curators = make.org("Curators Ltd", kind="curator")
    person = make.user(curators, role="curator", email="cur@oakfield.example")
    from portal.extensions import db

    with client.application.app_context():
        db.session.add(Membership(user_id=person.id, organisation_id=oakfield.id, role="viewer"))
        db.session.commit()
    staff_of_tenant(ms, "cur@oakfield.example", amr=["pwd", "mfa"])
    assert sso(client, ms, "cur@oakfield.example").location == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Oakfield Primary School" in page and "Curators Ltd" not in page
    assert client.get("/curate/").status_code == 403
    assert client.post("/organisation", data={"organisation_id": curators.id}).status_code == 404
