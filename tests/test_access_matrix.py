"""Every route in app.url_map: sign-in, tenancy and CSRF, so a new route is
covered the day it is added (or this test says what it needs to know)."""

from __future__ import annotations

import io
import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from portal.extensions import db
from portal.models import Request, User
from portal.services.accounts import api_keys

from .factories import Factory, login

# Routes anyone may open: sign-in pages, token pages (which check the token
# themselves) and the health check.
PUBLIC = {
    "auth.login",
    "auth.forgot_password",
    "auth.accept_invitation",
    "auth.reset_password",
    "auth.enter_code",  # the sign-in's second step: back to sign-in without a password first
    # Single sign-on: to the provider and back (the state in the session is the check).
    "sso.start",
    "sso.callback",
    "supplier.open_link",
    "supplier.open_colleague_link",
    "renewal.open_link",
    # Thanks for renewed evidence: says nothing but the reference in its own address.
    "renewal.done",
    "api.health",
    "api.openapi",
    "static",
}
STAFF_BLUEPRINTS = (
    "school.", "review.", "profiles.", "exports.", "directory.", "curator.", "standards.", "suppliers.", "feedback.",
    "dpia.", "curator_questionnaires.", "local_questions.", "trust.",
    "auth.authenticator",
    "auth.account", "auth.change_password",
    "sso.settings", "sso.rules", "sso.link", "sso.change_link", "sso.decide",
)  # fmt: skip
# Pages about the signed-in user's own organisation as a whole (no row id in
# the path), so there is nothing of another organisation's to guess at. The
# standards pages name questionnaire items, not rows; their one row id (an
# evidence file) is tested across organisations in test_standards.py.
# A school's own questions are read and written by (organisation, key) alone:
# test_local_questions.py shows another school sees none of them.
OWN_ORGANISATION = (
    "profiles.", "local_questions.", "exports.download_register", "standards.",
    # Linking a tenant names a provider, not a row: the tenant is the admin's own.
    "sso.link",
)  # fmt: skip
# The directory is shared, not any one school's: who sees which entry is
# tested in test_directory.py (drafts 404, curator routes 403 for schools);
# feedback shares with the curator in test_standards.py; a curator's uploaded
# questionnaire workbooks in test_curator_questionnaires.py.
SHARED = ("directory.", "curator.", "curator_questionnaires.", "feedback.shares", "feedback.shared")


def rules(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: r.rule)


def fill(rule: Rule, values: dict[str, object]) -> str:
    path = rule.rule
    for name in rule.arguments:
        if name not in values:
            pytest.fail(f"{rule.endpoint}: add a value for <{name}> to the access matrix")
        path = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{name}>", str(values[name]), path)
    return path


def upload_evidence(app: Flask, row: Request, link: str) -> int:
    """A file uploaded to the request by its supplier; its evidence id."""
    supplier = app.test_client()
    supplier.get(link)
    response = supplier.post(
        f"/respond/{row.reference}/sections/more",
        data={
            "policy": (io.BytesIO(b"%PDF-1.7 test"), "p.pdf"),
            "shown": "policy",
            "action": "later",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = supplier.get(f"/respond/{row.reference}/sections/more").get_data(as_text=True)
    return int(re.search(r'name="policy" type="checkbox" value="(\d+)"', page).group(1))


def own_api_key(app: Flask, admin: User) -> int:
    """An API key of the admin's organisation; its id."""
    with app.app_context():
        admin = db.session.merge(admin)
        new = api_keys.create_api_key(
            db.session, admin.memberships[0].organisation, admin, "Sync", "read"
        )
        db.session.commit()
        return new.key.id


def own_dpia(app: Flask, owner: User, row: Request) -> int:
    """A DPIA of the owner's organisation, of the shipped questionnaire; its id."""
    from portal.models import Dpia
    from portal.questionnaire.definition import load_directory
    from portal.services.platform.questionnaire_registry import publish_version

    from .conftest import SHIPPED_QUESTIONNAIRES

    shipped = {q.key: q for q in load_directory(SHIPPED_QUESTIONNAIRES)}
    with app.app_context():
        version = publish_version(db.session, shipped["dpia_full"])
        dpia = Dpia(
            organisation_id=db.session.merge(owner).memberships[0].organisation_id,
            questionnaire_version_id=version.id, request_id=row.id, supplier_id=row.supplier_id,
            title="Acme's tool",
        )  # fmt: skip
        db.session.add(dpia)
        db.session.commit()
        return dpia.id


def own_invitation(app: Flask, owner: User) -> int:
    """An invitation of the owner's organisation (to someone else); its id."""
    from portal.services.accounts import users as accounts

    with app.test_request_context():
        owner = db.session.merge(owner)
        invitation = accounts.invite_user(
            db.session, inviter=owner, organisation=owner.memberships[0].organisation,
            email="invited@oakfield.example", name="Invited Person", role="viewer",
        )  # fmt: skip
        db.session.commit()
        return invitation.id


def methods(rule: Rule) -> list[str]:
    return sorted(m for m in rule.methods or () if m not in {"HEAD", "OPTIONS"})


def test_every_staff_route_sends_anonymous_users_to_sign_in(
    app: Flask, client: FlaskClient
) -> None:
    checked = 0
    for rule in rules(app):
        if (
            rule.endpoint in PUBLIC
            or rule.endpoint.startswith(("supplier.", "renewal."))
            or rule.endpoint == "auth.logout"
        ):
            continue
        if rule.endpoint.startswith("api."):
            # The API answers 401 with a problem, never a sign-in page.
            path = fill(
                rule,
                {"reference": "DD-AAAAAA", "question_id": "q", "key": "features", "version": 1,
                 "entry_id": 1, "request_id": 1, "dpia_id": 1, "share_id": 1, "supplier_id": 1,
                 "slug": "dfe-it-support-standard-4", "file_id": 1},
            )  # fmt: skip
            for method in methods(rule):
                response = client.open(path, method=method)
                assert response.status_code == 401, f"{method} {path}"
                assert response.mimetype == "application/problem+json", f"{method} {path}"
                checked += 1
            continue
        assert rule.endpoint.startswith(STAFF_BLUEPRINTS), (
            f"{rule.endpoint}: classify it in this test"
        )
        path = fill(
            rule,
            {
                "request_id": 1,
                "evidence_id": 1,
                "question_id": "q",
                "key": "features",
                "file_format": "xlsx",
                "entry_id": 1,
                "section_id": "main",
                "action": "publish",
                "key_id": 1,
                "user_id": 1,
                "invitation_id": 1,
                "answer": "accept",
                "file_id": 1,
                "slug": "dfe-it-support-standard-4",
                "supplier_id": 1,
                "share_id": 1,
                "dpia_id": 1,
                "upload_id": 1,
                "colleague_id": 1,
                "version": 1,
                "provider": "microsoft",
                "link_id": 1,
                "change": "remove",
                "join_id": 1,
                "decision": "approve",
            },
        )
        for method in methods(rule):
            response = client.open(path, method=method)
            assert response.status_code == 302, f"{method} {path}"
            assert response.location.startswith("/login"), f"{method} {path}"
            checked += 1
    assert checked >= 5


def test_every_id_route_is_404_for_another_organisation(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    owner = make.user(make.org("Oakfield Primary School"), role="admin")
    row, link = make.request(owner, questionnaire="features")
    ids = {
        "request_id": row.id,
        "evidence_id": upload_evidence(app, row, link),
        "reference": row.reference,
        "key_id": own_api_key(app, owner),
        "user_id": owner.id,
        "supplier_id": row.supplier_id,
        "dpia_id": own_dpia(app, owner, row),
        "invitation_id": own_invitation(app, owner),
        "answer": "accept",
        "colleague_id": own_colleague(app, row),
        "link_id": own_sso_link(app, owner),
        "change": "remove",
        "join_id": own_newcomer(app, owner),
        "decision": "approve",
    }
    intruder = make.user(make.org("Elm Tree Academy"), role="admin")
    login(client, intruder)
    checked = 0
    for rule in rules(app):
        staff_api = rule.endpoint.startswith("api.") and bool(
            {"reference", "dpia_id", "supplier_id"} & rule.arguments
        )
        if (
            not (rule.endpoint.startswith(STAFF_BLUEPRINTS) or staff_api)
            or rule.endpoint.startswith(OWN_ORGANISATION + SHARED)
            or not rule.arguments
        ):
            continue
        path = fill(
            rule,
            {**ids, "question_id": "response_hours", "file_format": "xlsx", "section_id": "need"},
        )
        for method in methods(rule):
            response = client.open(path, method=method, data={})
            assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
            assert "Oakfield" not in response.get_data(as_text=True)
            assert "Acme" not in response.get_data(as_text=True)
            checked += 1
    assert checked >= 1
    # The owning organisation does see it: the 404s above are about tenancy.
    own = app.test_client()
    login(own, owner)
    assert own.get(f"/requests/{row.id}").status_code == 200


def own_sso_link(app: Flask, owner: User) -> int:
    """The owner's organisation's linked Microsoft tenant; its id."""
    from portal.models import SsoLink

    with app.app_context():
        owner = db.session.merge(owner)
        linked = SsoLink(
            organisation_id=owner.memberships[0].organisation_id, provider="microsoft",
            tenant="11111111-2222-3333-4444-555555555555",
        )  # fmt: skip
        db.session.add(linked)
        db.session.commit()
        return linked.id


def own_newcomer(app: Flask, owner: User) -> int:
    """Someone waiting to join the owner's organisation; their request's id."""
    from portal.models import SsoJoinRequest

    with app.app_context():
        owner = db.session.merge(owner)
        waiting = SsoJoinRequest(
            organisation_id=owner.memberships[0].organisation_id, issuer="https://idp.example",
            subject="s-1", email="newcomer@oakfield.example", name="New Person",
        )  # fmt: skip
        db.session.add(waiting)
        db.session.commit()
        return waiting.id


def own_colleague(app: Flask, row: Request) -> int:
    """A colleague the supplier's contact handed a section to."""
    from portal.extensions import db
    from portal.models import Colleague

    with app.app_context():
        found = Colleague(
            request_id=row.id, name="Priya", email="p@acme.example", sections=["main"],
            token_hash="0" * 64,
        )  # fmt: skip
        db.session.add(found)
        db.session.commit()
        return found.id


def kept_upload(app: Flask, row: Request) -> int:
    """An answers workbook the request's supplier uploaded, as kept."""
    from portal.extensions import db
    from portal.models import AnswerUpload

    with app.app_context():
        upload = AnswerUpload(request_id=row.id, filename="answers.xlsx", data=b"", report={})
        db.session.add(upload)
        db.session.commit()
        return upload.id


def test_every_supplier_page_is_404_without_a_grant_for_that_request(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    author = make.user()
    mine, my_link = make.request(author, questionnaire="features")
    theirs, their_link = make.request(
        author, questionnaire="features", supplier_name="Other Supplier Ltd"
    )
    their_file = upload_evidence(app, theirs, their_link)
    my_file = upload_evidence(app, mine, my_link)
    my_upload, their_upload = (kept_upload(app, row) for row in (mine, theirs))
    assert client.get(my_link).status_code == 303  # a grant for `mine` only
    checked = 0
    for rule in rules(app):
        if not rule.endpoint.startswith("supplier.") or rule.endpoint in PUBLIC:
            continue
        own_path = fill(
            rule,
            {"reference": mine.reference, "section_id": "main", "evidence_id": my_file,
             "upload_id": my_upload, "colleague_id": 1},
        )  # fmt: skip
        own = client.open(
            own_path, method=methods(rule)[0], json={} if "POST" in methods(rule) else None
        )
        assert own.status_code in (200, 302, 422), rule.endpoint
        for method in methods(rule):
            path = fill(
                rule,
                {
                    "reference": theirs.reference,
                    "section_id": "main",
                    "evidence_id": their_file,
                    "upload_id": their_upload,
                    "colleague_id": 1,
                },  # fmt: skip
            )
            response = client.open(path, method=method, data={})
            assert response.status_code == 404, f"{method} {path}"
            assert "Other Supplier" not in response.get_data(as_text=True)
            checked += 1
    assert checked >= 5


def test_every_post_route_refuses_a_missing_csrf_token(app: Flask, make: Factory) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    user = make.user(role="admin")
    row, link = make.request(user)
    client = app.test_client()
    # Signed in without the login form (which would need the token too).
    now = int(time.time())
    with client.session_transaction() as session:
        session.update(_user_id=str(user.id), _fresh=True, sv=1, auth_at=now, seen_at=now)
    assert client.get("/").status_code == 200  # signed in
    assert client.get(link).status_code == 303  # and holding a supplier grant
    checked = 0
    for rule in rules(app):
        if "POST" not in methods(rule):
            continue
        path = fill(
            rule,
            {
                "request_id": row.id,
                "reference": row.reference,
                "section_id": "about",
                "token": "t",
                "evidence_id": 1,
                "question_id": "q",
                "key": "features",
                "entry_id": 1,
                "action": "publish",
                "key_id": 1,
                "user_id": 1,
                "invitation_id": 1,
                "answer": "accept",
                "file_id": 1,
                "slug": "dfe-it-support-standard-4",
                "supplier_id": 1,
                "share_id": 1,
                "dpia_id": 1,
                "upload_id": 1,
                "colleague_id": 1,
                "version": 1,
                "provider": "microsoft",
                "link_id": 1,
                "change": "remove",
                "join_id": 1,
                "decision": "approve",
            },
        )
        if rule.endpoint.startswith("api."):
            # A browser session writing to the API needs the token as well.
            response = client.post(path, json={"anything": "x"})
            assert response.status_code == 400, f"POST {path} answered {response.status_code}"
            assert "CSRF" in response.json["detail"]
            checked += 1
            continue
        response = client.post(path, data={"anything": "x"})
        assert response.status_code == 400, f"POST {path} answered {response.status_code}"
        text = response.get_data(as_text=True)
        # A supplier's section keeps what was typed and asks to save again.
        assert "security check failed" in text or "Your answers have not been saved yet" in text
        checked += 1
    assert checked >= 8
