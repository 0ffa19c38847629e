"""Answers a worker holds for clients not taking them are bounded: stalled readers cannot grow it.

A client that asks for a list page (about 2 MB here) and never reads had
its answer held in the worker until the body timeout (60 s): 200 of them
took a worker from 194 to 489 MiB, and the only bound was
`--max-connections` (about 2 GiB a worker). Now the bytes of answers that
clients are not taking count against `--max-answer-memory` per worker.
Over it, connections whose clients have taken nothing for a second are cut
(a GET's answer: nothing lost), and a new large GET answer that still finds
no room gets 503 `answer-memory-limit` with Retry-After. Real servers
(SQLite, 2 workers), raw sockets: each worker's resident memory stays under
the budget and a constant, another client's GET stays fast, and a pure
counter written meanwhile with If-Match is exact.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from httpconflict._problem import PROBLEM_TYPE_BASE
from tests.servers import ServiceProcess, start_service

pytestmark = pytest.mark.slow

#: Each worker's budget, and the stalled readers (each asks for a page of about 7 MB: the
#: kernel's buffers take 4 MB of it).
BUDGET = 16 * 1024 * 1024
STALLED = 120
DOCUMENTS = 8
DOCUMENT = 900_000
PAGE = f"/v1/big?limit={DOCUMENTS}"
#: What a worker may grow beyond the budget: the answers under way, the allocator's slack.
CONSTANT_MIB = 40
TCP_ESTABLISHED = 1
#: The longest a small GET of another client may take meanwhile, on a loaded machine.
FAST = 5.0


def budgeted_service(tmp_path: Path, budget: int) -> AbstractContextManager[ServiceProcess]:
    """A server (SQLite, 2 workers) whose workers each hold at most `budget` bytes of answers."""
    return start_service(
        str(tmp_path / "db.sqlite"),
        tmp_path,
        workers=2,
        fork_workers=True,
        extra=("--max-answer-memory", str(budget)),
        allowed_5xx=frozenset({503}),
    )


def workers_of(pid: int) -> list[int]:
    """The worker processes of a server started with several workers (not its resource tracker).

    A spawned worker runs multiprocessing's spawn_main; a forked one (`fork_workers`) runs
    the server's own command.
    """
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    server = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [
        int(c)
        for c in children
        if (command := Path(f"/proc/{c}/cmdline").read_bytes()) == server
        or b"spawn_main" in command
    ]


def rss_mib(pid: int) -> float:
    """A process's resident memory, in MiB."""
    found = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return int(found.group(1)) / 1024 if found else 0.0


def stalled_reader(port: int, coding: str = "identity") -> socket.socket:
    """A GET of the large page on a connection whose client never reads (4 KB receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET {PAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: {coding}\r\n\r\n".encode()
    )
    return sock


def first_bytes(sock: socket.socket) -> tuple[bytes, bool]:
    """The first bytes the server sent on `sock`, and whether it has cut or closed it since.

    Read from the connection's TCP state, not by reading on: that would let
    the server send the rest.
    """
    ended = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != TCP_ESTABLISHED
    sock.setblocking(False)
    try:
        return sock.recv(4096), ended
    except (BlockingIOError, ConnectionResetError):
        return b"", ended


class Monitor(threading.Thread):
    """Another client: a small GET, then a counter's GET and If-Match PUT, in a loop."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.slowest = 0.0
        self.written = 0
        self.failures: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while not self.stop.is_set():
                started = time.monotonic()
                small = http.get("/v1/small/doc")
                self.slowest = max(self.slowest, time.monotonic() - started)
                if small.status_code != 200:
                    self.failures.append(f"small GET {small.status_code}")
                read = http.get("/v1/small/counter")
                if read.status_code != 200:
                    self.failures.append(f"counter GET {read.status_code}")
                    continue
                n = read.json()["n"]
                put = http.put(
                    "/v1/small/counter",
                    json={"n": n + 1},
                    headers={"If-Match": read.headers["etag"]},
                )
                if put.status_code == 200:
                    self.written += 1
                elif put.status_code != 412:
                    self.failures.append(f"PUT {put.status_code}")
                time.sleep(0.02)


def test_stalled_readers_of_large_pages_cannot_hold_more_than_the_budget(tmp_path: Path) -> None:
    with (
        budgeted_service(tmp_path, BUDGET) as service,
        httpx.Client(base_url=service.url, timeout=30) as http,
    ):
        port = int(service.url.rsplit(":", 1)[1])
        for n in range(DOCUMENTS):
            body = {"n": n, "pad": "x" * DOCUMENT}
            made = http.put(f"/v1/big/d{n}", json=body, headers={"If-None-Match": "*"})
            assert made.status_code == 201, made.text
        small = http.put("/v1/small/doc", json={"a": 1}, headers={"If-None-Match": "*"})
        counter = http.put("/v1/small/counter", json={"n": 0}, headers={"If-None-Match": "*"})
        assert small.status_code == counter.status_code == 201
        page = http.get(PAGE, headers={"Accept-Encoding": "identity"})
        assert page.status_code == 200
        assert len(page.content) > DOCUMENTS * DOCUMENT
        workers = workers_of(service.process.pid)
        assert len(workers) == 2
        before = {w: rss_mib(w) for w in workers}
        monitor = Monitor(service.url)
        monitor.start()
        sockets: list[socket.socket] = []
        try:
            for _ in range(STALLED):
                sockets.append(stalled_reader(port))
                time.sleep(0.01)
            time.sleep(3)
            grown = {w: rss_mib(w) - before[w] for w in workers}
            seen = [first_bytes(sock) for sock in sockets]
        finally:
            monitor.stop.set()
            monitor.join()
            for sock in sockets:
                sock.close()
        refused = [a for a, _ in seen if a.startswith(b"HTTP/1.1 503 ")]
        held = [a for a, ended in seen if a.startswith(b"HTTP/1.1 200 ") and not ended]
        cut = [a for a, ended in seen if not a.startswith(b"HTTP/1.1 503 ") and ended]
        assert len(refused) + len(held) + len(cut) == STALLED
        growth = ", ".join(f"{g:.0f}" for g in grown.values())
        print(
            f"{STALLED} stalled readers of a {len(page.content) / 2**20:.1f} MiB page: "
            f"workers grew {growth} MiB; {len(held)} held, {len(cut)} cut, {len(refused)} "
            f"refused 503; other GETs at most {monitor.slowest * 1000:.0f} ms; counter "
            f"{monitor.written} writes"
        )
        for worker, mib in grown.items():
            assert mib < BUDGET / 2**20 + CONSTANT_MIB, f"worker {worker} grew {mib:.0f} MiB"
        assert monitor.failures == []
        assert monitor.slowest < FAST, f"a small GET took {monitor.slowest:.2f} s"
        for answer in refused:
            head = answer.lower()
            assert b"retry-after: 1\r\n" in head
            assert b"application/problem+json" in head
            assert (PROBLEM_TYPE_BASE + "answer-memory-limit").encode() in answer
        assert http.get("/v1/small/counter").json() == {"n": monitor.written}
        # Once the stalled readers are gone, the large page is served again.
        time.sleep(0.5)
        again = http.get(PAGE, headers={"Accept-Encoding": "identity"})
        assert again.status_code == 200
        assert len(again.content) == len(page.content)


#: gzip readers: a page of documents that do not compress (random bytes, base64: 7.5 MB, about
#: 5.7 MB compressed).
GZIP_STALLED = 120
RANDOM_DOCUMENT = 700_000
GZIP_BUDGET = 4 * 1024 * 1024


def test_stalled_gzip_readers_cannot_hold_more_than_the_budget(tmp_path: Path) -> None:
    """A gzip answer's bytes waiting for (or in) a compression thread count against the budget.

    Compressed in threads (40 a worker), a page's batches queued for one
    were held in the worker uncounted, each 1.5 MiB, and every arriving
    gzip GET was admitted: 120 stalled gzip readers of such a page grew 2
    workers by 52 to 76 MiB with a 4 MiB budget, none refused (now 15 to
    30 MiB, about 110 refused 503).
    """
    with (
        budgeted_service(tmp_path, GZIP_BUDGET) as service,
        httpx.Client(base_url=service.url, timeout=60) as http,
    ):
        port = int(service.url.rsplit(":", 1)[1])
        for n in range(DOCUMENTS):
            pad = base64.b64encode(os.urandom(RANDOM_DOCUMENT)).decode()
            made = http.put(f"/v1/big/d{n}", json={"pad": pad})
            assert made.status_code == 201, made.text
        page = http.get(PAGE, headers={"Accept-Encoding": "gzip"})
        assert page.status_code == 200
        assert page.headers["content-encoding"] == "gzip"
        workers = workers_of(service.process.pid)
        before = {w: rss_mib(w) for w in workers}
        peak = dict.fromkeys(workers, 0.0)
        sockets: list[socket.socket] = []
        try:
            for _ in range(GZIP_STALLED):
                sockets.append(stalled_reader(port, coding="gzip"))
                time.sleep(0.01)
            until = time.monotonic() + 4
            while time.monotonic() < until:
                for worker in workers:
                    peak[worker] = max(peak[worker], rss_mib(worker) - before[worker])
                time.sleep(0.05)
            seen = [first_bytes(sock) for sock in sockets]
        finally:
            for sock in sockets:
                sock.close()
        refused = sum(a.startswith(b"HTTP/1.1 503 ") for a, _ in seen)
        growth = ", ".join(f"{g:.0f}" for g in peak.values())
        print(f"{GZIP_STALLED} stalled gzip readers: workers grew {growth} MiB, {refused} 503")
        for worker, mib in peak.items():
            assert mib < GZIP_BUDGET / 2**20 + CONSTANT_MIB, f"worker {worker} grew {mib:.0f} MiB"
        time.sleep(0.5)
        again = http.get(PAGE, headers={"Accept-Encoding": "gzip"})
        assert again.status_code == 200
        assert again.content == page.content


#: Live readers: each takes its page at three times the pace below which a reader is stalled.
LIVE = 20
LIVE_RATE = 3 * 16 * 1024
LIVE_BUDGET = 4 * 1024 * 1024


class LiveReader(threading.Thread):
    """A client that reads its page at `LIVE_RATE` bytes a second, in tenths of a second."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.taken = 0
        self.first = b""
        self.ended: str | None = None

    def run(self) -> None:
        step = LIVE_RATE // 10
        with stalled_reader(self.port) as sock:  # asked for as it starts reading
            while not self.stop.is_set():
                started = time.monotonic()
                due = self.taken + step
                while self.taken < due:
                    try:
                        chunk = sock.recv(due - self.taken)
                    except OSError as error:
                        self.ended = type(error).__name__
                        return
                    if not chunk:
                        self.ended = "closed"
                        return
                    self.taken += len(chunk)
                    self.first = self.first or chunk
                time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))


def test_readers_that_take_their_answers_are_not_cut_as_stalled(tmp_path: Path) -> None:
    """Past the budget, stalled readers are cut; a reader taking 48 KiB a second never is.

    A reader's progress was read from the worker's buffer alone, which goes
    down only when the kernel's send buffer (up to 4 MiB) frees a third of
    itself: at 48 KiB a second, not for many seconds. 20 such readers, with
    20 stalled ones past a 4 MiB budget: every one served (10 to 16, the
    rest refused 503) was reset as stalled within 8 s, before the stalled
    ones, being paused longest.
    """
    with (
        budgeted_service(tmp_path, LIVE_BUDGET) as service,
        httpx.Client(base_url=service.url, timeout=30) as http,
    ):
        port = int(service.url.rsplit(":", 1)[1])
        for n in range(DOCUMENTS):
            body = {"n": n, "pad": "x" * DOCUMENT}
            assert http.put(f"/v1/big/d{n}", json=body).status_code == 201
        readers = [LiveReader(port) for _ in range(LIVE)]
        for reader in readers:
            reader.start()
            time.sleep(0.05)
        stalled: list[socket.socket] = []
        try:
            for _ in range(LIVE):
                stalled.append(stalled_reader(port))
                time.sleep(0.05)
            time.sleep(8)
            seen = [first_bytes(sock) for sock in stalled]
        finally:
            for reader in readers:
                reader.stop.set()
            for reader in readers:
                reader.join()
            for sock in stalled:
                sock.close()
    # A reader refused (503, the budget passed) has nothing more to read: it is not cut.
    served = [reader for reader in readers if reader.first.startswith(b"HTTP/1.1 200 ")]
    ended = [reader.ended for reader in served if reader.ended is not None]
    cut = sum(ended for _, ended in seen)
    taken = min(reader.taken for reader in served)
    print(
        f"{len(served)} live readers served, cut: {ended}; stalled ones cut: {cut} of {LIVE}; "
        f"least taken {taken}"
    )
    assert cut > 0, "no stalled reader was cut: the budget was not passed"
    assert ended == [], f"{len(ended)} of {len(served)} live readers were cut: {ended}"
