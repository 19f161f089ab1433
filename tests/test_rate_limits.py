"""Rate limits hold across every worker when they share Redis; the embedded
default (memory://) counts per worker, as the README says.

Two app instances stand for two gunicorn workers: each has its own limiter
and its own memory, exactly as separate processes do."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask

from portal import create_app
from portal.cli import upgrade_database

from .conftest import ROOT, app_config
from .factories import Factory, login


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (make test installs it)")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 (our own arguments)
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def server(database_url: str, tmp_path: Path, storage: str, **settings: str) -> Iterator[str]:
    """One gunicorn worker of its own: a separate process, with its own memory
    (``settings``: more of the environment it starts with)."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "rate-limit-test-secret-key-0123456789abcdef",
        "PORTAL_BASE_URL": f"http://127.0.0.1:{port}",
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "PORTAL_RATELIMIT_STORAGE_URL": storage,
        "API_RATE_LIMIT": "4 per minute",
        **settings,
    }
    process = subprocess.Popen(  # noqa: S603 (our own arguments)
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "app:app"],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def alternate(database_url: str, tmp_path: Path, storage: str, times: int) -> list[int]:
    """Calls alternating between two workers, as a load balancer would send them."""
    with (
        server(database_url, tmp_path, storage) as first,
        server(database_url, tmp_path, storage) as second,
    ):
        # Any limited route: the health check is exempt, so it can report the store.
        return [status_of(f"{(first, second)[n % 2]}/api/v1/openapi.json") for n in range(times)]


@pytest.fixture
def database_file(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'workers.sqlite3'}"
    upgrade_database("head", url)
    return url


def test_a_limit_holds_across_two_workers_sharing_redis(
    database_file: str, tmp_path: Path, redis_url: str
) -> None:
    statuses = alternate(database_file, tmp_path, redis_url, 6)
    assert statuses == [200, 200, 200, 200, 429, 429]  # 4 a minute in all, not 4 each


def test_the_memory_default_counts_per_worker(database_file: str, tmp_path: Path) -> None:
    statuses = alternate(database_file, tmp_path, "memory://", 8)
    assert statuses == [200] * 8  # 4 on each worker: why production sets Redis


@pytest.mark.config(RATELIMIT_ENABLED=True, EXPORT_RATE_LIMIT="2 per minute")
def test_exports_share_one_budget_per_person(app: Flask, make: Factory) -> None:
    admin = make.user(make.org(), role="admin")
    client = app.test_client()
    login(client, admin)
    assert client.get("/register.xlsx").status_code == 200
    assert client.get("/audit.xlsx").status_code == 200
    assert client.get("/register.csv").status_code == 429  # a third export, any kind
    other = app.test_client()
    login(other, make.user(make.org(), role="admin"))
    assert other.get("/register.xlsx").status_code == 200  # someone else's budget


@pytest.mark.config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
def test_sign_in_is_limited_per_account_from_many_addresses(app: Flask, make: Factory) -> None:
    user = make.user()
    statuses = [
        app.test_client()
        .post(
            "/login",
            data={"email": user.email, "password": "wrong"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
        )
        .status_code
        for n in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]


def test_when_redis_is_down_limited_routes_fail_closed_and_say_so(
    database_url: str, tmp_path: Path, make: Factory
) -> None:
    """Without the shared store no attempt can be counted: sign-in, password
    reset, link tokens and the API answer 503 with what to do, not a 500 and
    not unlimited; pages without a limit keep working; health says why."""
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = create_app(app_config(database_url, tmp_path, RATELIMIT_ENABLED=True,
                                RATELIMIT_STORAGE_URI=dead))  # fmt: skip
    user = make.user()
    client = app.test_client()
    signing_in = client.post("/login", data={"email": user.email, "password": "wrong"})
    assert signing_in.status_code == 503
    assert signing_in.headers["Retry-After"] == "30"
    page = signing_in.get_data(as_text=True)
    assert "the service that counts attempts is not answering" in page
    assert "Try again in a minute" in page
    reset = client.post("/forgot-password", data={"email": user.email})
    assert reset.status_code == 503
    api = client.get("/api/v1/openapi.json")
    assert api.status_code == 503
    assert api.mimetype == "application/problem+json"
    assert "not answering" in api.json["detail"]
    health = client.get("/api/v1/health")
    assert health.status_code == 503
    assert health.json == {
        "status": "degraded",
        "database": "ok",
        "rate_limit_store": "unreachable",
    }
    assert client.get("/login").status_code == 200  # only the POST is limited


def test_health_reports_a_shared_store_that_answers(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    app = create_app(app_config(database_url, tmp_path, RATELIMIT_ENABLED=True,
                                RATELIMIT_STORAGE_URI=redis_url))  # fmt: skip
    health = app.test_client().get("/api/v1/health")
    assert health.status_code == 200
    assert health.json["rate_limit_store"] == "ok"


@pytest.mark.config(RATELIMIT_ENABLED=True, EXPORT_RATE_LIMIT="2 per minute")
def test_the_requirement_profile_download_is_audited_and_counted_like_the_others(
    app: Flask, make: Factory
) -> None:
    """Issue 20, finding 11."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import AuditEvent

    admin = make.user(make.org(), role="admin")
    client = app.test_client()
    login(client, admin)
    assert client.get("/requirements/features.xlsx").status_code == 200
    assert client.get("/register.xlsx").status_code == 200
    assert client.get("/requirements/features.xlsx").status_code == 429  # one budget
    with app.app_context():
        downloads = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export_downloaded")
        ).all()
        assert [(e.actor_id, e.detail["what"]) for e in downloads] == [
            (admin.id, "requirements features"),
            (admin.id, "register"),
        ]
