"""Email through a real SMTP server on loopback, failures kept and retried,
reminders, and tokens that never reach a log line."""

from __future__ import annotations

import email
import logging
import socket
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import OutgoingEmail, Request, User, utcnow
from portal.services.jobs.reminders import send_reminders

from .conftest import real_server
from .factories import LINK, PASSWORD, Factory, login


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """An aiosmtpd handler keeping every message that arrives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()


def parts(message: Message) -> tuple[str, str]:
    text = html = ""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode()
        elif part.get_content_type() == "text/html":
            html = part.get_payload(decode=True).decode()
    return text, html


def send_request(client: FlaskClient, make: Factory) -> None:
    login(client, make.user())
    response = client.post(
        "/requests/new",
        data={
            "questionnaire": "it_support",
            "supplier_name": "Acme IT Services Ltd",
            "contact_name": "Sam Carter",
            "contact_email": "sam@acme.example",
        },
    )
    assert response.status_code == 302


def test_invitation_arrives_over_smtp_as_text_and_html(
    app: Flask, client: FlaskClient, make: Factory, inbox: Inbox, smtp_port: int, dbs: Session
) -> None:
    app.config["PORTAL_SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    send_request(client, make)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "sam@acme.example"
    assert "asks you to complete: IT support provider due diligence" in message["Subject"]
    text, html = parts(message)
    link = LINK.search(text)
    assert link is not None
    assert f'<a href="{link.group(0)}">' in html
    stored = dbs.scalar(select(OutgoingEmail))
    assert stored is not None
    assert stored.sent_at is not None
    assert stored.attempts == 1
    assert link.group(0) not in stored.body
    assert link.group(0) not in (stored.html_body or "")


def test_a_failed_delivery_is_kept_and_retried(
    app: Flask, client: FlaskClient, make: Factory, smtp_port: int, dbs: Session
) -> None:
    app.config["PORTAL_SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"  # nothing listens yet
    send_request(client, make)
    dbs.rollback()
    stored = dbs.scalar(select(OutgoingEmail))
    assert stored is not None
    assert stored.sent_at is None
    assert stored.attempts == 1
    assert "ConnectionRefusedError" in (stored.error or "")
    assert dbs.scalar(select(Request)) is not None  # the request itself was saved

    runner = app.test_cli_runner()
    still_down = runner.invoke(args=["send-emails"])
    assert still_down.exit_code == 1
    assert "0 sent, 1 still waiting" in still_down.output

    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        retried = runner.invoke(args=["send-emails"])
    finally:
        controller.stop()
    assert retried.exit_code == 0, retried.output
    assert "1 sent, 0 still waiting" in retried.output
    assert len(handler.messages) == 1
    assert LINK.search(parts(handler.messages[0])[0])  # the link survived until delivery
    dbs.rollback()
    stored = dbs.scalar(select(OutgoingEmail))
    assert stored is not None
    assert stored.sent_at is not None
    assert stored.attempts == 3
    assert stored.error is None


def test_reminders_before_the_due_date_and_when_overdue_never_twice_a_day(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]], client: FlaskClient
) -> None:
    reviewer = make.user()
    row, _ = make.request(reviewer)
    today = utcnow().date()
    stored = dbs.get(Request, row.id)
    assert stored is not None
    stored.due_date = today + timedelta(days=7)
    dbs.commit()

    with app.test_request_context():
        assert [r.kind for r in send_reminders(db.session, today)] == ["due_soon"]
        db.session.commit()
        assert send_reminders(db.session, today) == []  # not twice the same day
        assert send_reminders(db.session, today + timedelta(days=1)) == []  # not a reminder day
        overdue = send_reminders(db.session, today + timedelta(days=14))
        assert [(r.kind, r.days) for r in overdue] == [("overdue", -7)]
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert "0 reminder(s) sent" in result.output  # today's was sent above
    login(client, reviewer)
    page = client.get(f"/requests/{row.id}").get_data(as_text=True)
    assert page.count("Reminder sent") == 2


def test_send_reminders_command_emails_the_contact(
    app: Flask, make: Factory, dbs: Session, sent_mail: list[dict[str, str]]
) -> None:
    row, _ = make.request(make.user())
    stored = dbs.get(Request, row.id)
    assert stored is not None
    stored.due_date = utcnow().date() + timedelta(days=2)
    dbs.commit()
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert f"{row.reference}: due soon (sam@acme.example)" in result.output
    assert sent_mail[-1]["to"] == "sam@acme.example"
    assert "that is in 2 days" in sent_mail[-1]["body"]


def test_no_token_reaches_any_log_line_in_a_whole_journey(
    app: Flask, make: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    """Through a real server with request logging, as in production."""
    row, link = make.request(make.user())
    token = link.rsplit("/", 1)[1]
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with real_server(app) as base, caplog.at_level(logging.DEBUG):
        logging.getLogger("werkzeug").setLevel(logging.INFO)
        with opener.open(base + link) as response:
            assert response.status == 200
            assert response.url.endswith(f"/respond/{row.reference}/")
        with opener.open(f"{base}/respond/{row.reference}/tasks") as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError, match="404"):
            opener.open(f"{base}/respond/link/{token}x")
    lines = [record.getMessage() for record in caplog.records]
    assert any("/respond/link/[redacted]" in line for line in lines), lines
    assert not [line for line in lines if token in line]


# Issue 20, finding 3: links follow PORTAL_BASE_URL, never the Host header.
# No SERVER_NAME, as in production: Flask would build external links on it.
@pytest.mark.config(SERVER_NAME=None)
def test_a_forged_host_never_reaches_a_reset_or_supplier_link(
    client: FlaskClient, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    user = make.user()
    forged = {"Host": "evil.example"}
    assert client.post("/forgot-password", data={"email": user.email}, headers=forged).status_code
    reset = sent_mail[-1]["body"]
    assert "http://portal.test/reset-password/" in reset
    assert "evil.example" not in reset

    # Signed in and sending a request, all through the forged host.
    evil = client.application.test_client()
    signed_in = evil.post(
        "/login", data={"email": user.email, "password": PASSWORD}, base_url="http://evil.example"
    )
    assert signed_in.status_code == 302
    sent = evil.post(
        "/requests/new",
        data={
            "questionnaire": "it_support",
            "supplier_name": "Acme IT Services Ltd",
            "contact_name": "Sam Carter",
            "contact_email": "sam@acme.example",
        },
        base_url="http://evil.example",
    )
    assert sent.status_code == 302
    invitation = sent_mail[-1]["body"]
    assert "http://portal.test/respond/link/" in invitation
    assert "evil.example" not in invitation


@pytest.mark.config(
    PORTAL_ENV="production",
    SECRET_KEY="production-secret-key-of-at-least-32-characters",
    PORTAL_BASE_URL="https://portal.example",
    SERVER_NAME=None,
)
def test_production_answers_an_unknown_host_with_400(
    client: FlaskClient, make: Factory, sent_mail: list[dict[str, str]]
) -> None:
    user = make.user()
    forged = client.post(
        "/forgot-password",
        data={"email": user.email},
        headers={"Host": "evil.example"},
        base_url="https://evil.example",
    )
    assert forged.status_code == 400
    assert sent_mail == []
    ours = client.get("/login", base_url="https://portal.example")
    assert ours.status_code == 200


# Issue 20, finding 5: the reply takes the same work either way.
def test_forgot_password_replies_before_any_email_is_sent(
    app: Flask, make: Factory, sent_mail: list[dict[str, str]], dbs: Session
) -> None:
    """Registered or not, the reply is finished with nothing done: the reset is
    made and sent when the server closes the response, so its time says nothing."""
    user = make.user()
    unserved = FlaskClient(app)  # a client that does not close responses by itself
    known = unserved.post("/forgot-password", data={"email": user.email})
    unknown = unserved.post("/forgot-password", data={"email": "nobody@nowhere.example"})
    assert known.status_code == unknown.status_code == 200
    assert sent_mail == []
    assert dbs.scalars(select(OutgoingEmail)).all() == []
    unknown.close()
    assert sent_mail == []
    known.close()  # what a WSGI server does once the body has gone
    assert [m["to"] for m in sent_mail] == [user.email]
    assert "http://portal.test/reset-password/" in sent_mail[0]["body"]
    dbs.rollback()
    assert dbs.scalar(select(OutgoingEmail.sent_at)) is not None


# Issue 20, finding 9: a line break in a name.
def test_a_name_is_one_line_and_a_bad_email_never_blocks_the_queue(
    app: Flask, client: FlaskClient, make: Factory, inbox: Inbox, smtp_port: int, dbs: Session
) -> None:
    app.config["PORTAL_SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    admin = make.user(role="admin")
    # A name saved before names were checked.
    dbs.execute(
        update(User).where(User.id == admin.id).values(name="Ann\nBcc: everyone@evil.example")
    )
    dbs.commit()
    login(client, admin)
    refused = client.post(
        "/users", data={"email": "new@school.example", "name": "Eve\r\nBcc: x", "role": "viewer"}
    )
    assert refused.status_code == 200
    assert "Enter their name on one line" in refused.get_data(as_text=True)
    invited = client.post(
        "/users", data={"email": "new@school.example", "name": "Eve Smith", "role": "viewer"}
    )
    assert invited.status_code == 302  # the inviter's own two-line name breaks nothing
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["Subject"].startswith("Ann Bcc: everyone@evil.example has invited")
    assert inbox.messages[0]["Bcc"] is None

    # A row that can never be sent (written before names were checked) is
    # marked failed with its reason; the emails after it still go.
    dbs.add_all(
        [
            OutgoingEmail(to_address="a@school.example", subject="Broken\nBcc: x", body="1"),
            OutgoingEmail(to_address="b@school.example", subject="Fine", body="2"),
        ]
    )
    dbs.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-emails"])
    assert "1 sent, 0 still waiting" in result.output
    assert "to a@school.example failed for good: Cannot be sent" in result.output
    assert result.exit_code == 1
    assert [m["To"] for m in inbox.messages[1:]] == ["b@school.example"]
    dbs.expire_all()
    broken = dbs.scalar(select(OutgoingEmail).where(OutgoingEmail.subject.startswith("Broken")))
    assert broken is not None
    assert broken.sent_at is None
    assert (broken.error or "").startswith("Cannot be sent")
    again = runner.invoke(args=["send-emails"])
    assert "0 sent, 0 still waiting" in again.output  # not retried for ever


# Issue 20, finding 13: only our own links are links.
def test_addresses_people_typed_are_never_links_in_an_email(make: Factory, dbs: Session) -> None:
    admin = make.user()
    make.request(admin, message="Please sign in first at https://evil.example/login")
    sent = dbs.scalar(select(OutgoingEmail))
    assert sent is not None
    html = sent.html_body or ""
    assert "https://evil.example/login" in html  # shown, as typed
    assert 'href="https://evil.example' not in html
    assert '<a href="http://portal.test/respond/link/' in html  # the link we made
