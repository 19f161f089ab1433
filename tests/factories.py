"""Build rows for tests through the same services the app uses."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from portal.demo import attach_demo_files
from portal.extensions import db
from portal.models import Organisation, Request, User, utcnow
from portal.questionnaire.examples import example_answers
from portal.services.accounts import users as accounts
from portal.services.accounts.passwords import hash_password
from portal.services.requests import answering as responses
from portal.services.requests import lifecycle as requests

PASSWORD = "plum-orbit-canvas-ladder-91"
TEST_MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_HASH = hash_password(PASSWORD)  # scrypt is slow on purpose: hash once per run
_counter = itertools.count(1)
# A complete, valid "main" section of tests/data/questionnaires/features.toml.
FEATURES_MAIN = {
    "certificate": "basic",
    "expiry": "2099-01-31",
    "response_minutes": "30",
    "resolution_minutes": "240",
    "cover": "1000000",
    "shown": ["certificate", "expiry", "response_minutes", "resolution_minutes", "cover"],
}
DECLARATION = {"declared_name": "Sam Carter", "declared_role": "Director", "accurate": "y"}
LINK = re.compile(r"https?://[^\s\"<]+/respond/link/[A-Za-z0-9_\-]+")


@dataclass
class Factory:
    app: Flask

    def org(self, name: str | None = None, kind: str = "school", **kwargs: Any) -> Organisation:
        with self.app.app_context():
            org = accounts.create_organisation(
                db.session, name or f"School {next(_counter)}", kind, **kwargs
            )
            db.session.commit()
            return org

    def user(
        self,
        organisation: Organisation | None = None,
        role: str = "reviewer",
        email: str | None = None,
    ) -> User:
        with self.app.app_context():
            organisation = organisation or self.org()
            organisation = db.session.merge(organisation)
            user = accounts.create_user(
                db.session,
                email=email or f"user{next(_counter)}@school.example",
                name=f"Test User {next(_counter)}",
                organisation=organisation,
                role=role,
                password_hash=_HASH,
            )
            if role == "curator" or organisation.kind == "curator":
                # Curators always sign in with an authenticator app; login() types its code.
                user.mfa_secret = TEST_MFA_SECRET
                user.mfa_enabled_at = utcnow()
            db.session.commit()
            return user

    def request(
        self, author: User, questionnaire: str = "it_support", **overrides: Any
    ) -> tuple[Request, str]:
        """A sent request and its supplier link (a path, ready for the test client)."""
        with self.app.test_request_context():
            author = db.session.merge(author)
            organisation = author.memberships[0].organisation
            details = requests.NewRequest(
                supplier_name=overrides.get("supplier_name", "Acme IT Services Ltd"),
                contact_name="Sam Carter",
                contact_email=overrides.get("contact_email", "sam@acme.example"),
                questionnaire_key=questionnaire,
                due_date=None,
                message=overrides.get("message", ""),
                on_behalf_of=tuple(overrides.get("on_behalf_of", ())),
            )
            issued = requests.create_request(db.session, organisation, author, details)
            db.session.commit()
            path = issued.url.split("://", 1)[1]
            return issued.request, path[path.index("/") :]

    def submitted(
        self,
        author: User,
        questionnaire: str = "cloud_supplier",
        answers: dict[str, Any] | None = None,
        comments: dict[str, str] | None = None,
        consent: bool = False,
        **overrides: Any,
    ) -> tuple[Request, str]:
        """A request whose supplier submitted complete example answers, with
        ``answers`` in place of the examples (and a small PDF for every file)."""
        row, path = self.request(author, questionnaire, **overrides)
        with self.app.test_request_context():
            row = db.session.merge(row)
            definition = responses.questionnaire_of(row)
            responses.save_answers(
                db.session, row, example_answers(definition, fixed=answers or {}), comments
            )
            attach_demo_files(db.session, row, definition)
            responses.submit_response(
                db.session, row, responses.Declaration("Sam Carter", "Director", consent)
            )
            db.session.commit()
            return row, path


def login(client: FlaskClient, user: User, password: str = PASSWORD) -> None:
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    if response.location.endswith("/login/code"):
        response = client.post("/login/code", data={"code": fresh_code(client.application, user)})
        assert response.status_code == 302, response.get_data(as_text=True)


def fresh_code(app: Flask, user: User, secret: str = TEST_MFA_SECRET) -> str:
    """The authenticator code now, usable even if this step's code was just used
    (tests sign the same person in several times within 30 seconds)."""
    with app.app_context():
        db.session.execute(update(User).where(User.id == user.id).values(mfa_last_step=None))
        db.session.commit()
    return pyotp.TOTP(secret).now()


def link_path(text: str) -> str:
    """The path of the first supplier link in an email or page."""
    match = LINK.search(text)
    assert match, "no supplier link found"
    url = match.group(0)
    path = url.split("://", 1)[1]
    return path[path.index("/") :]
