"""The example apps restarted mid-run, their keys in SQLite beside the data: nothing twice.

A SQLite key store has no server to restart: the process that uses it is
what restarts (a deploy). Each example (FastAPI, Flask, Django) runs as its
README runs it, its data and its keys in SQLite files, behind the proxy of
tests/proxy.py (losing nothing: it tallies every answer, and stands for a
load balancer, so the port answers while the app is down). Two
`ConflictClient` threads and two `AsyncConflictClient` tasks increment one
note's count (pure counter) while as many create orders; once the count
passed `RESTART_AT`, the app is stopped (SIGINT: it finishes the requests
it has, as a deploy stops it) and started again on the same port and files.

What must hold: the count equals the writes the app applied, which are the
increments acknowledged (an answer the restart lost would be an applied
unknown: none may be); no key applied twice; each create makes exactly one
order (counted in the database itself); no 5xx but 503/504 with Retry-After.
"""

from __future__ import annotations

import concurrent.futures
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import cast

import httpx
import pytest

from tests.adapters.test_example_lost_answers import count_plus_one, creates
from tests.client.test_lost_answers import Measured, hammer
from tests.conformance.targets import STARTERS
from tests.proxy import LossyProxy, lossy_proxy
from tests.servers import free_port

pytestmark = pytest.mark.slow

INCREMENTS = 20  # by each of the 4 clients
#: The count after which the app restarts.
RESTART_AT = 15


def starter(example: str) -> Callable[..., AbstractContextManager[str]]:
    """Starts the example as a server (its files in a folder, on a port), yields its URL."""
    return cast("Callable[..., AbstractContextManager[str]]", STARTERS[example])


def orders_in(db: Path) -> int:
    """How many orders the example's database holds."""
    with sqlite3.connect(db) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
        table = next(n for n in names if n == "orders" or n.endswith("_order"))
        n: int = connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return n


def wait_for_count(url: str, at_least: int) -> None:
    deadline = time.monotonic() + 30
    while httpx.get(url, timeout=10).json()["count"] < at_least:
        assert time.monotonic() < deadline, "the clients made no progress"
        time.sleep(0.02)


@pytest.mark.parametrize("example", ["fastapi", "flask", "django"])
def test_keyed_writes_outlive_an_app_restart(example: str, tmp_path: Path) -> None:
    """Restarted mid-run: count == increments acknowledged, one order a create, 5xx 503/504."""
    start, port = starter(example), free_port()
    url = f"http://127.0.0.1:{port}"
    with (
        lossy_proxy(url, drop=0) as proxy,
        concurrent.futures.ThreadPoolExecutor(2) as pool,
    ):
        with start(tmp_path, port=port):
            note = httpx.post(
                f"{url}/v1/notes", json={"title": "counter", "count": 0, "writer": "-"}
            )
            assert note.status_code == 201, note.text
            path = httpx.URL(note.headers["location"]).path
            made = pool.submit(creates, proxy.url + "/v1/orders")
            calls = pool.submit(
                hammer,
                proxy.url + path,
                sync_clients=2,
                async_clients=2,
                increments=INCREMENTS,
                change=count_plus_one,
            )
            wait_for_count(url + path, RESTART_AT)
        restarted = len(proxy.tally.snapshot())
        with start(tmp_path, port=port):
            created, result = made.result(), calls.result()
            final = httpx.get(url + path, timeout=10).json()["count"]
    m = Measured.of(result, proxy, final)
    statuses = Counter(e.status for e in proxy.tally.snapshot() if e.status >= 300)
    print(f"\n{m}\nanswers not 2xx: {dict(statuses)}; restarted after {restarted} answers")
    assert result.failures == []
    assert restarted < m.answers, "the clients were done before the restart"
    assert (m.applied_without_key, m.keys_applied_twice, m.applied_unknowns) == (0, 0, 0), m
    assert m.final == m.applied == m.successes, m
    assert len(set(created)) == len(created) == orders_in(tmp_path / f"{example}_app.db")
    assert sorted(proxy.tally.applied(["POST"]).values()) == [1] * len(created)
    assert_failures_say_when(proxy)


def assert_failures_say_when(proxy: LossyProxy) -> None:
    """Every 5xx the proxy passed on is a 503 or 504 problem with Retry-After."""
    for answer in [e for e in proxy.tally.snapshot() if e.status >= 500]:
        assert answer.status in (503, 504), answer
        assert (answer.content_type or "").startswith("application/problem+json"), answer
        assert answer.retry_after is not None, answer


def test_the_flask_example_stopped_answers_the_request_it_serves(tmp_path: Path) -> None:
    """SIGINT while a keyed POST waits for the database: it is answered, then replayed.

    The test holds the database's write lock, so the POST waits inside the app
    when the stop begins, and lets go a second later. Before, werkzeug's
    daemon request threads died with the process: the connection dropped, and
    a write cut off after its commit left its key claimed for the lease.
    """
    start, port = starter("flask"), free_port()
    order, key = {"item": "tea", "qty": 1}, {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with start(tmp_path, port=port) as url:
            db = tmp_path / "flask_app.db"
            lock = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
            lock.execute("BEGIN IMMEDIATE")
            sent = pool.submit(httpx.post, url + "/v1/orders", json=order, headers=key, timeout=30)
            time.sleep(0.5)  # the POST is in, waiting for the lock
            threading.Timer(1.0, lock.rollback).start()  # once the stop has begun
        lock.close()
        first = sent.result()
        assert first.status_code == 201, first.text
        with start(tmp_path, port=port):
            again = httpx.post(url + "/v1/orders", json=order, headers=key, timeout=30)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert orders_in(tmp_path / "flask_app.db") == 1
