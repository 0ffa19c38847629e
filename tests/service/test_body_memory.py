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

import re
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import start_service

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
