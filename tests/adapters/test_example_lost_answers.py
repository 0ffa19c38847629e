"""The example apps (FastAPI, Flask, Django) under lost answers, through the httpx clients.

Each example runs as its README runs it (a real server process on a SQLite
file, its keys beside it), behind the lossy proxy of tests/proxy.py, which
drops 10% of the answers after the app produced them: the write was
applied and its key recorded, but the client sees its connection drop.
Two `ConflictClient` threads and two `AsyncConflictClient` tasks each
increment one note's count (pure counter: ``count + 1`` from what they
read) and create orders with `create`. The library path must hold what the
service's own test (tests/client/test_lost_answers.py) holds: the count
equals the writes the app applied, which equals the successes plus the
unknowns whose write was in fact applied; no key is applied twice; each
create makes exactly one order.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from httpconflict.httpx import AsyncConflictClient, ConflictClient
from tests.client.test_lost_answers import POLICY, SEED, Measured, hammer
from tests.conformance.targets import STARTERS
from tests.proxy import lossy_proxy

pytestmark = pytest.mark.slow

EXAMPLES = ["fastapi", "flask", "django"]
CLIENTS = 2  # of each kind
INCREMENTS = 12
CREATES = 4  # by each client
DROP = 0.1


@pytest.fixture(params=EXAMPLES)
def example(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with STARTERS[request.param](tmp_path) as url:  # type: ignore[attr-defined]
        yield url


def count_plus_one(note: dict[str, Any]) -> dict[str, Any]:
    return {**note, "count": note["count"] + 1}


def creates(url: str) -> list[str]:
    """`CREATES` orders by each of the clients, all at once; the Location of each."""
    made: list[str] = []
    lock = threading.Lock()

    def sync_client() -> None:
        with httpx.Client(timeout=10) as http:
            client = ConflictClient(http, policy=POLICY)
            for i in range(CREATES):
                created = client.create(url, {"item": f"tea-{i}", "qty": 1})
                with lock:
                    made.append(created.url)

    async def async_client() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            client = AsyncConflictClient(http, policy=POLICY)
            for i in range(CREATES):
                created = await client.create(url, {"item": f"tea-{i}", "qty": 1})
                with lock:
                    made.append(created.url)

    async def async_clients() -> None:
        await asyncio.gather(*(async_client() for _ in range(CLIENTS)))

    threads = [threading.Thread(target=sync_client) for _ in range(CLIENTS)]
    threads.append(threading.Thread(target=lambda: asyncio.run(async_clients())))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return made


def test_lost_answers_lose_no_update_and_make_nothing_twice(example: str) -> None:
    """10% lost: count == writes applied == successes + applied unknowns; a create, one order."""
    with httpx.Client(base_url=example, timeout=10) as http:
        note = http.post("/v1/notes", json={"title": "counter", "count": 0, "writer": "-"})
        assert note.status_code == 201, note.text
        path = httpx.URL(note.headers["location"]).path
    with lossy_proxy(example, drop=DROP, seed=SEED) as proxy:
        calls = hammer(
            proxy.url + path,
            sync_clients=CLIENTS,
            async_clients=CLIENTS,
            increments=INCREMENTS,
            change=count_plus_one,
        )
        made = creates(proxy.url + "/v1/orders")
    assert proxy.tally.errors == []
    assert calls.failures == []
    with httpx.Client(base_url=example, timeout=10) as http:
        final = http.get(path).json()["count"]
    m = Measured.of(calls, proxy, final)
    print(f"\n{m}")
    assert m.dropped_applied > 0, m
    assert (m.applied_without_key, m.keys_applied_twice) == (0, 0), m
    assert m.final == m.applied == m.successes + m.applied_unknowns, m
    # Each create made one order: as many distinct orders as creates, and the
    # app made (answered 201 unreplayed, seen or lost) exactly those.
    assert len(set(made)) == len(made) == 2 * CLIENTS * CREATES
    posts = proxy.tally.applied(["POST"])
    assert sorted(posts.values()) == [1] * len(made), posts
