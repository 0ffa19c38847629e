"""The change feed under faults: every committed change reaches every watcher exactly once.

10 pure-counter writers (two to a document) and 5 watchers (tests/service/feed_hammer.py):
- on PostgreSQL, two `httpconflict serve` instances on one private server:
  the instance three watchers follow is killed (SIGKILL) mid-run (they go
  on from the other with Last-Event-ID), then PostgreSQL restarts (the
  streams stay open through the outage, with heartbeats, and resume).
  Meanwhile a slow writer takes its seq and commits 0.2 s later, again and
  again, as a transaction does that commits late: the other writers'
  higher seqs commit first, which a reader that moves its cursor to the
  largest seq it saw skips for good (this test fails with such a reader);
- on SQLite, one instance with 2 workers, one of them killed (uvicorn
  starts another).
Each checks per watcher: seqs strictly increasing, each document's
versions 1..final with no gap or repeat, and the counters equal to the
writes answered 200.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.private_postgres import PrivatePostgres
from tests.servers import ServiceProcess, start_service
from tests.service.feed_hammer import (
    JSON,
    Watcher,
    Writers,
    check_exactly_once,
    wait_for_finals,
)

pytestmark = pytest.mark.slow

WRITERS = 10
WATCHERS = 5
DOCS = 5
#: 5xx a test expects: 503 while PostgreSQL restarts, 504 for a write cut by it.
OUTAGE = frozenset({503, 504})


def _seed(url: str, collection: str) -> tuple[int, list[str]]:
    """The feed's seq before the counters exist, and the counters (n = 0, version 1)."""
    with httpx.Client(base_url=url, timeout=10) as http:
        since = http.get(f"/v1/{collection}/_changes", params={"since": "now"}).json()["last_seq"]
        docs = [f"counter-{n}" for n in range(DOCS)]
        for doc in docs:
            created = http.put(
                f"/v1/{collection}/{doc}",
                content='{"n": 0}',
                headers={**JSON, "If-None-Match": "*"},
            )
            assert created.status_code == 201
    return since, docs


def _finals(url: str, collection: str, docs: list[str]) -> tuple[dict[str, int], int]:
    """Each counter's current version, and the sum of the counters."""
    finals, total = {}, 0
    with httpx.Client(base_url=url, timeout=10) as http:
        for doc in docs:
            versions = http.get(f"/v1/{collection}/{doc}/versions", params={"limit": 1}).json()
            finals[doc] = versions["items"][0]["version"]
            total += http.get(f"/v1/{collection}/{doc}").json()["n"]
    return finals, total


class SlowWriter:
    """Writes document "slow" over and over in transactions that commit 0.2 s after their seq."""

    def __init__(self, url: str, collection: str) -> None:
        self.url, self.collection = url, collection
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowWriter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)

    def final(self) -> int:
        import psycopg

        with psycopg.connect(self.url) as conn:
            row = conn.execute(
                "SELECT version FROM documents WHERE collection = %s AND id = 'slow'",
                (self.collection,),
            ).fetchone()
        return int(row[0]) if row else 0

    def _run(self) -> None:
        import psycopg

        while not self.stop.is_set():
            try:
                with psycopg.connect(self.url, connect_timeout=2) as conn:
                    while not self.stop.is_set():
                        # As the service writes: the document row, then its seq
                        # (the history left out: nothing here reads it).
                        conn.execute(
                            "WITH written AS (INSERT INTO documents "
                            "(collection, id, version, etag, body, modified_us) "
                            "VALUES (%s, 'slow', 1, 'slow', '{}', 0) "
                            "ON CONFLICT (collection, id) DO UPDATE SET "
                            "version = documents.version + 1 "
                            "RETURNING collection, id, version, etag, modified_us) "
                            "INSERT INTO changes SELECT nextval('changes_seq'), * FROM written",
                            (self.collection,),
                        )
                        time.sleep(0.2)
                        conn.commit()
            except psycopg.Error:
                time.sleep(0.2)  # PostgreSQL restarting: what committed, committed


def _wait_until(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]  # a callable
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.postgres
def test_watchers_see_every_change_once_across_a_kill_and_a_restart(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    """Two instances on PostgreSQL: one killed under three watchers, then PostgreSQL restarts."""
    collection = f"c-{uuid.uuid4().hex[:8]}"
    with (
        start_service(private_postgres.url, tmp_path, allowed_5xx=OUTAGE) as first,
        start_service(private_postgres.url, tmp_path, allowed_5xx=OUTAGE) as second,
    ):
        since, docs = _seed(first.url, collection)
        watchers = [
            Watcher(
                [first.url, second.url] if n < 3 else [second.url, first.url], collection, since
            )
            for n in range(WATCHERS)
        ]
        for watcher in watchers:
            watcher.start()
        for watcher in watchers:
            assert watcher.connected.wait(10)
        writers = Writers([first.url, second.url], collection, docs, WRITERS, total=120)
        writers.start()
        slow = SlowWriter(private_postgres.url, collection)
        try:
            with slow:
                # The slow writer's late commits must fall among the others'
                # before each fault and after them, however fast the hammer runs.
                _wait_until(lambda: writers.successes >= 40 and slow.final() >= 2, 30)
                first.process.send_signal(signal.SIGKILL)
                _wait_until(lambda: writers.successes >= 80 and slow.final() >= 4, 30)
                private_postgres.restart()
                writers.join(60)
                _wait_until(lambda: slow.final() > 5, 30)
            finals, total = _finals(second.url, collection, docs)
            assert total == writers.successes
            assert all(finals[doc] >= 1 for doc in docs)
            finals["slow"] = slow.final()
            assert finals["slow"] > 5
            wait_for_finals(watchers, finals, 20)
            for watcher in watchers:
                check_exactly_once(watcher, finals)
            # The killed instance's watchers went on from the other; the
            # other's streams stayed open through PostgreSQL's restart.
            assert all(w.reconnects >= 1 for w in watchers[:3])
            assert all(w.reconnects == 0 for w in watchers[3:]), [w.failures for w in watchers]
        finally:
            for watcher in watchers:
                watcher.stop.set()
            for watcher in watchers:
                watcher.close()


def test_watchers_see_every_change_once_across_a_killed_worker(tmp_path: Path) -> None:
    """One SQLite instance with two workers, one killed mid-run (uvicorn starts another)."""
    collection = f"c-{uuid.uuid4().hex[:8]}"
    with start_service(str(tmp_path / "feed.db"), tmp_path, workers=2) as service:
        since, docs = _seed(service.url, collection)
        watchers = [Watcher([service.url], collection, since) for _ in range(WATCHERS)]
        for watcher in watchers:
            watcher.start()
        for watcher in watchers:
            assert watcher.connected.wait(10)
        writers = Writers([service.url], collection, docs, WRITERS, total=120)
        writers.start()
        try:
            _wait_until(lambda: writers.successes >= 40, 30)
            os.kill(_a_worker(service), signal.SIGKILL)
            writers.join(60)
            finals, total = _finals(service.url, collection, docs)
            assert total == writers.successes
            wait_for_finals(watchers, finals, 20)
            for watcher in watchers:
                check_exactly_once(watcher, finals)
        finally:
            for watcher in watchers:
                watcher.close()


def _a_worker(service: ServiceProcess) -> int:
    """The pid of a worker process of the service (a child of its supervisor)."""
    children = Path(f"/proc/{service.process.pid}/task/{service.process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    workers = [pid for pid in pids if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert workers, pids
    return workers[-1]


@pytest.mark.postgres
def test_the_feed_is_503_while_the_database_is_down(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    """A feed request while PostgreSQL is down gets 503 with Retry-After; once back, 200."""
    with (
        start_service(private_postgres.url, tmp_path, allowed_5xx=OUTAGE) as service,
        service.client() as http,
    ):
        private_postgres.stop()
        for headers in ({}, {"accept": "text/event-stream"}):
            answer = http.get("/v1/c/_changes", headers=headers)
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "1"
        private_postgres.start()
        deadline = time.monotonic() + 10
        while (answer := http.get("/v1/c/_changes")).status_code != 200:
            assert time.monotonic() < deadline, answer.text
            time.sleep(0.1)
        assert answer.json()["results"] == []
