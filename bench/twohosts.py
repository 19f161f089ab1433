"""The two-host pass of `make loadtest`: two app servers sharing one database.

Two gunicorn servers, one on 127.0.0.1 and one on 127.0.0.2, share one
PostgreSQL and one Redis (rate limits), keep evidence in the database
(EVIDENCE_STORE=database) and leave email to an outbox worker each
(`flask send-emails --watch`, EMAIL_DELIVERY=worker), which send to an SMTP
server in this process that counts what arrives. Every request of a
simulated browser goes to the other host from the one before, as a load
balancer without sticky sessions would send it: suppliers move between the
hosts mid-questionnaire (and submit twice at once, once on each), download
each file just uploaded from the other host, and staff browse the school's
home page, a request, the supplier register and the directory meanwhile.

Checks: every acknowledged save stored, no 5xx, each file downloaded from the
host that did not store it, a rate limit of N a minute allowing N in all
across the two hosts (not 2N), and every email sent exactly once.
"""

from __future__ import annotations

import email
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from .load import CSRF, Client
from .loadtest import Outcome, Server, check, report, seed_people, summary, supplier
from .setup import ROOT, SECRET, free_port, installation

HOSTS = ("127.0.0.1", "127.0.0.2")
SUPPLIERS = 40
STAFF = 2
API_LIMIT = 30  # per minute, per address: the rate limit checked across the hosts
PASSWORD = "bench-password-long-enough-1"  # noqa: S105 (bench/setup.py's reviewer)


class Alternating(Client):
    """A browser whose every request goes to the other host: its session is
    the signed cookie it carries, valid on both."""

    def __init__(self, bases: list[str]) -> None:
        super().__init__(bases[0])
        self.targets = [(Client(base).address, Client(base).host) for base in bases]
        self.turn = random.randrange(len(bases))  # noqa: S311 (not a secret)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        self.address, self.host = self.targets[self.turn % len(self.targets)]
        self.turn += 1
        return super().request(method, path, body, headers)

    def repeat_host(self) -> None:
        """The next request to the host of the last one (the one after goes to the other)."""
        self.turn -= 1


def staff(
    bases: list[str], request_ids: list[int], seconds: float, out: Outcome, lock: threading.Lock
) -> None:
    """A member of staff signed in once, browsing on both hosts."""
    client = Alternating(bases)
    rng = random.Random(seconds)  # noqa: S311

    def call(action: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        started = time.perf_counter()
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else None
        try:
            status, data = client.request("POST" if body else "GET", path, body, headers)
        except OSError:
            with lock:
                out.connection_errors += 1
            return 0, b""
        with lock:
            out.timings[action].append(time.perf_counter() - started)
            out.statuses[action][status] = out.statuses[action].get(status, 0) + 1
            out.server_errors += status >= 500
        return status, data

    _, page = call("staff sign-in", "/login")
    token = CSRF.search(page.decode(errors="replace"))
    form = f"email=bench%40school.example&password={PASSWORD}&csrf_token={token.group(1) if token else ''}"
    status, _ = call("staff sign-in", "/login", form.encode())
    if status not in (302, 303):
        with lock:
            out.downloads_bad.append(f"staff could not sign in: {status}")
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        roll = rng.random()
        if roll < 0.3:
            call("staff: school home", "/")
        elif roll < 0.6:
            call("staff: request page", f"/requests/{rng.choice(request_ids)}")
        elif roll < 0.8:
            call("staff: register", "/register")
        else:
            call("staff: directory search", f"/directory/?q={rng.choice(['cloud', 'it', 'data'])}")


def generator(
    bases: list[str],
    people: list[tuple[str, str, bool]],
    request_ids: list[int],
    seconds: float,
    queue: Any,
) -> None:
    out = Outcome()
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=supplier,
            args=(bases[0], link, ref, answered, seconds, out, lock),
            kwargs={"make_client": lambda _base: Alternating(bases)},
        )
        for link, ref, answered in people
    ]
    threads += [
        threading.Thread(target=staff, args=(bases, request_ids, seconds, out, lock))
        for _ in range(STAFF)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(summary(out))


class Mailbox:
    """An SMTP server that keeps every message that arrives (aiosmtpd)."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (make redis installs it)")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 (our own arguments)
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


def rate_limit_across(bases: list[str], calls: int) -> int:
    """How many of ``calls`` limited requests, alternating hosts, were let through."""
    allowed = 0
    for n in range(calls):
        try:
            url = f"{bases[n % len(bases)]}/api/v1/openapi.json"
            with urllib.request.urlopen(url, timeout=10):  # noqa: S310 (loopback)
                allowed += 1
        except urllib.error.HTTPError as error:
            if error.code != 429:
                allowed += 1
    return allowed


def fresh_database(url: str) -> str:
    """An empty database of its own on the same server: the outbox and the
    mailbox must hold this pass's emails alone."""
    name = "portal_two_hosts"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def two_hosts(database_url: str, seconds: float) -> bool:
    from aiosmtpd.controller import Controller

    from portal import create_app
    from portal.models import OutgoingEmail, Request, StoredFile

    print(f"\nTwo hosts ({', '.join(HOSTS)}) on one PostgreSQL and one Redis")
    with installation(fresh_database(database_url)) as place:
        redis, redis_url = start_redis(place.folder)
        mailbox = Mailbox()
        smtp_port = free_port()
        smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
        smtp.start()
        shared = {
            "EVIDENCE_STORE": "database",
            "EMAIL_DELIVERY": "worker",
            "PORTAL_RATELIMIT_STORAGE_URL": redis_url,
            "PORTAL_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "API_RATE_LIMIT": f"{API_LIMIT} per minute",
        }
        app = create_app(
            {
                "DATABASE_URL": place.database_url,
                "SECRET_KEY": SECRET,
                "PORTAL_BASE_URL": "http://127.0.0.1",
                "UPLOAD_FOLDER": str(place.folder / "seed-uploads"),
                "TOKEN_RATE_LIMIT": "100000 per minute",
                **shared,
            }
        )
        engine = create_engine(place.database_url)
        people, references = seed_people(app, SUPPLIERS)
        with engine.connect() as connection:
            request_ids = list(connection.scalars(select(Request.id)))
        servers = [Server(place, workers=3, host=host, environment=shared) for host in HOSTS]
        workers: list[subprocess.Popen[bytes]] = []
        failures: list[str] = []
        try:
            for server in servers:
                server.start()
            for server in servers:  # one outbox worker per host
                log = (place.folder / f"worker-{server.host}.log").open("ab")
                workers.append(
                    subprocess.Popen(  # noqa: S603 (our own command)
                        [
                            sys.executable,
                            "-m",
                            "flask",
                            "--app",
                            "app",
                            "send-emails",
                            "--watch",
                            "--every",
                            "1",
                        ],
                        cwd=ROOT,
                        env={**place.environment(), **shared},
                        stdout=log,
                        stderr=log,
                    )  # fmt: skip
                )
            bases = [server.base for server in servers]
            context = multiprocessing.get_context("spawn")
            queue = context.Queue()
            process = context.Process(
                target=generator, args=(bases, people, request_ids, seconds, queue)
            )
            process.start()
            result: dict[str, Any] = queue.get(timeout=seconds + 300)
            process.join(timeout=30)
            failures = check(place.database_url, result, references)
            if not result["downloads_ok"]:
                failures.append("no file was downloaded after its upload")

            allowed = rate_limit_across(bases, API_LIMIT * 2 + 10)
            print(f"  rate limit {API_LIMIT}/min, {API_LIMIT * 2 + 10} calls alternating hosts: "
                  f"{allowed} allowed")  # fmt: skip
            if allowed != API_LIMIT:
                failures.append(f"a limit of {API_LIMIT} a minute let {allowed} through")

            # The workers drain the outbox; then each email must have arrived once.
            deadline = time.monotonic() + 60
            with engine.connect() as connection:
                while time.monotonic() < deadline:
                    unsent = connection.scalar(
                        select(func.count()).where(OutgoingEmail.sent_at.is_(None))
                    )
                    connection.rollback()
                    if not unsent:
                        break
                    time.sleep(0.5)
                sent = connection.scalar(
                    select(func.count()).where(OutgoingEmail.sent_at.is_not(None))
                )
                files = connection.scalar(select(func.count()).select_from(StoredFile))
            time.sleep(1)  # a message in flight reaches the mailbox
            arrived = Counter(
                (m["To"], m["Subject"], m.get_payload(0).get_payload() if m.is_multipart() else "")
                for m in mailbox.messages
            )
            twice = sum(n - 1 for n in arrived.values() if n > 1)
            print(f"  emails: {sent} recorded sent, {len(mailbox.messages)} arrived, "
                  f"{twice} arrived more than once, {unsent} left unsent; "
                  f"{files} files in the database store")  # fmt: skip
            if unsent:
                failures.append(f"{unsent} emails were never sent")
            if twice or len(mailbox.messages) != sent:
                failures.append(
                    f"{len(mailbox.messages)} emails arrived for {sent} sent ({twice} twice)"
                )
            report(
                f"Two hosts: {SUPPLIERS} suppliers and {STAFF} staff for {seconds:.0f} s, "
                "every request on the other host",
                result,
                seconds,
                failures,
            )
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
            for server in servers:
                server.stop()
            smtp.stop()
            redis.terminate()
            redis.wait(timeout=10)
            engine.dispose()
        stopped = [w.returncode for w in workers]
        if any(code != 0 for code in stopped):
            failures.append(f"an outbox worker did not stop cleanly on SIGTERM: {stopped}")
            print(f"  FAILED: outbox workers exited {stopped}")
        for server in servers:
            log = server.log.read_text(errors="replace")
            if "Traceback" in log:
                first = log.index("Traceback")
                print(f"\n{server.host}'s first error:\n" + log[max(0, first - 300) : first + 3000])
        return not failures


if __name__ == "__main__":
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("TEST_DATABASE_URL must name a PostgreSQL database (scripts/with-postgres.sh)")
    sys.exit(0 if two_hosts(url, float(sys.argv[1]) if len(sys.argv) > 1 else 15.0) else 1)
