"""`make loadtest`: 50 suppliers against a real gunicorn server, then a crash.

Each simulated supplier has its own link. Half start from blank questionnaires:
they open pages, autosave answers (some invalid on purpose) and upload a small
evidence file. The other half start from complete answers: they change some,
then submit twice at once on purpose. The generator keeps a ledger of every
save the server acknowledged and compares it with the database afterwards.

The fault pass repeats the load, kills one worker with SIGKILL mid-run, then
the whole server, restarts it, and checks again: every acknowledged save is
there, SQLite's integrity check says ok, no request is half-submitted.

    python -m bench.loadtest [--seconds 60] [--quick]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, func, select, text

from .load import CSRF, Client
from .setup import ROOT, Installation, free_port, installation, make_app, seed, wait_until_up

SUPPLIERS = 50
# Number questions outside the upload's section, always shown: (section, question).
LEDGER_QUESTIONS = [
    ("subprocessors", "subprocessor_notice_days"),
    ("continuity_exit", "rpo_hours"),
    ("continuity_exit", "rto_hours"),
]
UPLOAD_SECTION, UPLOAD_QUESTION = "breaches_retention", "retention_schedule"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@dataclass
class Outcome:
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    server_errors: int = 0
    locked: int = 0
    connection_errors: int = 0
    # Replies of 200 that were not the JSON an autosave answers (a server bug).
    unreadable: int = 0
    # reference -> question -> the last value the server acknowledged
    ledger: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    # Values sent after the last acknowledged one that got no reply at all.
    in_doubt: dict[str, dict[str, list[int]]] = field(default_factory=lambda: defaultdict(dict))
    submitted: set[str] = field(default_factory=set)
    # reference -> question -> every save sent: (seconds into the run, value, status)
    sent: dict[str, dict[str, list[tuple[float, int, int]]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    # Evidence downloaded just after its upload (on the other host, with two).
    downloads_ok: int = 0
    downloads_bad: list[str] = field(default_factory=list)


def _multipart(fields: dict[str, str], name: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: application/pdf\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def supplier(
    base: str,
    link: str,
    reference: str,
    answered: bool,
    seconds: float,
    out: Outcome,
    lock: threading.Lock,
    make_client: Callable[[str], Client] = Client,
) -> None:  # noqa: PLR0915
    client = make_client(base)
    rng = random.Random(reference)
    began = time.monotonic()

    def call(
        action: str,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            status, data = client.request(method, path, body, headers)
        except OSError:
            with lock:
                out.connection_errors += 1
            time.sleep(0.2)
            return 0, b""
        with lock:
            out.timings[action].append(time.perf_counter() - started)
            out.statuses[action][status] = out.statuses[action].get(status, 0) + 1
            if status >= 500:
                out.server_errors += 1
            if b"database is locked" in data:
                out.locked += 1
        return status, data

    status, _ = call("open link", "GET", link)
    csrf = ""
    deadline = time.monotonic() + seconds
    submit_at = time.monotonic() + seconds * rng.uniform(0.5, 0.9) if answered else None
    while time.monotonic() < deadline:
        if not csrf:
            status, page = call(
                "page", "GET", f"/respond/{reference}/sections/{LEDGER_QUESTIONS[0][0]}"
            )
            found = CSRF.search(page.decode(errors="replace"))
            if found is None:
                if status == 0:
                    continue
                call("open link", "GET", link)  # the session was lost: open the link again
                continue
            csrf = found.group(1)
        roll = rng.random()
        if submit_at is not None and time.monotonic() >= submit_at:
            form = f"declared_name=Sam+Carter&declared_role=Director&accurate=y&csrf_token={csrf}".encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            # Twice at once, as a double click or a second tab would: two
            # connections carrying the same session.
            second = make_client(base)
            second.cookie = client.cookie
            results: list[int] = []

            def send(
                browser: Client,
                form: bytes = form,
                headers: dict[str, str] = headers,
                results: list[int] = results,
            ) -> None:
                started = time.perf_counter()
                try:
                    status, _ = browser.request(
                        "POST", f"/respond/{reference}/check", form, headers
                    )
                except OSError:
                    status = 0
                with lock:
                    out.timings["submit"].append(time.perf_counter() - started)
                    out.statuses["submit"][status] = out.statuses["submit"].get(status, 0) + 1
                    out.server_errors += status >= 500
                results.append(status)

            threads = [
                threading.Thread(target=send, args=(browser,)) for browser in (client, second)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if 302 in results or 303 in results:
                with lock:
                    out.submitted.add(reference)
            submit_at = None
            continue
        if roll < 0.25:
            section = rng.choice([s for s, _ in LEDGER_QUESTIONS] + [UPLOAD_SECTION])
            call("page", "GET", f"/respond/{reference}/sections/{section}")
        elif roll < 0.35:
            call("task list", "GET", f"/respond/{reference}/")
        elif roll < 0.42:
            section, question = rng.choice(LEDGER_QUESTIONS)
            status, _ = call(
                "autosave (invalid)", "POST", f"/respond/{reference}/sections/{section}/autosave",
                json.dumps({"answers": {question: "not a number"}}).encode(),
                {"Content-Type": "application/json", "X-CSRFToken": csrf},
            )  # fmt: skip
        elif roll < 0.47 and not answered:
            body, kind = _multipart(
                {"csrf_token": csrf, "shown": UPLOAD_QUESTION, "action": "later"},
                UPLOAD_QUESTION, "schedule.pdf", PDF,
            )  # fmt: skip
            status, _ = call(
                "upload",
                "POST",
                f"/respond/{reference}/sections/{UPLOAD_SECTION}",
                body,
                {"Content-Type": kind},
            )
            if status in (302, 303):
                fetch_latest_file(client, reference, call, out, lock)
        else:
            section, question = rng.choice(LEDGER_QUESTIONS)
            value = rng.randint(1, 48)
            status, data = call(
                "autosave", "POST", f"/respond/{reference}/sections/{section}/autosave",
                json.dumps({"answers": {question: value}}).encode(),
                {"Content-Type": "application/json", "X-CSRFToken": csrf},
            )  # fmt: skip
            try:
                reply = json.loads(data) if status == 200 else {}
            except ValueError:
                with lock:
                    out.unreadable += 1
                status, reply = 0, {}  # its save may or may not have landed
            answered_saved = status == 200 and question in reply.get("saved", [])
            with lock:
                out.sent[reference].setdefault(question, []).append(
                    (round(time.monotonic() - began, 3), value, status)
                    if answered_saved or status != 200
                    else (round(time.monotonic() - began, 3), value, status, data[:300].decode())
                )
            if answered_saved:
                with lock:
                    out.ledger[reference][question] = value
                    # Earlier unanswered saves stay in doubt: one the client
                    # gave up waiting for may still be running, and land after.
            elif status == 0:
                # No answer came back (the server was killed, or the client
                # stopped waiting): the save may or may not have landed, now
                # or later, so its value is as right afterwards as the last
                # acknowledged one.
                with lock:
                    out.in_doubt[reference].setdefault(question, []).append(value)
            elif status in (400, 403):
                csrf = ""  # the session ended (a restarted server keeps it; a lost cookie does not)


FILE_LINK = re.compile(rb"/respond/[A-Za-z0-9-]+/files/(\d+)")


def fetch_latest_file(
    client: Client, reference: str, call: Callable[..., tuple[int, bytes]], out: Outcome,
    lock: threading.Lock,
) -> None:  # fmt: skip
    """Download the file just uploaded: its link from the check-answers page on
    the host that stored it, the file itself from the other (with two hosts:
    an evidence store they share)."""
    getattr(client, "repeat_host", lambda: None)()
    status, page = call("page", "GET", f"/respond/{reference}/check")
    found = [int(n) for n in FILE_LINK.findall(page)]
    if status != 200 or not found:
        return
    status, data = call("download", "GET", f"/respond/{reference}/files/{max(found)}")
    with lock:
        if status == 200 and data == PDF:
            out.downloads_ok += 1
        elif status:  # 0: no answer (a server killed in the fault pass)
            out.downloads_bad.append(f"{reference} file {max(found)}: {status}")


def generator(base: str, people: list[tuple[str, str, bool]], seconds: float, queue: Any) -> None:
    out = Outcome()
    lock = threading.Lock()
    threads = [
        threading.Thread(target=supplier, args=(base, link, ref, answered, seconds, out, lock))
        for link, ref, answered in people
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(summary(out))


def summary(out: Outcome) -> dict[str, Any]:
    """What the generator process hands back (plain values through a queue)."""
    return {
        "timings": dict(out.timings),
        "statuses": {k: dict(v) for k, v in out.statuses.items()},
        "server_errors": out.server_errors,
        "locked": out.locked,
        "connection_errors": out.connection_errors,
        "unreadable": out.unreadable,
        "ledger": {k: dict(v) for k, v in out.ledger.items()},
        "in_doubt": {k: dict(v) for k, v in out.in_doubt.items()},
        "sent": {k: dict(v) for k, v in out.sent.items()},
        "submitted": sorted(out.submitted),
        "downloads_ok": out.downloads_ok,
        "downloads_bad": out.downloads_bad,
    }


class Server:
    def __init__(
        self,
        place: Installation,
        workers: int = 5,
        host: str = "127.0.0.1",
        environment: dict[str, str] | None = None,
    ) -> None:
        self.place, self.workers, self.port = place, workers, free_port()
        self.host, self.extra = host, environment or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = place.folder / f"server-{host}.log"

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own command)
                [sys.executable, "-m", "gunicorn", "bench.wsgi:app", "--bind", f"{self.host}:{self.port}",
                 "--workers", str(self.workers), "--timeout", "60", "--log-level", "warning"],
                cwd=ROOT, env={**self.place.environment(), **self.extra}, stdout=log, stderr=log,
                # Its own process group: killing "the whole server" must take
                # a worker the master was just starting too, not leave it running.
                start_new_session=True,
            )  # fmt: skip
        wait_until_up(self.base, self.process)

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        found = subprocess.run(  # noqa: S603
            ["pgrep", "-P", str(self.process.pid)],
            capture_output=True,
            text=True,
            check=False,  # noqa: S607
        ).stdout.split()
        return [int(pid) for pid in found]

    def kill_everything(self) -> None:
        assert self.process is not None
        for pid in [*self.worker_pids(), self.process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # anything the listing missed
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def run_phase(
    server: Server, people: list[tuple[str, str, bool]], seconds: float, fault: bool
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=generator, args=(server.base, people, seconds, queue))
    process.start()
    if fault:
        time.sleep(seconds / 3)
        victim = server.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        print(f"  killed worker {victim} with SIGKILL")
        time.sleep(seconds / 3)
        server.kill_everything()
        print("  killed the whole server with SIGKILL; restarting")
        server.start()
    result: dict[str, Any] = queue.get(timeout=seconds + 300)
    process.join(timeout=30)
    return result


def check(database_url: str, result: dict[str, Any], references: list[str]) -> list[str]:
    """What the database must show; each failure in words."""
    from portal.models import Answer, AuditEvent, Request

    failures = []
    if result["server_errors"]:
        failures.append(f"{result['server_errors']} responses were 5xx")
    if result["locked"]:
        failures.append(f"{result['locked']} responses mentioned 'database is locked'")
    if result.get("downloads_bad"):
        failures.append(
            f"{len(result['downloads_bad'])} files did not download after their upload: "
            f"{result['downloads_bad'][:5]}"
        )
    if result["unreadable"]:
        failures.append(
            f"{result['unreadable']} autosaves answered 200 with a body that is not their JSON"
        )
    engine = create_engine(database_url)
    with engine.connect() as connection:
        ids = dict(
            connection.execute(
                select(Request.reference, Request.id).where(Request.reference.in_(references))
            ).all()
        )
        stored = {
            (ref, qid): value
            for ref, qid, value in connection.execute(
                select(Request.reference, Answer.question_id, Answer.value).join(
                    Answer, Answer.request_id == Request.id
                )
            )
        }
        doubt = result["in_doubt"]
        lost = [
            f"{ref} {qid}: acknowledged {value}, stored {stored.get((ref, qid))}"
            for ref, answers in result["ledger"].items()
            for qid, value in answers.items()
            if stored.get((ref, qid)) != value
            and stored.get((ref, qid)) not in doubt.get(ref, {}).get(qid, [])
        ]
        if lost:
            failures.append(f"{len(lost)} acknowledged saves differ: {lost[:5]}")
            for line in lost[:2]:  # what was sent, to tell a lost save from a late one
                ref, qid = line.split(":", 1)[0].split(" ")
                failures.append(
                    f"  {ref} {qid} sent (s, value, status): {result['sent'].get(ref, {}).get(qid)}"
                )
        signed = dict(
            connection.execute(
                select(AuditEvent.request_id, func.count())
                .where(AuditEvent.action == "declaration_signed")
                .group_by(AuditEvent.request_id)
            ).all()
        )
        twice = [ref for ref, rid in ids.items() if signed.get(rid, 0) > 1]
        if twice:
            failures.append(f"{len(twice)} requests were submitted more than once: {twice[:5]}")
        half = (
            connection.execute(
                select(Request.reference).where(
                    Request.id.in_(list(ids.values())),
                    (
                        Request.status.in_(["submitted", "resubmitted"])
                        & (Request.submitted_at.is_(None) | Request.declared_name.is_(None))
                    )
                    | (
                        Request.status.not_in(["submitted", "resubmitted"])
                        & Request.submitted_at.is_not(None)
                    ),
                )
            )
            .scalars()
            .all()
        )
        if half:
            failures.append(f"{len(half)} requests are half-submitted: {half[:5]}")
        missing = [ref for ref in result["submitted"] if signed.get(ids[ref], 0) != 1]
        if missing:
            failures.append(
                f"{len(missing)} acknowledged submissions are not recorded once: {missing[:5]}"
            )
        if database_url.startswith("sqlite"):
            integrity = connection.execute(text("PRAGMA integrity_check")).scalar()
            if integrity != "ok":
                failures.append(f"PRAGMA integrity_check: {integrity}")
    engine.dispose()
    return failures


def report(title: str, result: dict[str, Any], seconds: float, failures: list[str]) -> None:
    print(f"\n{title}")
    print(
        f"{'action':20} {'count':>7} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses"
    )
    for action, times in sorted(result["timings"].items()):
        ordered = sorted(times)

        def pick(share: float, ordered: list[float] = ordered) -> float:
            return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]

        print(
            f"{action:20} {len(times):>7} {len(times) / seconds:>8.1f} {statistics.median(ordered) * 1000:>8.1f}"
            f" {pick(0.95):>8.1f} {pick(0.99):>8.1f}  {result['statuses'].get(action)}"
        )
    print(
        f"5xx: {result['server_errors']}, 'database is locked': {result['locked']}, "
        f"connection errors: {result['connection_errors']}, acknowledged saves: "
        f"{sum(len(v) for v in result['ledger'].values())} questions, submissions: {len(result['submitted'])}, "
        f"files downloaded after upload: {result.get('downloads_ok', 0)}"
    )
    for failure in failures:
        print(f"  FAILED: {failure}")
    if not failures:
        print("  every check passed")


def seed_people(app: Any, count: int) -> tuple[list[tuple[str, str, bool]], list[str]]:
    """``count`` suppliers to simulate, half starting blank, half complete:
    (link, reference, complete) each, and the references."""
    blank = seed(app, count // 2, answered=False)
    full = seed(app, count - count // 2, answered=True)
    people = [(link, ref, False) for link, ref in zip(blank.links, blank.references, strict=True)]
    people += [(link, ref, True) for link, ref in zip(full.links, full.references, strict=True)]
    return people, blank.references + full.references


def one_database(database_url: str | None, label: str, seconds: float) -> bool:
    ok = True
    with installation(database_url) as place:
        app = make_app(place)
        people, references = seed_people(app, SUPPLIERS)
        server = Server(place)
        server.start()
        try:
            result = run_phase(server, people, seconds, fault=False)
            failures = check(place.database_url, result, references)
            report(f"{label}: {SUPPLIERS} suppliers for {seconds:.0f} s", result, seconds, failures)
            ok &= not failures
            fresh_blank = seed(app, SUPPLIERS // 2, answered=False)
            fresh_full = seed(app, SUPPLIERS - SUPPLIERS // 2, answered=True)
            people = [
                (link, ref, False)
                for link, ref in zip(fresh_blank.links, fresh_blank.references, strict=True)
            ]
            people += [
                (link, ref, True)
                for link, ref in zip(fresh_full.links, fresh_full.references, strict=True)
            ]
            print(f"\n{label}: fault pass")
            result = run_phase(server, people, seconds, fault=True)
            failures = check(
                place.database_url, result, fresh_blank.references + fresh_full.references
            )
            report(
                f"{label}: fault pass (a worker, then the whole server, killed)",
                result,
                seconds,
                failures,
            )
            ok &= not failures
        finally:
            server.stop()
        log = server.log.read_text(errors="replace")
        if "database is locked" in log:
            print("  FAILED: the server log mentions 'database is locked'")
            ok = False
        if not ok and "Traceback" in log:
            first = log.index("Traceback")
            print("\nThe server's first error:\n" + log[max(0, first - 300) : first + 4000])
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="15 s per pass")
    args = parser.parse_args()
    seconds = 15.0 if args.quick else args.seconds
    ok = one_database(None, "SQLite (WAL)", seconds)
    postgres = os.environ.get("TEST_DATABASE_URL", "")
    if postgres.startswith("postgresql"):
        ok &= one_database(postgres, "PostgreSQL", seconds)
        from .twohosts import two_hosts

        ok &= two_hosts(postgres, seconds)
    else:
        print("\nNo PostgreSQL (TEST_DATABASE_URL): the two-host pass needs one; skipped")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
