"""More than one app server on one database (issue 23): each email sent once
whoever sends it, reminders once a day whichever server runs cron, evidence
files that any server can serve.

Run on PostgreSQL too (scripts/with-postgres.sh): there the outbox is claimed
with FOR UPDATE SKIP LOCKED and reminders take an advisory lock; on SQLite
the same code runs one writer at a time."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal import create_app
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Evidence,
    OutgoingEmail,
    ReminderSent,
    Request,
    StandardPlan,
    StoredFile,
    StoredFileChunk,
    utcnow,
)
from portal.services.jobs import reminders, review_reminders
from portal.services.platform import mail
from portal.services.platform.runtime import Settings, runtime
from portal.services.platform.storage import CHUNK, TooLarge

from .conftest import ROOT, TEST_QUESTIONNAIRES, app_config
from .factories import Factory, login
from .test_email import Inbox, free_port, send_request
from .test_retention import age
from .test_upload_safety import PDF


class SlowMailServer:
    """Stands in for a mail server that takes its time: long enough for two
    senders to overlap on every email."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.sent: list[tuple[int, str]] = []  # (email id, which worker)
        self.lock = threading.Lock()

    def __call__(
        self, settings: Settings, memory: list[dict[str, str]], email: OutgoingEmail
    ) -> tuple[str | None, bool]:
        time.sleep(self.seconds)
        with self.lock:
            self.sent.append((email.id, threading.current_thread().name))
        return None, False


def outbox(dbs: Session, count: int) -> list[int]:
    emails = [
        OutgoingEmail(to_address=f"n{n}@school.example", subject=f"Email {n}", body="Hello")
        for n in range(count)
    ]
    dbs.add_all(emails)
    dbs.flush()
    ids = [e.id for e in emails]
    dbs.commit()  # and no read after it: other sessions write meanwhile
    return ids


def unsent(dbs: Session) -> int:
    dbs.rollback()
    return dbs.scalar(select(func.count()).where(OutgoingEmail.sent_at.is_(None))) or 0


def test_two_workers_claiming_one_outbox_send_each_email_once(
    app: Flask, dbs: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = SlowMailServer()
    monkeypatch.setattr(mail, "_send", server)
    ids = outbox(dbs, 40)
    stop = threading.Event()

    def worker() -> None:
        with db.open(app) as session:
            mail.watch_outbox(session, stop, every=0.05)

    workers = [threading.Thread(target=worker, name=f"worker-{n}") for n in (1, 2)]
    for thread in workers:
        thread.start()
    deadline = time.monotonic() + 60
    while unsent(dbs) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    for thread in workers:
        thread.join(timeout=30)

    assert unsent(dbs) == 0
    assert sorted(email_id for email_id, _ in server.sent) == ids  # each once, none missed
    assert {name for _, name in server.sent} == {"worker-1", "worker-2"}  # both did a share
    recorded = dbs.scalars(select(OutgoingEmail)).all()
    assert {e.attempts for e in recorded} == {1}
    assert {e.claimed_until for e in recorded} == {None}


def test_a_crashed_workers_claim_lapses_and_the_email_goes_then(
    app: Flask, dbs: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = SlowMailServer(0)
    monkeypatch.setattr(mail, "_send", server)
    (email_id,) = outbox(dbs, 1)
    with db.open(app) as crashed:
        assert mail.claim(crashed).ids == [email_id]  # ... and it dies before sending
    with db.open(app) as survivor:
        assert mail.send_due(survivor).claimed == 0  # another's claim is respected
        assert mail.deliver(survivor, [email_id]).sent == 0  # by a request too
        assert server.sent == []
        dbs.execute(
            update(OutgoingEmail).values(claimed_until=utcnow() - timedelta(seconds=1))
        )  # the lease ends
        dbs.commit()
        assert mail.send_due(survivor).sent == 1
    assert [email_id for email_id, _ in server.sent] == [email_id]
    assert unsent(dbs) == 0


def test_a_worker_told_to_stop_gives_back_what_it_has_not_sent(
    app: Flask, dbs: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = threading.Event()

    def send_one_then_stop(*args: object) -> tuple[str | None, bool]:
        stop.set()  # SIGTERM arrives while the first email is with the mail server
        return None, False

    monkeypatch.setattr(mail, "_send", send_one_then_stop)
    outbox(dbs, 3)
    with db.open(app) as session:
        mail.watch_outbox(session, stop, every=0.05)
    dbs.rollback()
    rows = dbs.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)).all()
    assert [r.sent_at is not None for r in rows] == [True, False, False]
    assert [r.claimed_until for r in rows] == [None, None, None]  # free for the next worker


def test_a_failed_email_waits_before_the_worker_tries_again(
    app: Flask, dbs: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "_send", lambda *args: ("OSError: the server is away", False))
    (email_id,) = outbox(dbs, 1)
    with db.open(app) as session:
        assert mail.send_due(session).waiting == 1
        # Polled again at once: not tried again (ten tries would go in a minute).
        assert mail.send_due(session).claimed == 0
        monkeypatch.setattr(mail, "_send", SlowMailServer(0))
        # `send-emails` by hand, the server back: tried now.
        assert mail.send_pending(session).sent == 1
    stored = dbs.get(OutgoingEmail, email_id)
    assert stored is not None
    assert stored.attempts == 2
    assert stored.sent_at is not None


@pytest.mark.config(EMAIL_DELIVERY="worker")
def test_with_a_worker_the_request_leaves_its_email_to_the_worker(
    app: Flask,
    client: Flask,
    make: Factory,
    dbs: Session,
    database_url: str,
    tmp_path: Path,
) -> None:
    """`flask send-emails --watch` as a process of its own: it sends what a
    request queued over SMTP, and SIGTERM stops it cleanly."""
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "worker-test-secret-key-0123456789abcdef",
        "PORTAL_BASE_URL": "http://portal.test",
        "PORTAL_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "QUESTIONNAIRE_FOLDER": str(TEST_QUESTIONNAIRES),
        "EMAIL_DELIVERY": "worker",
    }
    worker = subprocess.Popen(  # noqa: S603 (our own command)
        [sys.executable, "-m", "flask", "--app", "app", "send-emails", "--watch", "--every",
         "0.2"],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        send_request(client, make)  # type: ignore[arg-type]
        assert app.extensions.get("portal_mail_memory", []) == []  # not sent by the request
        deadline = time.monotonic() + 60
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
        controller.stop()
    assert worker.returncode == 0, output
    assert b"1 sent" in output and b"Stopped" in output
    assert [m["To"] for m in inbox.messages] == ["sam@acme.example"]
    assert unsent(dbs) == 0


def test_two_reminder_runs_at_once_send_each_reminder_once(
    app: Flask, make: Factory, dbs: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two servers' cron running send-reminders at the same moment."""
    school = make.org("Oakfield Primary")
    admin = make.user(school, role="admin")
    rows = [make.request(admin, supplier_name=f"Supplier {n} Ltd")[0] for n in range(3)]
    today = utcnow().date()
    dbs.execute(
        update(Request)
        .where(Request.id.in_([r.id for r in rows]))
        .values(due_date=today + timedelta(days=7))
    )
    dbs.add(StandardPlan(organisation_id=school.id, standard="Filtering and monitoring",
                         next_review_date=today + timedelta(days=3)))  # fmt: skip
    dbs.commit()

    # Slow each queued email down, so the two runs overlap throughout.
    queue_email = mail.queue_email

    def slow_queue(*args: object, **kwargs: object) -> OutgoingEmail:
        time.sleep(0.2)
        return queue_email(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reminders, "queue_email", slow_queue)
    monkeypatch.setattr(review_reminders, "queue_email", slow_queue)
    start = threading.Barrier(2)
    counts: list[tuple[int, int]] = []

    def cron() -> None:
        with db.open(app) as session:
            start.wait()
            sent = reminders.send_reminders(session)
            reviews = review_reminders.send_review_reminders(session)
            session.commit()
            counts.append((len(sent), len(reviews)))

    runs = [threading.Thread(target=cron) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=60)

    assert sorted(counts) == [(0, 0), (3, 1)]  # one did the day's work, the other found it done
    dbs.rollback()
    events = Counter(
        dbs.scalars(select(AuditEvent.request_id).where(AuditEvent.action == "reminder_sent"))
    )
    assert events == {r.id: 1 for r in rows}
    assert dbs.scalar(select(func.count()).select_from(ReminderSent)) == 1
    assert dbs.scalar(select(func.count()).select_from(OutgoingEmail)) == 3 + 3 + 1  # invitations


# The evidence store in the database.


def database_app(database_url: str, folder: Path) -> Flask:
    """Another app server: its own folder (empty), the same database."""
    return create_app(app_config(database_url, folder, EVIDENCE_STORE="database"))


@pytest.mark.config(EVIDENCE_STORE="database")
def test_a_file_uploaded_through_one_server_downloads_through_another(
    app: Flask, make: Factory, database_url: str, tmp_path: Path
) -> None:
    row, link = make.request(make.user(), "features")
    first = app.test_client()
    first.get(link)
    uploaded = first.post(
        f"/respond/{row.reference}/sections/more",
        data={"policy": (io.BytesIO(PDF), "policy.pdf"), "shown": "policy", "action": "later"},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").rglob("*"))

    other = database_app(database_url, tmp_path / "other")
    with other.app_context():
        stored = db.session.scalars(select(Evidence)).one()
        reviewer = db.session.get(Request, row.id).created_by  # type: ignore[union-attr]
    # The supplier moves to the other server mid-questionnaire: its session
    # is a signed cookie, valid on any server with the same SECRET_KEY.
    second = other.test_client()
    cookie = first.get_cookie("session", domain="portal.test")
    assert cookie is not None
    second.set_cookie("session", cookie.value, domain="portal.test")
    own_copy = second.get(f"/respond/{row.reference}/files/{stored.id}")
    assert own_copy.status_code == 200
    assert own_copy.data == PDF
    staff = other.test_client()
    login(staff, reviewer)
    download = staff.get(f"/requests/{row.id}/files/{stored.id}")
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.config(EVIDENCE_STORE="database")
def test_the_database_store_keeps_a_file_in_chunks_with_its_transaction(
    app: Flask, dbs: Session
) -> None:
    data = os.urandom(2 * CHUNK + 12345)
    with db.open(app) as session:
        store = runtime(session).storage
        blob = store.put(io.BytesIO(data), limit=len(data))
        assert blob.size == len(data)
        assert blob.path.read_bytes() == data  # a local copy, for the type checks
        session.commit()
        assert not blob.path.exists()  # removed with the transaction
        copy = store.path(blob.key)
        assert copy.read_bytes() == data
        session.rollback()
        assert not copy.exists()

        with pytest.raises(TooLarge):
            store.put(io.BytesIO(data), limit=CHUNK)
        session.commit()
        undone = store.put(io.BytesIO(b"not kept"), limit=100)
        session.rollback()  # a failed request: its file goes with it
        assert not store.path(undone.key).exists()
    sizes = dbs.execute(
        select(StoredFileChunk.seq, func.length(StoredFileChunk.data)).order_by(StoredFileChunk.seq)
    ).all()
    assert sizes == [(0, CHUNK), (1, CHUNK), (2, 12345)]
    assert dbs.scalars(select(StoredFile.key)).all() == [blob.key]

    with db.open(app) as session:
        from portal.services.platform.storage import delete_after_commit

        delete_after_commit(session, blob.key)
        session.rollback()  # the row that named it stays: so does the file
        assert runtime(session).storage.path(blob.key).read_bytes() == data
        delete_after_commit(session, blob.key)
        session.commit()
        assert not runtime(session).storage.path(blob.key).exists()
    dbs.rollback()
    assert dbs.scalar(select(func.count()).select_from(StoredFileChunk)) == 0


@pytest.mark.config(EVIDENCE_STORE="database")
def test_purging_old_requests_removes_their_files_from_the_database(
    app: Flask, make: Factory, dbs: Session
) -> None:
    row, _ = make.submitted(make.user(), "features")
    age(dbs, row, 8, status="accepted")
    assert dbs.scalar(select(func.count()).select_from(StoredFile)) == 1
    done = app.test_cli_runner().invoke(args=["purge-closed"])
    assert "Purged 1 requests" in done.output, done.output
    dbs.rollback()
    assert dbs.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert dbs.scalar(select(func.count()).select_from(StoredFileChunk)) == 0


@pytest.mark.parametrize(("name", "value"), [("EVIDENCE_STORE", "s3"), ("EMAIL_DELIVERY", "cron")])
def test_an_unknown_store_or_delivery_is_refused_at_start(
    database_url: str, tmp_path: Path, name: str, value: str
) -> None:
    from portal.config import ConfigurationError

    with pytest.raises(ConfigurationError, match=name):
        create_app(app_config(database_url, tmp_path, **{name: value}))
