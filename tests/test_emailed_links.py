"""Issue 20: links in emails and on pages are ours (finding 3), "forgot
password" takes the same work either way (finding 5), names are one line
(finding 9), and nothing anyone typed becomes a link in an email (finding 13)."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.demo import attach_demo_files
from portal.extensions import db
from portal.models import Answer, Organisation, OutgoingEmail, Request, UserToken
from portal.questionnaire.examples import example_answers
from portal.services.requests import answering as responses
from portal.services.requests import clarifications

from .conftest import real_server
from .factories import FEATURES_MAIN, Factory, login
from .test_api import NEW_REQUEST, bearer, make_key
from .test_email import Controller, free_port

FORGED = "http://evil.example"


# Finding 5
def test_forgot_password_does_the_same_work_for_any_address(
    app: Flask,
    make: Factory,
    statements: list[str],
    sent_mail: list[dict[str, str]],
    dbs: Session,
) -> None:
    """Until the response is closed, a registered and an unknown address cost
    the same database work (none): the token, the email and its delivery all
    come after the reply, so how long the reply took says nothing."""
    user = make.user()
    unserved = FlaskClient(app)  # does not close its responses: we do, below

    statements.clear()
    known = unserved.post("/forgot-password", data={"email": user.email})
    known_work = list(statements)
    statements.clear()
    unknown = unserved.post("/forgot-password", data={"email": "nobody@nowhere.example"})
    unknown_work = list(statements)

    assert known.status_code == unknown.status_code == 200
    assert known_work == unknown_work
    assert dbs.scalars(select(UserToken)).all() == []
    assert dbs.scalars(select(OutgoingEmail)).all() == []
    assert sent_mail == []

    unknown.close()
    known.close()  # what the WSGI server does once the body has gone
    assert [m["to"] for m in sent_mail] == [user.email]
    assert sent_mail[0]["body"].count("http://portal.test/reset-password/") == 1
    dbs.rollback()
    assert len(dbs.scalars(select(UserToken)).all()) == 1
    sent = dbs.scalar(select(OutgoingEmail))
    assert sent is not None and sent.sent_at is not None


def test_a_reset_that_fails_after_the_response_leaves_the_email_for_send_emails(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session
) -> None:
    """The outbox stays the durable record: a mail server that is down after
    the reply leaves the reset email queued, with its error, for send-emails."""
    app.config["PORTAL_SMTP_URL"] = "smtp://127.0.0.1:9"  # nothing listens
    user = make.user()
    assert client.post("/forgot-password", data={"email": user.email}).status_code == 200
    dbs.rollback()
    waiting = dbs.scalar(select(OutgoingEmail))
    assert waiting is not None
    assert waiting.to_address == user.email
    assert waiting.sent_at is None
    assert "ConnectionRefusedError" in (waiting.error or "")
    assert "/reset-password/" in waiting.body  # kept whole until it is delivered


class HangingInbox:
    """A mail server that takes each message only when the test lets it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.arrived = threading.Event()
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.arrived.set()
        # aiosmtpd runs handlers on its own event loop thread: blocking it
        # here is what a mail server that hangs looks like to the portal.
        self.release.wait(timeout=30)
        self.received.append(envelope.content)
        return "250 OK"


@contextmanager
def served_with_a_hanging_mail_server(app: Flask) -> Iterator[tuple[str, HangingInbox]]:
    """The app behind a real threaded server (its base URL), sending mail to
    a server that holds every message until the test releases it."""
    port = free_port()
    app.config["PORTAL_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    mail = HangingInbox()
    controller = Controller(mail, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with real_server(app) as base:
            try:
                yield base, mail
            finally:
                mail.release.set()
    finally:
        controller.stop()


def test_a_hanging_mail_server_never_holds_the_reply(app: Flask, make: Factory) -> None:
    """Through a real server: the reply to forgot-password has been read in
    full while the mail server still holds the reset email."""
    user = make.user()
    with served_with_a_hanging_mail_server(app) as (base, mail):
        form = urllib.parse.urlencode({"email": user.email}).encode()
        with urllib.request.urlopen(base + "/forgot-password", data=form, timeout=10) as reply:  # noqa: S310 (loopback)
            assert reply.status == 200
            assert b"</html>" in reply.read()
        assert mail.arrived.wait(timeout=10)  # delivery started after the reply...
        assert mail.received == []  # ...and is still waiting on the mail server
    assert len(mail.received) == 1
    assert b"/reset-password/" in mail.received[0]


def test_other_writers_save_while_a_mail_server_hangs(
    app: Flask, make: Factory, dbs: Session
) -> None:
    """Issue 22, A1: no transaction is open while the mail server is talked
    to. Through a real threaded server, a supplier's autosaves go through and
    are stored while a reset email is still held by a mail server that will
    not take it; with SQLite's write lock held they would wait for it."""
    staff = make.user()
    row, link = make.request(staff, questionnaire="features")
    supplier = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with served_with_a_hanging_mail_server(app) as (base, mail):
        with supplier.open(base + link, timeout=10) as opened:  # the link, then its start page
            assert opened.status == 200
        form = urllib.parse.urlencode({"email": staff.email}).encode()
        with urllib.request.urlopen(base + "/forgot-password", data=form, timeout=10) as reply:  # noqa: S310 (loopback)
            assert reply.status == 200
            # Read to the end, as a browser does: a client that hangs up with the
            # body unread resets the connection, and Werkzeug's test server then
            # skips the response's close hooks (gunicorn runs them either way).
            assert b"</html>" in reply.read()
        assert mail.arrived.wait(timeout=10)  # the reset email is with the mail server now
        for value in ("basic", "plus", "basic"):
            save = urllib.request.Request(
                f"{base}/respond/{row.reference}/sections/main/autosave",
                data=json.dumps({"answers": {"certificate": value}}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with supplier.open(save, timeout=10) as saved:
                assert saved.status == 200
                assert json.loads(saved.read())["saved"] == ["certificate"]
        assert mail.received == []  # the mail server still holds the email
        dbs.rollback()
        stored = dbs.scalar(
            select(Answer).where(Answer.request_id == row.id, Answer.question_id == "certificate")
        )
        assert stored is not None and (stored.value, stored.revision) == ("basic", 3)
    assert len(mail.received) == 1


# Finding 3. No SERVER_NAME, as in production: with one, Flask builds
# external links on it and hides what a forged Host would do.
@pytest.mark.config(SERVER_NAME=None)
def test_links_emailed_shown_on_pages_and_in_the_api_are_on_portal_base_url(
    app: Flask, client: FlaskClient, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    school = make.org("Oakfield Primary")
    user = make.user(school)
    forgot = client.post("/forgot-password", data={"email": user.email}, base_url=FORGED)
    assert forgot.status_code == 200
    assert [m["to"] for m in sent_mail] == [user.email]
    assert "http://portal.test/reset-password/" in sent_mail[0]["body"]
    assert "evil.example" not in sent_mail[0]["body"]

    evil = app.test_client()
    assert (
        evil.post(
            "/login", data={"email": user.email, "password": "plum-orbit-canvas-ladder-91"},
            base_url=FORGED,
        ).status_code
        == 302
    )  # fmt: skip
    sent = evil.post(
        "/requests/new",
        data={
            "questionnaire": "features",
            "supplier_name": "Acme IT Services Ltd",
            "contact_name": "Sam Carter",
            "contact_email": "sam@acme.example",
        },
        base_url=FORGED,
        follow_redirects=True,
    )
    page = sent.get_data(as_text=True)
    assert "http://portal.test/respond/link/" in page  # the link to copy
    assert "evil.example/respond" not in page
    invitation = sent_mail[-1]["body"]
    assert "http://portal.test/respond/link/" in invitation
    assert "evil.example" not in invitation

    key = make_key(app, school)
    created = client.post(
        "/api/v1/requests", json=NEW_REQUEST, headers=bearer(key), base_url=FORGED
    )
    assert created.status_code == 201
    assert created.get_json()["supplier_link"].startswith("http://portal.test/respond/link/")


@pytest.mark.config(
    PORTAL_ENV="production",
    SECRET_KEY="production-secret-key-of-at-least-32-characters",
    PORTAL_BASE_URL="https://portal.example:8443",
    SERVER_NAME=None,
)
def test_production_serves_only_the_host_of_portal_base_url(client: FlaskClient) -> None:
    assert client.get("/login", base_url="https://portal.example:8443").status_code == 200
    for host in ("evil.example", "portal.example.evil.example", "evil.example:8443"):
        refused = client.get("/login", base_url=f"https://{host}")
        assert refused.status_code == 400, host
        assert "not served here" in refused.get_data(as_text=True)


# Finding 9
def test_names_are_one_line_wherever_they_are_typed(
    app: Flask, client: FlaskClient, make: Factory, dbs: Session
) -> None:
    school = make.org("Hillside Primary")
    admin = make.user(school, role="admin")
    login(client, admin)
    two_lines = "Pat\nBcc: all@evil.example"

    contact = client.post(
        "/requests/new",
        data={
            "questionnaire": "features",
            "supplier_name": "Acme IT Services Ltd",
            "contact_name": two_lines,
            "contact_email": "sam@acme.example",
        },
    )
    assert "Enter the contact&#39;s name on one line" in contact.get_data(as_text=True)
    governor = client.post(
        "/standards/digital-lead", data={"lead": str(admin.id), "link_governor": two_lines}
    )
    assert "Enter the governor&#39;s name on one line" in governor.get_data(as_text=True)
    key = client.post("/api-keys", data={"name": two_lines, "scope": "read"})
    assert "Enter the key&#39;s name on one line" in key.get_data(as_text=True)
    dbs.rollback()
    assert dbs.scalars(select(Request)).all() == []
    stored = dbs.get(Organisation, school.id)
    assert stored is not None and stored.link_governor in (None, "")

    row, link = make.request(admin, questionnaire="features")
    supplier = app.test_client()
    assert supplier.get(link).status_code == 303
    base = f"/respond/{row.reference}"
    assert supplier.post(f"{base}/sections/main", data=FEATURES_MAIN).status_code == 302
    declared = supplier.post(
        f"{base}/check",
        data={"declared_name": two_lines, "declared_role": "Director", "accurate": "y"},
    )
    assert "Enter your name on one line" in declared.get_data(as_text=True)
    dbs.rollback()
    assert dbs.get(Request, row.id).status != "submitted"  # type: ignore[union-attr]

    result = app.test_cli_runner().invoke(
        args=[
            "create-user", "--email", "new@school.example", "--name", two_lines,
            "--org-id", str(school.id), "--role", "viewer", "--password", "x" * 20,
        ]
    )  # fmt: skip
    assert result.exit_code != 0
    assert "Enter the name on one line" in result.output


# Finding 13
def submit_as(make: Factory, app: Flask, role: str) -> Request:
    author = make.user()
    row, _ = make.request(author, questionnaire="features")
    with app.test_request_context():
        row = db.session.merge(row)
        definition = responses.questionnaire_of(row)
        responses.save_answers(db.session, row, example_answers(definition))
        attach_demo_files(db.session, row, definition)
        responses.submit_response(db.session, row, responses.Declaration("Sam Carter", role, False))
        db.session.commit()
        return row


def test_a_submission_notice_links_only_our_own_link(
    app: Flask, make: Factory, dbs: Session
) -> None:
    typed = "Director, see https://evil.example/x and http://portal.test/respond/link/mine"
    row = submit_as(make, app, typed)
    notice = dbs.scalar(
        select(OutgoingEmail).where(OutgoingEmail.subject.contains("has submitted"))
    )
    assert notice is not None
    html = notice.html_body or ""
    assert "https://evil.example/x" in html  # shown, as typed
    assert 'href="https://evil.example' not in html
    assert 'href="http://portal.test/respond/link/mine' not in html  # looks like ours: typed
    assert f'<a href="http://portal.test/requests/{row.id}">' in html  # the link we made


def test_a_clarification_email_links_only_our_own_link(
    app: Flask, make: Factory, dbs: Session
) -> None:
    row = submit_as(make, app, "Director")
    with app.test_request_context():
        row = db.session.merge(row)
        question = next(responses.questionnaire_of(row).questions()).id
        clarifications.ask_clarification(
            db.session,
            row,
            row.created_by,  # type: ignore[arg-type]
            {question: "Your policy at http://portal.test/login?next=/x or https://evil.example"},
        )
        db.session.commit()
    asked = dbs.scalar(select(OutgoingEmail).where(OutgoingEmail.subject.contains("has questions")))
    assert asked is not None
    html = asked.html_body or ""
    assert 'href="https://evil.example' not in html
    assert 'href="http://portal.test/login' not in html
    assert html.count('<a href="http://portal.test/respond/link/') == 1
