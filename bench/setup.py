"""A throw-away installation for measuring: its own database, data and server."""

from __future__ import annotations

import gc
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-" + "x" * 40
KEY = "cloud_supplier"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Installation:
    folder: Path
    database_url: str

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": SECRET,
            "PORTAL_BASE_URL": "http://127.0.0.1",
            "UPLOAD_FOLDER": str(self.folder / "uploads"),
            "PORTAL_SMTP_URL": "memory://",
            # Every simulated supplier opens its link from the same address.
            "TOKEN_RATE_LIMIT": "100000 per minute",
        }


@contextmanager
def installation(database_url: str | None = None) -> Iterator[Installation]:
    """A migrated, empty database in a temporary folder (or the URL given)."""
    from portal.cli import upgrade_database

    logging.getLogger("alembic").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as folder:
        url = database_url or f"sqlite:///{folder}/bench.sqlite3"
        upgrade_database("head", url)
        yield Installation(Path(folder), url)


def make_app(place: Installation) -> Flask:
    from portal import create_app

    app = create_app(
        {
            "DATABASE_URL": place.database_url,
            "SECRET_KEY": SECRET,
            "PORTAL_BASE_URL": "http://127.0.0.1",
            "UPLOAD_FOLDER": str(place.folder / "uploads"),
            "PORTAL_SMTP_URL": "memory://",
            "TOKEN_RATE_LIMIT": "100000 per minute",
        }
    )
    gc.freeze()  # as app.py does for gunicorn: start-up's objects, frozen
    return app


@dataclass
class Seeded:
    references: list[str]
    links: list[str]  # paths: /respond/link/<token>


def seed(app: Flask, count: int, answered: bool, key: str = KEY) -> Seeded:
    """An organisation, a reviewer and ``count`` requests (fully answered, or not)."""
    from portal.demo import attach_demo_files
    from portal.extensions import db
    from portal.models import Organisation
    from portal.questionnaire.examples import example_answers
    from portal.services.accounts import users as accounts
    from portal.services.accounts.passwords import hash_password
    from portal.services.requests import answering as responses
    from portal.services.requests import lifecycle as requests

    references: list[str] = []
    links: list[str] = []
    with app.test_request_context(base_url="http://127.0.0.1"):
        session = db.session
        organisation = session.query(Organisation).filter_by(name="Bench School").one_or_none()
        if organisation is None:
            organisation = accounts.create_organisation(session, "Bench School", "school")
            user = accounts.create_user(
                session,
                email="bench@school.example",
                name="Bench Reviewer",
                organisation=organisation,
                role="admin",
                password_hash=hash_password("bench-password-long-enough-1"),
            )
        else:
            user = organisation_user(session, organisation)
        for number in range(count):
            issued = requests.create_request(
                session,
                organisation,
                user,
                requests.NewRequest(
                    supplier_name=f"Bench Supplier {number}",
                    contact_name="Sam Carter",
                    contact_email=f"sam{number}@supplier.example",
                    questionnaire_key=key,
                    due_date=None,
                    message="",
                ),
            )
            row = issued.request
            if answered:
                definition = responses.questionnaire_of(row)
                responses.save_answers(session, row, example_answers(definition))
                attach_demo_files(session, row, definition)
            references.append(row.reference)
            links.append(re.sub(r"^https?://[^/]+", "", issued.url))
            if number % 50 == 49:
                session.commit()
        session.commit()
    return Seeded(references, links)


def organisation_user(session: Any, organisation: Any) -> Any:
    from portal.models import Membership

    return session.query(Membership).filter_by(organisation_id=organisation.id).first().user


@contextmanager
def gunicorn(place: Installation, workers: int) -> Iterator[str]:
    """gunicorn with sync workers serving bench/wsgi.py on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 (our own command)
        [
            sys.executable, "-m", "gunicorn", "bench.wsgi:app",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--worker-class", "sync", "--log-level", "warning", "--timeout", "60",
        ],
        cwd=ROOT,
        env=place.environment(),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_up(base: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start in time")


def add_floor_routes(app: Flask, size: int) -> None:
    """The same bytes as a real page (or a JSON reply) with none of the work:
    what any route of this server costs, measured in the same run. The size
    can change later through app.config["BENCH_FLOOR_BYTES"]."""
    from flask import Response, jsonify

    from portal.extensions import csrf

    app.config["BENCH_FLOOR_BYTES"] = size
    bodies: dict[int, bytes] = {}

    def floor() -> Response:
        wanted = int(app.config["BENCH_FLOOR_BYTES"])
        body = bodies.get(wanted) or bodies.setdefault(wanted, b"x" * wanted)
        return Response(body, mimetype="text/html")

    def floor_json() -> Response:
        return jsonify(saved=["q"], errors={}, conflicts={}, revisions={"q": 1}, shown={})

    app.add_url_rule("/bench/floor", "bench_floor", floor)
    # No CSRF check: the floor is the cost of any route, not of our protections.
    app.add_url_rule(
        "/bench/floor.json", "bench_floor_json", csrf.exempt(floor_json), methods=["POST"]
    )
