"""The service while another process holds the SQLite file's write lock for 10 s.

    python -m bench.sqlite_lock [--hold S] [--busy-timeout S ...]

For each busy timeout (default: the service's 10 s, and 2 s), starts the
service (one worker, a fresh SQLite file, no access log), creates a
counter document, then has another process take the file's write lock
(``BEGIN IMMEDIATE``, a row of its own written) and hold it `--hold`
seconds. Meanwhile one client GETs the document and another /healthz, in
a loop, timing every answer; two clients increment a pure counter (read,
then PUT ``{"n": n + 1}`` with If-Match and an Idempotency-Key, a 503'd
request sent again with its key after its Retry-After). Prints a markdown
table: read and /healthz latency while the lock was held (p50, p99, max),
the writes' answers, and whether the counter equals the increments
acknowledged. Exits 1 if a read took 100 ms or more, an answer was neither
2xx, 412 nor a 503 with Retry-After, or an increment was lost.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx

from .rounds import machine
from .servers import HOST, free_port, running

DOC: Final = "/v1/lock/counter"
#: The issue's bound on a read answered while the lock is held.
READ_GOAL: Final = 0.1
LOCKER: Final = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN IMMEDIATE")
db.execute("CREATE TABLE IF NOT EXISTS maintenance (at REAL)")
db.execute("INSERT INTO maintenance VALUES (?)", (time.time(),))
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


@dataclass
class Seen:
    """Answers by kind (sent at, took, status, whether a 503 had Retry-After), and the lock."""

    answers: dict[str, list[tuple[float, float, int, bool]]] = field(
        default_factory=lambda: {"GET": [], "healthz": [], "PUT": []}
    )
    acknowledged: set[str] = field(default_factory=set)
    locked: tuple[float, float] = (0.0, 0.0)

    def during_lock(self, kind: str) -> list[tuple[float, float, int, bool]]:
        start, end = self.locked
        return [a for a in self.answers[kind] if start <= a[0] <= end]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sqlite_lock", description=__doc__)
    parser.add_argument("--hold", type=float, default=10.0, help="seconds the lock is held")
    parser.add_argument(
        "--busy-timeout",
        type=float,
        nargs="+",
        default=[10.0, 2.0],
        help="the service's --sqlite-busy-timeout values to run with (default: 10 2)",
    )
    options = parser.parse_args(argv)
    print(machine("httpx", "uvicorn") + ".")
    print(f"\nAnother process holds the write lock for {options.hold:g} s.\n")
    print(
        "| busy timeout | reads during the lock | GET p50 / p99 / max | "
        "/healthz p50 / p99 / max | PUT answers during the lock | slowest 503 | "
        "counter vs acknowledged |"
    )
    print("|---|---:|---|---|---|---:|---|")
    failed = False
    for timeout in options.busy_timeout:
        seen = _run(timeout, options.hold)
        row, ok = _row(seen, timeout)
        print(row, flush=True)
        failed |= not ok
    return 1 if failed else 0


def _run(busy_timeout: float, hold: float) -> Seen:
    seen = Seen()
    with tempfile.TemporaryDirectory(prefix="httpconflict-lock-") as tmp:
        db, port = Path(tmp) / "lock.db", free_port()
        command = [
            *(sys.executable, "-m", "httpconflict.cli", "serve", "--db", str(db)),
            *("--host", HOST, "--port", str(port), "--log-format", "off"),
            *("--sqlite-busy-timeout", str(busy_timeout)),
        ]
        with running("service", command, db=db, port=port, log_dir=Path(tmp)) as server:
            with httpx.Client(base_url=server.url) as client:
                client.put(DOC, json={"n": 0}, headers={"If-None-Match": "*"}).raise_for_status()
            stop = threading.Event()
            threads = [
                threading.Thread(target=_read, args=(server.url, path, kind, stop, seen))
                for path, kind in ((DOC, "GET"), ("/healthz", "healthz"))
            ]
            threads += [
                threading.Thread(target=_increment, args=(server.url, stop, seen)) for _ in (1, 2)
            ]
            for thread in threads:
                thread.start()
            time.sleep(0.5)
            with subprocess.Popen(
                [sys.executable, "-c", LOCKER, str(db), str(hold)],
                stdout=subprocess.PIPE,
                text=True,
            ) as locker:
                assert locker.stdout is not None
                if locker.stdout.readline().strip() != "locked":
                    raise SystemExit("the locking process did not get the lock")
                start = time.monotonic()
                locker.wait()
                seen.locked = (start, time.monotonic())
            # Writes sent during the lock may still be waiting for their answer.
            time.sleep(busy_timeout + 1)
            stop.set()
            for thread in threads:
                thread.join()
            with httpx.Client(base_url=server.url) as client:
                final = client.get(DOC).json()["n"]
    if final != len(seen.acknowledged):
        seen.acknowledged.add(f"lost: counter {final}")
    return seen


def _read(url: str, path: str, kind: str, stop: threading.Event, seen: Seen) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            sent = time.monotonic()
            status = client.get(path).status_code
            seen.answers[kind].append((sent, time.monotonic() - sent, status, False))
            time.sleep(0.005)


def _increment(url: str, stop: threading.Event, seen: Seen) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            read = client.get(DOC)
            key = uuid.uuid4().hex
            while True:
                sent = time.monotonic()
                answer = client.put(
                    DOC,
                    json={"n": read.json()["n"] + 1},
                    headers={"If-Match": read.headers["etag"], "Idempotency-Key": key},
                )
                retry_after = answer.headers.get("retry-after")
                took = time.monotonic() - sent
                seen.answers["PUT"].append((sent, took, answer.status_code, bool(retry_after)))
                if answer.status_code == 200:
                    seen.acknowledged.add(key)
                if answer.status_code != 503 or stop.is_set():
                    break
                time.sleep(float(retry_after or 1))


def _row(seen: Seen, busy_timeout: float) -> tuple[str, bool]:
    def spread(kind: str) -> tuple[str, float]:
        took = sorted(a[1] for a in seen.during_lock(kind))
        if not took:
            return "none answered", float("inf")
        p50, p99 = took[len(took) // 2], took[min(len(took) - 1, int(len(took) * 0.99))]
        return f"{p50 * 1000:.1f} / {p99 * 1000:.1f} / {took[-1] * 1000:.1f} ms", took[-1]

    gets, slowest_get = spread("GET")
    health, slowest_health = spread("healthz")
    reads = len(seen.during_lock("GET")) + len(seen.during_lock("healthz"))
    puts = Counter(a[2] for a in seen.during_lock("PUT"))
    refused = [a for a in seen.answers["PUT"] if a[2] == 503]
    slowest_503 = max((a[1] for a in refused), default=0.0)
    lost = [k for k in seen.acknowledged if k.startswith("lost")]
    counter = lost[0] if lost else f"equal ({len(seen.acknowledged)})"
    ok = (
        max(slowest_get, slowest_health) < READ_GOAL
        and all(a[2] in (200, 412) or (a[2] == 503 and a[3]) for a in seen.answers["PUT"])
        and all(a[2] == 200 for kind in ("GET", "healthz") for a in seen.answers[kind])
        and not lost
    )
    answers = ", ".join(f"{status}: {n}" for status, n in sorted(puts.items())) or "none"
    return (
        f"| {busy_timeout:g} s | {reads} | {gets} | {health} | {answers} | "
        f"{slowest_503:.2f} s | {counter} |"
    ), ok


if __name__ == "__main__":
    raise SystemExit(main())
