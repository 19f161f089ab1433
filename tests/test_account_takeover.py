"""Issue 20, finding 1: one organisation's admin must not take over an account
that belongs to other organisations too. Inviting an address joins nobody
until its owner accepts; removing acts on the membership only; an
authenticator app is reset only by an admin of every organisation its owner
belongs to, or by the operator."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.models import (
    AuditEvent,
    InvitationStatus,
    Membership,
    MembershipInvitation,
    Organisation,
    User,
    utcnow,
)

from .factories import TEST_MFA_SECRET, Factory, login


def with_app(dbs: Session, user: User) -> None:
    """Give the person an authenticator app (login() types its code)."""
    dbs.execute(
        update(User)
        .where(User.id == user.id)
        .values(mfa_secret=TEST_MFA_SECRET, mfa_enabled_at=utcnow())
    )
    dbs.commit()


def join(dbs: Session, user: User, organisation: Organisation, role: str = "viewer") -> None:
    dbs.rollback()  # a fresh snapshot: others have written since
    dbs.add(Membership(user_id=user.id, organisation_id=organisation.id, role=role))
    dbs.commit()


def invite(client: FlaskClient, email: str, name: str, role: str = "viewer") -> None:
    response = client.post("/users", data={"email": email, "name": name, "role": role})
    assert response.status_code == 302, response.get_data(as_text=True)


def users_row(page: str, email: str) -> str:
    row = next(r for r in re.findall(r"<tr class=\"govuk-table__row\">.*?</tr>", page, re.S)
               if email in r)  # fmt: skip
    # What differs by address alone (ids in form actions) is not what a person sees.
    return re.sub(r"\d+", "N", row.replace(email, "EMAIL"))


def test_inviting_an_existing_account_attaches_nothing_and_reveals_nothing(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    curator = make.user(make.org("Curators Ltd", kind="curator"), role="curator")
    school = make.org("Hostile Academy")
    login(client, make.user(school, role="admin"))
    invite(client, curator.email, "Some Name")
    invite(client, "nobody.yet@school.example", "Some Name")

    dbs.rollback()
    assert [m.organisation.name for m in dbs.get(User, curator.id).memberships] == ["Curators Ltd"]
    page = client.get("/users").get_data(as_text=True)
    assert curator.name not in page
    # The row of an address with an account reads exactly as one without.
    assert users_row(page, curator.email) == users_row(page, "nobody.yet@school.example")
    assert "Invited" in users_row(page, curator.email)
    # Nothing of the account can be acted on: it is not this school's member.
    assert client.post(f"/users/{curator.id}/reset-authenticator").status_code == 404
    assert client.post(f"/users/{curator.id}/remove").status_code == 404
    dbs.rollback()
    untouched = dbs.get(User, curator.id)
    assert untouched.mfa_enabled_at is not None
    assert untouched.session_version == 1
    # The owner is told, and told that nothing happens unless they accept.
    to_curator = next(m for m in sent_mail if m["to"] == curator.email)
    assert "You join only if you accept" in to_curator["body"]
    assert "/account" in to_curator["body"]


def test_the_invited_person_accepts_or_declines_while_signed_in(
    app: Flask, make: Factory, dbs: Session
) -> None:
    person = make.user(make.org("Oak School"))
    elm, ash = make.org("Elm School"), make.org("Ash School")
    for school in (elm, ash):
        admin = app.test_client()
        login(admin, make.user(school, role="admin"))
        invite(admin, person.email, "Pat", role="reviewer")

    them = app.test_client()
    signed_in = them.post(
        "/login", data={"email": person.email, "password": "plum-orbit-canvas-ladder-91"},
        follow_redirects=True,
    )  # fmt: skip
    assert "You are invited to join Elm School, Ash School" in signed_in.get_data(as_text=True)
    account = them.get("/account").get_data(as_text=True)
    assert "has invited you to join <strong>Elm School</strong> as a reviewer" in account
    invitations = {i.organisation_id: i.id for i in dbs.scalars(select(MembershipInvitation)).all()}
    # Someone else cannot answer them for the person.
    stranger = app.test_client()
    login(stranger, make.user(make.org()))
    assert stranger.post(f"/account/invitations/{invitations[elm.id]}/accept").status_code == 404

    accepted = them.post(f"/account/invitations/{invitations[elm.id]}/accept")
    assert accepted.status_code == 302
    declined = them.post(
        f"/account/invitations/{invitations[ash.id]}/decline", follow_redirects=True
    )
    assert "You declined the invitation to Ash School" in declined.get_data(as_text=True)
    again = them.post(f"/account/invitations/{invitations[ash.id]}/accept", follow_redirects=True)
    assert "This invitation is no longer open" in again.get_data(as_text=True)

    dbs.rollback()
    roles = {m.organisation.name: m.role for m in dbs.get(User, person.id).memberships}
    assert roles == {"Oak School": "reviewer", "Elm School": "reviewer"}
    statuses = {i.organisation_id: i.status for i in dbs.scalars(select(MembershipInvitation))}
    assert statuses == {elm.id: InvitationStatus.ACCEPTED, ash.id: InvitationStatus.DECLINED}
    actions = {
        (e.action, e.organisation_id)
        for e in dbs.scalars(select(AuditEvent).where(AuditEvent.actor_id == person.id))
    }
    assert {("invitation_accepted", elm.id), ("invitation_declined", ash.id)} <= actions


def test_an_admin_withdraws_an_invitation_and_its_link_stops(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    login(client, make.user(role="admin"))
    invite(client, "new@school.example", "New Person")
    link = next(w for w in sent_mail[-1]["body"].split() if "/invitation/" in w)
    invitation = dbs.scalar(select(MembershipInvitation))
    assert invitation is not None
    done = client.post(f"/users/invitations/{invitation.id}/withdraw", follow_redirects=True)
    assert "The invitation to new@school.example was withdrawn" in done.get_data(as_text=True)
    gone = app.test_client().get(link.split("portal.test", 1)[1])
    assert gone.status_code == 410
    assert "This invitation was withdrawn or answered" in gone.get_data(as_text=True)


def test_removing_someone_ends_only_that_membership(
    app: Flask, make: Factory, dbs: Session
) -> None:
    home, other = make.org("Home School"), make.org("Other School")
    person = make.user(home)
    join(dbs, person, other)
    theirs = app.test_client()
    login(theirs, person)
    boss = app.test_client()
    login(boss, make.user(other, role="admin"))
    done = boss.post(f"/users/{person.id}/remove", follow_redirects=True)
    assert f"{person.name} can no longer use Other School" in done.get_data(as_text=True)
    assert "signed out" not in done.get_data(as_text=True)

    dbs.rollback()
    stored = dbs.get(User, person.id)
    assert [m.organisation.name for m in stored.memberships] == ["Home School"]
    assert stored.is_active and stored.session_version == 1
    page = theirs.get("/")
    assert page.status_code == 200  # still signed in, for their own school
    assert "Home School" in page.get_data(as_text=True)


def test_only_an_admin_of_every_organisation_of_theirs_resets_an_authenticator(
    app: Flask, make: Factory, dbs: Session
) -> None:
    home, other = make.org("Home School"), make.org("Other School")
    person = make.user(home)
    join(dbs, person, other)
    with_app(dbs, person)
    other_admin = make.user(other, role="admin")
    boss = app.test_client()
    login(boss, other_admin)
    page = boss.get("/users").get_data(as_text=True)
    assert f"/users/{person.id}/reset-authenticator" not in page  # not offered
    refused = boss.post(f"/users/{person.id}/reset-authenticator")
    assert refused.status_code == 403
    assert "only an administrator of every organisation they belong to" in refused.get_data(
        as_text=True
    )
    dbs.rollback()
    assert dbs.get(User, person.id).mfa_secret == TEST_MFA_SECRET
    assert dbs.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "permission_denied", AuditEvent.actor_id == other_admin.id
        )
    )

    both = make.user(home, role="admin")
    join(dbs, both, other, role="admin")
    trusted = app.test_client()
    login(trusted, both)
    assert f"/users/{person.id}/reset-authenticator" in trusted.get("/users").get_data(as_text=True)
    done = trusted.post(f"/users/{person.id}/reset-authenticator", follow_redirects=True)
    assert "authenticator app was reset" in done.get_data(as_text=True)
    dbs.rollback()
    assert dbs.get(User, person.id).mfa_secret is None


def test_the_operator_resets_anyones_authenticator_from_the_command_line(
    app: Flask, make: Factory, dbs: Session
) -> None:
    curator = make.user(make.org("Curators Ltd", kind="curator"), role="curator")
    result = app.test_cli_runner().invoke(args=["reset-authenticator", curator.email.upper()])
    assert result.exit_code == 0, result.output
    assert f"The authenticator app of {curator.email} was removed" in result.output
    dbs.rollback()
    stored = dbs.get(User, curator.id)
    assert stored.mfa_secret is None and stored.session_version == 2
    event = dbs.scalar(select(AuditEvent).where(AuditEvent.action == "mfa_reset"))
    assert event is not None and event.actor_label == "Operator (command line)"
    unknown = app.test_cli_runner().invoke(args=["reset-authenticator", "nobody@x.example"])
    assert unknown.exit_code != 0
    assert "No account has the email address nobody@x.example" in unknown.output
