"""The service on SQLite while another process holds the file's write lock.

A real server (one worker) on a real SQLite file; another process opens
the file, takes the write lock (``BEGIN IMMEDIATE`` or ``BEGIN
EXCLUSIVE``), writes a row of its own and holds the lock for 4 s. Meanwhile
a prober GETs a document and /healthz in turn, timing each answer, and two
clients increment a pure counter (read, then PUT ``{"n": n + 1}`` with
If-Match and an Idempotency-Key, sending a 503'd request again with its
key). Reads must keep being answered at once; a write either waits for the
lock and succeeds or, past `--sqlite-busy-timeout`, gets a 503 problem
with Retry-After; and the counter must equal the increments acknowledged.
bench/sqlite_lock.py holds the lock for 10 s and reports the same numbers.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.servers import ServiceProcess, start_service

pytestmark = pytest.mark.slow

DOC = "/v1/lock/counter"
#: How long the other process holds the lock.
HOLD = 4.0
#: The slowest read answer allowed while the lock is held. The issue asks
#: for 100 ms; reads measure ~1-5 ms, and the margin is for a loaded
#: 2-core machine (bench/sqlite_lock.py reports the measured numbers).
SLOWEST_READ = 1.0

#: The other process: lock the file, write a row, hold it, then commit.
LOCKER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute(f"BEGIN {sys.argv[2]}")
db.execute("CREATE TABLE IF NOT EXISTS maintenance (at REAL)")
db.execute("INSERT INTO maintenance VALUES (?)", (time.time(),))
print("locked", flush=True)
time.sleep(float(sys.argv[3]))
db.execute("COMMIT")
"""


@dataclass
class Answer:
    """One answer as a client saw it."""

    sent: float
    took: float
    status: int
    retry_after: str | None = None
    content_type: str = ""
    key: str = ""


@dataclass
class Tally:
    """What the prober and the writers saw, and when the lock was held."""

    reads: list[Answer] = field(default_factory=list)
    writes: list[Answer] = field(default_factory=list)
    locked_at: float = 0.0
    released_at: float = 0.0

    def during_lock(self, answers: list[Answer]) -> list[Answer]:
        return [a for a in answers if self.locked_at <= a.sent <= self.released_at]

    def acknowledged(self) -> set[str]:
        """The keys whose increment was answered 200 (a replay names its key again)."""
        return {a.key for a in self.writes if a.status == 200}


def hold_lock(db: str, mode: str, tally: Tally) -> None:
    """Another process holds the file's write lock for HOLD seconds; return once it let go."""
    command = [sys.executable, "-c", LOCKER, db, mode, str(HOLD)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "locked"
            tally.locked_at = time.monotonic()
            assert process.wait(timeout=HOLD + 10) == 0
            tally.released_at = time.monotonic()
        finally:
            if process.poll() is None:
                process.kill()


def probe(url: str, stop: threading.Event, tally: Tally) -> None:
    """GET the document and /healthz in turn, timing each answer, until `stop`."""
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            for path in (DOC, "/healthz"):
                sent = time.monotonic()
                status = client.get(path).status_code
                tally.reads.append(Answer(sent, time.monotonic() - sent, status))
            time.sleep(0.01)


def increment(url: str, stop: threading.Event, tally: Tally) -> None:
    """Pure-counter increments until `stop`; a 503'd PUT is sent again with its key."""
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            read = client.get(DOC)
            assert read.status_code == 200, read.text
            key = uuid.uuid4().hex
            while True:
                sent = time.monotonic()
                answer = client.put(
                    DOC,
                    json={"n": read.json()["n"] + 1},
                    headers={"If-Match": read.headers["etag"], "Idempotency-Key": key},
                )
                tally.writes.append(
                    Answer(
                        sent,
                        time.monotonic() - sent,
                        answer.status_code,
                        answer.headers.get("retry-after"),
                        answer.headers.get("content-type", ""),
                        key,
                    )
                )
                if answer.status_code != 503 or stop.is_set():
                    break
                time.sleep(0.2)


def run_through_lock(service: ServiceProcess, mode: str) -> tuple[Tally, int]:
    """Probe and increment through a lock held by another process; the tally and final n."""
    with service.client() as client:
        assert client.put(DOC, json={"n": 0}, headers={"If-None-Match": "*"}).status_code == 201
    tally = Tally()
    stop = threading.Event()
    threads = [threading.Thread(target=probe, args=(service.url, stop, tally))]
    threads += [
        threading.Thread(target=increment, args=(service.url, stop, tally)) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        hold_lock(service.db, mode, tally)
        time.sleep(1.0)  # writes go on after the lock is released
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    with service.client() as client:
        final = client.get(DOC).json()["n"]
    return tally, final


def check_reads(tally: Tally) -> None:
    during = tally.during_lock(tally.reads)
    assert len(during) > 20, len(during)
    assert {a.status for a in tally.reads} == {200}
    took = sorted(a.took for a in during)
    print(
        f"reads during the lock: {len(took)}, p50 {took[len(took) // 2] * 1000:.1f} ms, "
        f"p99 {took[int(len(took) * 0.99)] * 1000:.1f} ms, max {took[-1] * 1000:.1f} ms"
    )
    assert took[-1] < SLOWEST_READ, took[-5:]


def test_reads_answer_and_writes_get_503_while_another_process_holds_the_lock(
    tmp_path: Path,
) -> None:
    """4 s lock, 1 s busy timeout: reads answer at once, writes 503 with Retry-After, none lost."""
    db = str(tmp_path / "lock.db")
    extra = ("--sqlite-busy-timeout", "1")
    with start_service(db, tmp_path, extra=extra, allowed_5xx=frozenset({503})) as service:
        tally, final = run_through_lock(service, "IMMEDIATE")
    check_reads(tally)
    refused = [a for a in tally.writes if a.status == 503]
    assert refused, "no write was refused during a lock longer than the busy timeout"
    for answer in refused:
        assert answer.retry_after is not None
        assert int(answer.retry_after) >= 1
        assert answer.content_type == "application/problem+json"
        # Refused after waiting about the busy timeout, not the whole lock.
        assert answer.took < 1 + SLOWEST_READ + 1, answer
    assert {a.status for a in tally.writes} <= {200, 412, 503}
    assert any(a.status == 200 and a.sent > tally.released_at for a in tally.writes)
    assert final == len(tally.acknowledged())


def test_a_write_waits_for_an_exclusive_lock_and_succeeds(tmp_path: Path) -> None:
    """BEGIN EXCLUSIVE for 4 s, default busy timeout: reads answer at once, writes wait and land."""
    db = str(tmp_path / "lock.db")
    with start_service(db, tmp_path) as service:
        tally, final = run_through_lock(service, "EXCLUSIVE")
    # In WAL mode an EXCLUSIVE transaction blocks writers only, as IMMEDIATE does.
    check_reads(tally)
    assert {a.status for a in tally.writes} <= {200, 412}
    waited = [a for a in tally.writes if a.took > HOLD / 2]
    assert waited, "no write waited for the lock"
    assert all(a.status in (200, 412) for a in waited)
    assert final == len(tally.acknowledged())
