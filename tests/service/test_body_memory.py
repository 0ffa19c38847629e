"""Request bodies a worker holds at once are bounded: uploads left unfinished cannot grow it.

A client that sends 1 MiB bodies all but their last bytes, on as many
connections as a worker accepts, had each held until the body timeout
(60 s): 300 of them grew a worker by 333 MiB, 1,000 (the connection limit)
by over a gigabyte. Now the bytes of bodies past their first 64 KiB count
against `--max-body-memory` per worker: a body that would go past it gets
503 with Retry-After (nothing written) while small requests go on, and the
bytes are given back when their request ends. A pure counter written
meanwhile with If-Match is exact.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import ServiceProcess, start_service

pytestmark = pytest.mark.slow

#: The worker's budget for this test, and the uploads left unfinished against it.
BUDGET = 16 * 1024 * 1024
STALLED = 60
BODY = 1024 * 1024 - 4096


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children, in MiB."""
    total = 0
    pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    for each in pids:
        found = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{each}/status").read_text())
        total += int(found.group(1)) if found else 0
    return total / 1024


def stall(port: int, n: int) -> socket.socket:
    """A PUT whose body comes whole but for its last 100 bytes, on a connection of its own."""
    sock = socket.create_connection(("127.0.0.1", port))
    body = b'{"pad":"' + b"x" * (BODY - 10)
    head = (
        f"PUT /v1/held/d{n} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"If-None-Match: *\r\nContent-Length: {len(body) + 100}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def answer_of(sock: socket.socket) -> bytes:
    """What the server sent on `sock` so far (nothing: b"")."""
    sock.setblocking(False)
    try:
        return sock.recv(65536)
    except BlockingIOError:
        return b""


def test_unfinished_uploads_cannot_hold_more_than_the_budget(tmp_path: Path) -> None:
    extra = ("--max-body-memory", str(BUDGET))
    with (
        start_service(
            str(tmp_path / "db.sqlite"), tmp_path, extra=extra, allowed_5xx=frozenset({503})
        ) as service,
        httpx.Client(base_url=service.url, timeout=10) as http,
    ):
        port = int(service.url.rsplit(":", 1)[1])
        made = http.put("/v1/held/counter", json={"n": 0}, headers={"If-None-Match": "*"})
        assert made.status_code == 201
        before = rss_mib(service.process.pid)
        sockets = [stall(port, n) for n in range(STALLED)]
        try:
            time.sleep(2)
            grown = rss_mib(service.process.pid) - before
            refused = [a for a in map(answer_of, sockets) if a]
            # Meanwhile a pure counter with small bodies is served, exactly.
            etag = made.headers["etag"]
            for n in range(1, 11):
                written = http.put("/v1/held/counter", json={"n": n}, headers={"If-Match": etag})
                assert written.status_code == 200, written.text
                etag = written.headers["etag"]
        finally:
            for sock in sockets:
                sock.close()
        print(
            f"{STALLED} unfinished 1 MiB uploads: worker grew {grown:.0f} MiB, "
            f"{len(refused)} refused"
        )
        assert grown < BUDGET / 2**20 + 24, f"grew {grown:.0f} MiB"
        assert len(refused) >= STALLED - BUDGET // BODY - 1
        for answer in refused:
            assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
            assert b"retry-after: 1\r\n" in answer.lower()
            assert b"application/problem+json" in answer
        assert http.get("/v1/held/counter").json() == {"n": 10}
        # The held bytes are given back: a large body is taken again.
        time.sleep(0.5)
        big = http.put("/v1/held/big", json={"pad": "x" * BODY}, headers={"If-None-Match": "*"})
        assert big.status_code == 201, big.text
        assert http.get("/v1/held/d0").status_code == 404  # no unfinished upload was written


def _head(path: str, length: int, *fields: str) -> bytes:
    lines = [f"PUT {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", *fields]
    return ("\r\n".join([*lines, f"Content-Length: {length}", "", ""])).encode()


def _hold(port: int, counted: int) -> socket.socket:
    """An unfinished upload holding `counted` bytes of the budget (and its uncounted 64 KiB)."""
    sock = socket.create_connection(("127.0.0.1", port))
    body = b"x" * (64 * 1024 + counted)
    sock.sendall(_head("/v1/held/holder", len(body) + 10, "If-None-Match: *") + body)
    return sock


def _answers(sock: socket.socket, timeout: float = 3) -> list[bytes]:
    """The status lines of what the server sends on `sock` until it closes it or goes quiet."""
    sock.settimeout(timeout)
    received = b""
    try:
        while part := sock.recv(65536):
            received += part
    except TimeoutError:
        pass
    return re.findall(rb"HTTP/1\.1 \d{3} [^\r]*", received)


@pytest.fixture
def budget_service(tmp_path: Path) -> Iterator[ServiceProcess]:
    """A service with a 1 MiB body budget, bodies up to 4 MiB."""
    extra = ("--max-body-memory", str(2**20), "--max-body", str(4 * 2**20))
    with start_service(
        str(tmp_path / "db.sqlite"), tmp_path, extra=extra, allowed_5xx=frozenset({503})
    ) as service:
        yield service


def test_the_rest_of_a_body_answered_early_holds_no_budget(budget_service: ServiceProcess) -> None:
    """A body refused on its head (413) whose rest keeps coming is dropped: it holds nothing."""
    port = int(budget_service.url.rsplit(":", 1)[1])
    with (
        budget_service.client() as http,
        socket.create_connection(("127.0.0.1", port)) as hostile,
    ):
        hostile.sendall(_head("/v1/held/huge", 10**9, "If-None-Match: *"))
        hostile.settimeout(5)
        assert hostile.recv(65536).startswith(b"HTTP/1.1 413 ")
        for _ in range(48):  # 3 MiB of the billion announced, dropped by the server
            hostile.sendall(b"x" * 65536)
        time.sleep(0.3)
        taken = http.put("/v1/held/d", json={"pad": "x" * 200_000}, headers={"If-None-Match": "*"})
        assert taken.status_code == 201, taken.text


@pytest.mark.parametrize(
    "room", [pytest.param(30 * 1024, id="refused-at-once"), pytest.param(120 * 1024, id="later")]
)
def test_a_pipelined_body_past_the_budget_is_refused_after_the_answer_ahead_of_it(
    budget_service: ServiceProcess, room: int
) -> None:
    """A counter PUT, then a 190 KB PUT the budget has no room for: 200, then 503; n exact."""
    port = int(budget_service.url.rsplit(":", 1)[1])
    with budget_service.client() as http:
        made = http.put("/v1/held/counter", json={"n": 0}, headers={"If-None-Match": "*"})
        holder = _hold(port, 2**20 - room)
        try:
            time.sleep(0.5)
            ahead = b'{"n": 1}'
            ahead_request = _head(
                "/v1/held/counter", len(ahead), f"If-Match: {made.headers['etag']}"
            )
            big = json.dumps({"pad": "y" * 190_000}).encode()
            with socket.create_connection(("127.0.0.1", port)) as client:
                # The big body's first 100 KB come with the request ahead of it, the rest later.
                client.sendall(
                    ahead_request
                    + ahead
                    + _head("/v1/held/big", len(big), "If-None-Match: *")
                    + big[:100_000]
                )
                time.sleep(0.3)
                client.sendall(big[100_000:])
                answers = _answers(client)
        finally:
            holder.close()
        assert answers == [b"HTTP/1.1 200 OK", b"HTTP/1.1 503 Service Unavailable"]
        assert http.get("/v1/held/counter").json() == {"n": 1}
        assert http.get("/v1/held/big").status_code == 404


def test_the_rest_of_a_body_answered_early_is_not_read_for_the_body_timeout(
    budget_service: ServiceProcess,
) -> None:
    """A chunked body to a 404 goes on in 1-byte chunks: the answer, then the connection ends.

    Each chunk cost the worker a parser callback: read until the body
    timeout (60 s), one connection kept it busy, others' GETs waiting 1.6 s.
    """
    port = int(budget_service.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as hostile:
        hostile.sendall(
            b"PUT /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        hostile.settimeout(5)
        assert hostile.recv(65536).startswith(b"HTTP/1.1 404 ")
        started = time.monotonic()
        ended = None
        hostile.settimeout(0.05)
        while time.monotonic() - started < 10:
            try:
                hostile.sendall(b"1\r\nx\r\n" * 1000)
                if hostile.recv(65536) == b"":
                    ended = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except OSError:  # reset: the server closed it with our chunks unread
                ended = time.monotonic() - started
                break
        assert ended is not None, "the server still read the chunks 10 s after its answer"
        assert ended < 2 + 2  # LINGER, and a loaded machine's lateness
