"""The JSON API: a trust's script with only an API key, a supplier's with only
the link's token, and what each may not do."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Answer, ApiKey, AuditEvent, Organisation, Request, User
from portal.services.accounts import api_keys

from .factories import PASSWORD, Factory, login

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_key(app: Flask, organisation: Organisation, scope: str = "write") -> str:
    with app.app_context():
        new = api_keys.create_api_key(
            db.session, db.session.merge(organisation), None, "Trust tracker", scope
        )
        db.session.commit()
        return new.secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


NEW_REQUEST = {
    "supplier_name": "Cloudy Classroom Ltd",
    "contact_name": "Ada Lovelace",
    "contact_email": "ada@cloudy.example",
    "questionnaire": "features",
    "message": "Please answer by the end of term",
}


def test_a_key_sends_a_request_the_token_answers_it_and_the_key_reads_the_result(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    school = make.org("Oakfield Primary")
    key = make_key(app, school)
    trust = app.test_client()  # only ever sends the key
    supplier = app.test_client()  # only ever sends the link's token

    created = trust.post("/api/v1/requests", json=NEW_REQUEST, headers=bearer(key))
    assert created.status_code == 201, created.json
    body = created.json
    reference = body["reference"]
    assert created.headers["Location"] == f"/api/v1/requests/{reference}"
    assert body["status"] == "sent"
    assert body["questionnaire"]["key"] == "features"
    link = body["supplier_link"]
    assert "/respond/link/" in link
    assert sent_mail[-1]["to"] == "ada@cloudy.example"  # we emailed it too
    token = bearer(token_of(link))

    mine = supplier.get("/api/v1/supplier/request", headers=token)
    assert mine.status_code == 200
    assert mine.json["reference"] == reference
    assert mine.json["school"] == "Oakfield Primary"
    assert mine.json["answers"] == []
    assert [p["status"] for p in mine.json["progress"]] == ["Not yet started", "Not yet started"]
    definition = supplier.get(mine.json["questionnaire"]["definition"], headers=token)
    assert definition.status_code == 200
    assert definition.json["definition"]["sections"][0]["id"] == "main"

    def put(question_id: str, value: Any, revision: int = 0) -> Any:
        return supplier.put(
            f"/api/v1/supplier/answers/{question_id}",
            json={"value": value, "revision": revision},
            headers=token,
        )

    saved = put("certificate", "plus")
    assert saved.status_code == 200, saved.json
    assert saved.json["revision"] == 1
    dbs.rollback()
    given = dbs.scalar(select(Answer).filter_by(question_id="certificate"))
    assert given is not None and given.answered_by == "Ada Lovelace"  # the contact
    assert saved.json["shown"]["expiry"] is True
    for question_id, value in {
        "expiry": "2099-01-31",
        "response_minutes": 30,
        "resolution_minutes": 240,
        "cover": "1,000,000",
        "uses_subprocessors": "yes",
        "subprocessors": [{"name": "AWS", "country": "Ireland"}],
    }.items():
        answer = put(question_id, value)
        assert answer.status_code == 200, (question_id, answer.json)

    # A wrong answer: the page's own message, keyed by the question.
    wrong = put("resolution_minutes", 10, revision=1)
    assert wrong.status_code == 422
    assert wrong.mimetype == "application/problem+json"
    assert wrong.json["errors"] == {
        "resolution_minutes": ["The resolution target cannot be shorter than the response target"]
    }
    # A stale revision: 409 with the current one, and the answer unchanged.
    stale = put("response_minutes", 45, revision=0)
    assert stale.status_code == 409
    assert stale.json["revision"] == 1
    assert "Someone changed this answer" in stale.json["errors"]["response_minutes"][0]

    # Submitting too early lists what is missing, by question id.
    early = supplier.post(
        "/api/v1/supplier/submit",
        json={"declared_name": "Ada Lovelace", "declared_role": "CTO", "accurate": True},
        headers=token,
    )
    assert early.status_code == 422
    assert early.json["type"] == "/api/v1/problems/incomplete"
    assert list(early.json["errors"]) == ["policy"]

    uploaded = supplier.post(
        "/api/v1/supplier/evidence/policy",
        data={"file": (io.BytesIO(PDF), "security-policy.pdf")},
        headers=token,
    )
    assert uploaded.status_code == 201, uploaded.json
    assert [f["filename"] for f in uploaded.json["files"]] == ["security-policy.pdf"]

    submitted = supplier.post(
        "/api/v1/supplier/submit",
        json={"declared_name": "Ada Lovelace", "declared_role": "CTO", "accurate": True},
        headers=token,
    )
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["status"] == "submitted"
    again = supplier.post(
        "/api/v1/supplier/submit",
        json={"declared_name": "Ada Lovelace", "declared_role": "CTO", "accurate": True},
        headers=token,
    )
    assert again.status_code == 409  # one submission, however many calls

    dbs.rollback()
    row = dbs.scalar(select(Request).where(Request.reference == reference))
    assert row is not None and row.status == "submitted"
    assert row.declared_name == "Ada Lovelace"
    stored = {
        a.question_id: a.value
        for a in dbs.scalars(select(Answer).where(Answer.request_id == row.id))
    }
    assert stored["cover"] == 1_000_000
    assert stored["response_minutes"] == 30

    findings = trust.get(f"/api/v1/requests/{reference}/findings", headers=bearer(key))
    assert findings.status_code == 200
    by_question = {f["question_id"]: f for f in findings.json["findings"]}
    assert by_question["expiry"]["outcome"] == "met"
    assert findings.json["rating"] in ("green", "amber", "red")

    answers = trust.get(f"/api/v1/requests/{reference}/answers", headers=bearer(key))
    assert {a["question_id"]: a["value"] for a in answers.json["answers"]}["certificate"] == "plus"

    workbook = trust.get(f"/api/v1/requests/{reference}/export.xlsx", headers=bearer(key))
    assert workbook.status_code == 200
    assert workbook.headers["Content-Disposition"].startswith("attachment")
    sheets = load_workbook(io.BytesIO(workbook.data)).sheetnames
    assert "Answers" in sheets and "Summary" in sheets

    decided = trust.post(
        f"/api/v1/requests/{reference}/decision",
        json={
            "outcome": "accepted_with_conditions",
            "reason": "Good controls",
            "conditions": ["Sign our DPA by 31/01/2027"],
        },
        headers=bearer(key),
    )
    assert decided.status_code == 200, decided.json
    assert decided.json["decision"]["conditions"] == ["Sign our DPA by 31/01/2027"]
    assert decided.json["decision"]["decided_by"] == "API key: Trust tracker"

    dbs.rollback()
    actors = dbs.scalars(
        select(AuditEvent.actor_label).where(AuditEvent.request_id == row.id)
    ).all()
    assert "API key: Trust tracker" in actors
    assert any(
        e.detail.get("format") == "xlsx"
        for e in dbs.scalars(select(AuditEvent).where(AuditEvent.action == "export_downloaded"))
    )


def test_create_request_uses_the_pages_messages_and_can_leave_the_email_to_the_caller(
    app: Flask, make: Factory, client: FlaskClient, sent_mail: list[dict[str, str]]
) -> None:
    key = bearer(make_key(app, make.org()))
    bad = client.post(
        "/api/v1/requests",
        json={
            "supplier_name": "",
            "contact_email": "not-an-email",
            "questionnaire": "nope",
            "link_days": 400,
            "status": "accepted",  # ignored: not a field of the form
        },
        headers=key,
    )
    assert bad.status_code == 422
    assert bad.json["type"] == "/api/v1/problems/validation"
    assert bad.json["errors"]["supplier_name"] == ["Enter the supplier's name"]
    assert bad.json["errors"]["contact_email"] == [
        "Enter an email address in the correct format, like name@example.com"
    ]
    assert bad.json["errors"]["link_days"] == ["Enter a number of days between 1 and 90"]
    assert "questionnaire" in bad.json["errors"]

    quiet = client.post(
        "/api/v1/requests", json={**NEW_REQUEST, "email_supplier": False}, headers=key
    )
    assert quiet.status_code == 201
    assert sent_mail == []
    assert quiet.json["supplier_link"]

    not_json = client.post("/api/v1/requests", data="x", headers=key)
    assert not_json.status_code == 415
    assert not_json.mimetype == "application/problem+json"


def test_keys_are_checked_scoped_and_kept_to_their_organisation(
    app: Flask, make: Factory, client: FlaskClient, dbs: Session
) -> None:
    school, other = make.org(), make.org()
    author = make.user(other)
    theirs, _ = make.request(author, "features")
    reader = bearer(make_key(app, school, scope="read"))
    writer = bearer(make_key(app, school))

    nothing = client.get("/api/v1/requests")
    assert nothing.status_code == 401
    assert nothing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/requests", headers=bearer("ddp_wrong")).status_code == 401

    assert client.get(f"/api/v1/requests/{theirs.reference}", headers=writer).status_code == 404
    assert (
        client.get(f"/api/v1/requests/{theirs.reference}/findings", headers=writer).status_code
        == 404
    )
    assert (
        client.post(f"/api/v1/requests/{theirs.reference}/revoke", headers=writer).status_code
        == 404
    )

    read_only = client.post("/api/v1/requests", json=NEW_REQUEST, headers=reader)
    assert read_only.status_code == 403
    assert "read and write key" in read_only.json["detail"]
    assert client.get("/api/v1/requests", headers=reader).status_code == 200

    # A supplier's token is not a staff credential, nor a key a supplier's.
    _, link = make.request(make.user(school), "features")
    assert client.get("/api/v1/requests", headers=bearer(token_of(link))).status_code == 401
    assert client.get("/api/v1/supplier/request", headers=writer).status_code == 401

    # Revoked: refused at once; last use was recorded.
    dbs.rollback()
    key_row = dbs.scalars(select(ApiKey).where(ApiKey.scope == "read")).one()
    assert key_row.last_used_at is not None
    with app.test_request_context():
        user = db.session.merge(make.user(school, role="admin"))
        api_keys.revoke_api_key(db.session, db.session.merge(key_row), user)
        db.session.commit()
    assert client.get("/api/v1/requests", headers=reader).status_code == 401


def test_list_filters_and_pages_with_a_cursor(
    app: Flask, make: Factory, client: FlaskClient
) -> None:
    school = make.org()
    author = make.user(school)
    for name in ("Alpha Ltd", "Beta Ltd", "Alpha Cloud"):
        make.request(author, "features", supplier_name=name)
    key = bearer(make_key(app, school))

    first = client.get("/api/v1/requests?limit=2", headers=key)
    assert [r["supplier"] for r in first.json["items"]] == ["Alpha Cloud", "Beta Ltd"]
    second = client.get(f"/api/v1/requests?limit=2&cursor={first.json['next_cursor']}", headers=key)
    assert [r["supplier"] for r in second.json["items"]] == ["Alpha Ltd"]
    assert second.json["next_cursor"] is None
    assert first.json["total"] == second.json["total"] == 3

    alpha = client.get("/api/v1/requests?supplier=alpha", headers=key)
    assert {r["supplier"] for r in alpha.json["items"]} == {"Alpha Ltd", "Alpha Cloud"}
    assert alpha.json["total"] == 2
    assert client.get("/api/v1/requests?status=accepted", headers=key).json["items"] == []
    bad = client.get("/api/v1/requests?status=done&limit=0", headers=key)
    assert bad.status_code == 400
    assert client.get("/api/v1/requests?cursor=%%%", headers=key).status_code == 400


def test_link_actions_over_the_api(
    app: Flask, make: Factory, client: FlaskClient, sent_mail: list[dict[str, str]]
) -> None:
    school = make.org()
    row, link = make.request(make.user(school), "features")
    key = bearer(make_key(app, school))
    base = f"/api/v1/requests/{row.reference}"

    reminded = client.post(f"{base}/remind", headers=key)
    assert reminded.status_code == 200
    assert reminded.json["kind"] == "nudge"
    assert sent_mail[-1]["subject"].startswith("Reminder:")

    extended = client.post(f"{base}/extend", json={"days": 10}, headers=key)
    assert extended.status_code == 200
    assert client.post(f"{base}/extend", json={"days": "ten"}, headers=key).status_code == 422

    reissued = client.post(f"{base}/reissue", headers=key)
    assert reissued.status_code == 200
    new_token = bearer(token_of(reissued.json["supplier_link"]))
    assert client.get("/api/v1/supplier/request", headers=bearer(token_of(link))).status_code == 401
    assert client.get("/api/v1/supplier/request", headers=new_token).status_code == 200

    revoked = client.post(f"{base}/revoke", headers=key)
    assert revoked.status_code == 200
    assert revoked.json["status"] == "revoked"
    assert client.get("/api/v1/supplier/request", headers=new_token).status_code == 401
    assert client.post(f"{base}/remind", headers=key).status_code == 409


def test_clarifications_over_the_api(app: Flask, make: Factory, client: FlaskClient) -> None:
    school = make.org()
    row, _ = make.submitted(make.user(school), "features")
    key = bearer(make_key(app, school))
    base = f"/api/v1/requests/{row.reference}"
    empty = client.post(f"{base}/clarifications", json={"notes": {}}, headers=key)
    assert empty.status_code == 422
    assert "at least one answer" in empty.json["detail"]
    asked = client.post(
        f"{base}/clarifications", json={"notes": {"cover": "Which insurer?"}}, headers=key
    )
    assert asked.status_code == 201
    assert asked.json["questions"] == ["cover"]
    assert asked.json["status"] == "clarification"


def test_the_browser_session_works_with_csrf(app: Flask, make: Factory) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    user = make.user(make.org())
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert client.get("/api/v1/requests").status_code == 200
    no_csrf = client.post("/api/v1/requests", json=NEW_REQUEST)
    assert no_csrf.status_code == 400
    assert "CSRF" in no_csrf.json["detail"]


def test_directory_over_the_api(app: Flask, make: Factory, client: FlaskClient) -> None:
    school = make.org()
    key = bearer(make_key(app, school))
    assert client.get("/api/v1/directory", headers=key).json == {"items": [], "next_cursor": None}
    assert client.get("/api/v1/directory?category=nope", headers=key).status_code == 400
    assert client.get("/api/v1/directory/999", headers=key).status_code == 404


def test_questionnaires_are_listed_for_keys_and_tokens(
    app: Flask, make: Factory, client: FlaskClient
) -> None:
    school = make.org()
    key = bearer(make_key(app, school))
    listed = client.get("/api/v1/questionnaires", headers=key)
    assert "features" in {q["key"] for q in listed.json["items"]}
    assert client.get("/api/v1/questionnaires").status_code == 401
    assert client.get("/api/v1/questionnaires/features/99", headers=key).status_code == 404


@pytest.mark.config(RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute")
def test_each_key_has_a_rate_limit(app: Flask, make: Factory, client: FlaskClient) -> None:
    key = bearer(make_key(app, make.org()))
    statuses = [client.get("/api/v1/requests", headers=key).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/requests", headers=key)
    assert limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    other = bearer(make_key(app, make.org()))
    assert client.get("/api/v1/requests", headers=other).status_code == 200


def test_service_users_cannot_sign_in_and_are_not_listed(
    app: Flask, make: Factory, dbs: Session
) -> None:
    school = make.org()
    make_key(app, school)
    dbs.rollback()
    service = dbs.scalars(select(User).where(User.is_service.is_(True))).one()
    assert service.password_hash is None
    assert dbs.scalar(select(func.count()).select_from(User).where(User.is_service.is_(False))) == 0
    client = app.test_client()
    refused = client.post("/login", data={"email": service.email, "password": ""})
    assert refused.status_code == 200  # the form again, with its message
    assert client.get("/").status_code == 302  # still signed out


def test_an_admin_makes_a_key_sees_it_once_and_revokes_it(
    app: Flask, make: Factory, client: FlaskClient, dbs: Session
) -> None:
    school = make.org("Oakfield Primary")
    admin = make.user(school, role="admin")
    login(client, admin)
    blank = client.post("/api-keys", data={"name": "", "scope": ""})
    assert "Enter a name for the key" in blank.get_data(as_text=True)
    assert "Choose what the key may do" in blank.get_data(as_text=True)

    made = client.post("/api-keys", data={"name": "Trust tracker", "scope": "read"})
    page = made.get_data(as_text=True)
    assert made.status_code == 200
    secret = page.split('id="new-key" type="text" readonly value="', 1)[1].split('"', 1)[0]
    assert secret.startswith("ddp_")
    dbs.rollback()
    key = dbs.scalars(select(ApiKey)).one()
    assert key.key_hash != secret and secret not in key.key_hash  # only a hash is kept
    assert key.created_by_id == admin.id

    assert client.get("/api/v1/requests", headers=bearer(secret)).status_code == 200
    listing = client.get("/api-keys").get_data(as_text=True)
    assert secret not in listing  # never shown again
    assert key.prefix in listing
    assert "Never" not in listing  # last used is shown

    revoked = client.post(f"/api-keys/{key.id}/revoke", follow_redirects=True)
    assert "The key Trust tracker no longer works" in revoked.get_data(as_text=True)
    assert client.get("/api/v1/requests", headers=bearer(secret)).status_code == 401
    dbs.rollback()
    events = dbs.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("api_key%")).order_by(AuditEvent.id)
    ).all()
    assert events == ["api_key_created", "api_key_used", "api_key_revoked"]


def test_reviewers_cannot_manage_keys_and_other_organisations_keys_are_404(
    app: Flask, make: Factory, client: FlaskClient, dbs: Session
) -> None:
    school, other = make.org(), make.org()
    make_key(app, other)
    dbs.rollback()
    theirs = dbs.scalars(select(ApiKey)).one()
    login(client, make.user(school, role="reviewer"))
    assert client.get("/api-keys").status_code == 403
    admin_client = app.test_client()
    login(admin_client, make.user(school, role="admin"))
    assert admin_client.post(f"/api-keys/{theirs.id}/revoke").status_code == 404


def test_the_cli_prints_a_new_key_once(app: Flask, make: Factory) -> None:
    school = make.org()
    result = app.test_cli_runner().invoke(
        args=[
            "create-api-key",
            "--org",
            str(school.id),
            "--name",
            "Nightly sync",
            "--scope",
            "write",
        ]
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("ddp_")
    assert app.test_client().get("/api/v1/requests", headers=bearer(secret)).status_code == 200
    missing = app.test_cli_runner().invoke(
        args=["create-api-key", "--org", "999", "--name", "x", "--scope", "read"]
    )
    assert missing.exit_code != 0
    assert "There is no organisation with id 999" in missing.output


def test_reviewing_findings_reopening_and_the_register_over_the_api(
    app: Flask, make: Factory, client: FlaskClient
) -> None:
    school = make.org()
    row, _ = make.submitted(
        make.user(school),
        "features",
        answers={"certificate": "plus", "expiry": "2099-01-31"},
        supplier_name="Reviewed Ltd",
    )
    key = bearer(make_key(app, school))
    base = f"/api/v1/requests/{row.reference}"

    no_reason = client.put(f"{base}/findings/expiry/review", json={"outcome": "met"}, headers=key)
    assert no_reason.status_code == 422
    assert no_reason.json["errors"]["reason"] == [
        "Say why you judge it differently, for example the compensating control you accept"
    ]
    judged = client.put(
        f"{base}/findings/expiry/review",
        json={"outcome": "not_met", "reason": "The certificate on file is a draft"},
        headers=key,
    )
    assert judged.status_code == 200
    expiry = next(f for f in judged.json["findings"] if f["question_id"] == "expiry")
    assert expiry["outcome"] == "not_met"
    assert expiry["computed"] == "met"
    assert expiry["review"]["reason"] == "The certificate on file is a draft"
    assert (
        client.put(
            f"{base}/findings/nothing/review", json={"outcome": "met", "reason": "x"}, headers=key
        ).status_code
        == 404
    )

    removed = client.delete(f"{base}/findings/expiry/review", headers=key)
    expiry = next(f for f in removed.json["findings"] if f["question_id"] == "expiry")
    assert expiry["outcome"] == "met" and expiry["review"] is None

    assert client.post(f"{base}/reopen", headers=key).status_code == 409  # not decided yet
    client.post(f"{base}/decision", json={"outcome": "rejected", "reason": "No"}, headers=key)
    reopened = client.post(f"{base}/reopen", headers=key)
    assert reopened.status_code == 200
    assert reopened.json["status"] == "resubmitted"

    register = client.get("/api/v1/register.xlsx?answer=certificate", headers=key)
    assert register.status_code == 200
    sheet = load_workbook(io.BytesIO(register.data)).active
    values = [c.value for row_cells in sheet.iter_rows() for c in row_cells]
    assert "Reviewed Ltd" in values
