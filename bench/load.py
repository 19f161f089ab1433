"""A load generator in its own processes: each connection keeps one HTTP
keep-alive connection and its own supplier session (its own link and token)."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Tally:
    done: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


class Client:
    """One supplier's browser, reduced to what the load needs."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.cookie = ""

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        sent = {"Cookie": self.cookie} if self.cookie else {}
        sent.update(headers or {})
        try:
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
        except (http.client.HTTPException, OSError):
            self.connection.close()  # a worker that died: reconnect once
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
        data = response.read()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, data


def _connection(
    base: str, action: str, link: str, reference: str, section: str, question: str,
    seconds: float, results: list[Tally],
) -> None:  # fmt: skip
    client = Client(base)
    tally = Tally()
    path = f"/respond/{reference}/sections/{section}"
    csrf = ""
    if action != "floor":
        status, _ = client.request("GET", link)
        status, page = client.request("GET", path)
        found = CSRF.search(page.decode())
        csrf = found.group(1) if found else ""
    revision = 0
    deadline = time.monotonic() + seconds
    number = 0
    while time.monotonic() < deadline:
        number += 1
        started = time.perf_counter()
        if action == "page":
            status, _ = client.request("GET", path)
        elif action == "floor":
            status, _ = client.request("GET", "/bench/floor")
        elif action == "floor_json":
            status, _ = client.request(
                "POST", "/bench/floor.json", b"{}", {"Content-Type": "application/json"}
            )
        else:
            payload = {"answers": {question: number % 700}, "revisions": {question: revision}}
            status, body = client.request(
                "POST", f"{path}/autosave", json.dumps(payload).encode(),
                {"Content-Type": "application/json", "X-CSRFToken": csrf},
            )  # fmt: skip
            if status == 200:
                revision = json.loads(body)["revisions"].get(question, revision)
        tally.latencies.append(time.perf_counter() - started)
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        if status >= 400:
            tally.errors += 1
        else:
            tally.done += 1
    results.append(tally)


def _generator(
    base: str, action: str, connections: int, seconds: float, links: list[str],
    references: list[str], section: str, question: str, queue: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:  # fmt: skip
    """The load generator's own process: one thread per connection."""
    results: list[Tally] = []
    threads = [
        threading.Thread(
            target=_connection,
            args=(
                base,
                action,
                links[i % len(links)],
                references[i % len(references)],
                section,
                question,
                seconds,
                results,
            ),
        )  # fmt: skip
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


@dataclass
class LoadResult:
    rps: float
    errors: int
    p50_ms: float
    p95_ms: float
    statuses: dict[int, int]


def run_load(
    base: str, action: str, connections: int, seconds: float,
    links: list[str], references: list[str], section: str = "breaches_retention",
    question: str = "breach_notice_hours",
) -> LoadResult:  # fmt: skip
    """``connections`` processes hammer the server for ``seconds``; the totals."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    worker = context.Process(
        target=_generator,
        args=(base, action, connections, seconds, links, references, section, question, queue),
    )
    worker.start()
    tallies: list[Tally] = queue.get(timeout=seconds + 300)
    worker.join(timeout=30)
    latencies = sorted(x for t in tallies for x in t.latencies)
    statuses: dict[int, int] = {}
    for t in tallies:
        for code, count in t.statuses.items():
            statuses[code] = statuses.get(code, 0) + count
    done = sum(t.done for t in tallies)

    def pick(share: float) -> float:
        return (
            1000 * latencies[min(len(latencies) - 1, int(share * len(latencies)))]
            if latencies
            else 0.0
        )

    return LoadResult(
        rps=done / seconds,
        errors=sum(t.errors for t in tallies),
        p50_ms=pick(0.5),
        p95_ms=pick(0.95),
        statuses=statuses,
    )
