"""A load generator in its own process: each simulated supplier keeps its own
session (its own link and token) and sends one request at a time."""

from __future__ import annotations

import json
import multiprocessing
import re
import socket
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
    """One supplier's browser, reduced to what the load needs: a request on a
    fresh connection each time (gunicorn's sync workers close every connection
    anyway), written and read on a plain socket. http.client parsed every
    response's headers with the email package and cost the generator about
    half a core at these rates, CPU the server it measures shares."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.host = f"{self.address[0]}:{self.address[1]}".encode()
        self.cookie = ""

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self.host, b"Connection: close"]
        if self.cookie:
            lines.append(f"Cookie: {self.cookie}".encode())
        lines += [f"{name}: {value}".encode() for name, value in (headers or {}).items()]
        if body is not None:
            lines.append(b"Content-Length: %d" % len(body))
        wire = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
        # No second try when a connection fails: a resent save whose first try
        # was still running on the server could land after a later one, and the
        # load test must count the first as unanswered (it may or may not land).
        return self._read(self._exchange(wire))

    def _exchange(self, wire: bytes) -> bytes:
        with socket.create_connection(self.address, timeout=30) as connection:
            connection.sendall(wire)
            chunks = []
            while chunk := connection.recv(262144):
                chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw:
            raise ConnectionResetError("the server closed the connection without answering")
        return raw

    def _read(self, raw: bytes) -> tuple[int, bytes]:
        """The status and body of a whole response. A response cut short (a
        worker killed while writing it) is an error, as it is to a browser:
        read as complete, its truncated body would pass for an answer."""
        head, complete, data = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.split(b"\r\n")
        if not complete or len(status_line.split()) < 2:
            raise ConnectionResetError("the response was cut short in its headers")
        chunked, length = False, None
        for line in header_lines:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"set-cookie":
                self.cookie = value.strip().split(b";", 1)[0].decode("latin-1")
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"content-length":
                length = int(value.strip())
        if chunked:
            return int(status_line.split()[1]), _unchunked(data)
        if length is not None and len(data) < length:
            raise ConnectionResetError(f"the response was cut short: {len(data)} of {length} bytes")
        return int(status_line.split()[1]), data if length is None else data[:length]


def _unchunked(data: bytes) -> bytes:
    """A chunked body (a streamed download) as its bytes; an error if the
    closing empty chunk never came."""
    out = []
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";", 1)[0], 16)
        if size == 0:
            return b"".join(out)
        if len(data) < size + 2:
            break
        out.append(data[:size])
        data = data[size + 2 :]
    raise ConnectionResetError("the chunked response was cut short")


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
        try:
            status, revision = _one(client, action, path, question, number, revision, csrf)
        except OSError:
            status = 0  # no answer: an error, as a 5xx would be
        tally.latencies.append(time.perf_counter() - started)
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        if status >= 400 or status == 0:
            tally.errors += 1
        else:
            tally.done += 1
    results.append(tally)


def _one(
    client: Client, action: str, path: str, question: str, number: int, revision: int, csrf: str
) -> tuple[int, int]:
    """One request of the load; its status, and the answer's revision after it."""
    if action == "page":
        return client.request("GET", path)[0], revision
    if action == "floor":
        return client.request("GET", "/bench/floor")[0], revision
    if action == "floor_json":
        json_type = {"Content-Type": "application/json"}
        return client.request("POST", "/bench/floor.json", b"{}", json_type)[0], revision
    payload = {"answers": {question: number % 700}, "revisions": {question: revision}}
    status, body = client.request(
        "POST", f"{path}/autosave", json.dumps(payload).encode(),
        {"Content-Type": "application/json", "X-CSRFToken": csrf},
    )  # fmt: skip
    if status == 200:
        revision = json.loads(body)["revisions"].get(question, revision)
    return status, revision


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
