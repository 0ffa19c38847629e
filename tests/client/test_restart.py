"""The client waits out a server restart on the real clock, within its default time budget.

The server is stopped in the middle of an operation (or before it) and
started again on the same port and database some 1.5 s later: the
operation lands, exactly once, with the default `RetryPolicy` (the
attempt count of old, 8 tries from 50 ms, gave up in a few seconds).
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from httpconflict.httpx import AsyncConflictClient, ConflictClient, StoredDocument
from tests.servers import free_port, start_service, stop

pytestmark = pytest.mark.slow
DOWN_FOR = 1.5


def log_dir(parent: Path, name: str) -> Path:
    path = parent / name
    path.mkdir()
    return path


def written(log: list[dict[str, Any]], method: str) -> list[dict[str, Any]]:
    return [r for r in log if r["method"] == method and 200 <= r["status"] < 300]


def test_an_update_outlives_a_restart_between_its_read_and_its_write(tmp_path: Path) -> None:
    """Stopped after the GET, back 1.5 s later: the PATCH lands once and the change ran once."""
    db, port = str(tmp_path / "service.db"), free_port()
    runs: list[int] = []
    down = threading.Event()

    def increment(doc: dict[str, Any]) -> None:
        runs.append(doc["n"])
        if len(runs) == 1:
            stop(first.process)
            down.set()
        doc["n"] += 1

    def update(url: str) -> StoredDocument:
        with httpx.Client(base_url=first.url, timeout=10) as http:
            return ConflictClient(http).update(url, increment)

    with ThreadPoolExecutor(1) as pool:
        with start_service(db, log_dir(tmp_path, "before"), port=port) as first:
            with first.client() as http:
                created = http.post("/v1/counters", json={"n": 0})
            future = pool.submit(update, created.headers["location"])
            assert down.wait(30)
        began = time.monotonic()
        time.sleep(DOWN_FOR)
        with start_service(db, log_dir(tmp_path, "after"), port=port) as second:
            stored = future.result(timeout=60)
            assert time.monotonic() - began < 30
            with second.client() as http:
                assert http.get(created.headers["location"]).json() == {"n": 1}
            patches = second.wait_for_log(lambda r: r["method"] == "PATCH")
    assert (stored.document, runs) == ({"n": 1}, [0])
    assert stored.attempts > 1
    assert len(written(patches, "PATCH")) == 1


def test_an_async_create_sent_while_the_server_is_down_lands_once(tmp_path: Path) -> None:
    """A create begun with no server listening is created once when it comes back."""
    db, port = str(tmp_path / "service.db"), free_port()
    url = f"http://127.0.0.1:{port}"

    async def create() -> StoredDocument:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            return await AsyncConflictClient(http).create("/v1/orders", {"item": "tea"})

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(asyncio.run, create())
        time.sleep(DOWN_FOR)
        assert not future.done()
        with start_service(db, log_dir(tmp_path, "log"), port=port) as service:
            stored = future.result(timeout=60)
            with service.client() as http:
                items = http.get("/v1/orders").json()["items"]
            posts = service.wait_for_log(lambda r: r["method"] == "POST")
    assert [item["document"] for item in items] == [{"item": "tea"}]
    assert stored.url == f"{url}/v1/orders/{items[0]['id']}"
    assert stored.attempts > 1
    assert len(written(posts, "POST")) == 1
