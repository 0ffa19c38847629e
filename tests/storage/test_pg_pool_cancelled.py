"""A request cancelled while it holds a pooled connection gives the connection back.

psycopg_pool's ``putconn`` waits for the pool's lock; a task cancelled
there (a client gone from a streamed list, a key's renewal stopped, a
caller's own timeout) lost its connection while the pool counted it as out
for good. Each such cancellation left the worker one connection less, until
every request waited its second for none and was answered 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest

from httpconflict import ETag, Guard
from httpconflict.storage.postgres import PostgresDocumentStore

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

#: Seconds of cancelled counting.
HAMMER = 2.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def store(postgres_schema: str) -> AsyncIterator[tuple[PostgresDocumentStore, str, str]]:
    name = f"hc-cancel-{uuid.uuid4().hex[:12]}"
    opened = PostgresDocumentStore(
        f"{postgres_schema}&application_name={name}", min_size=2, max_size=3
    )
    await opened.open()
    try:
        yield opened, postgres_schema, name
    finally:
        await opened.close()


def _body(n: int) -> bytes:
    return json.dumps({"n": n}).encode()


async def _count(store: PostgresDocumentStore) -> tuple[int, str]:
    """The counter's n and its ETag."""
    document = await store.get("c", "x")
    assert document is not None
    return json.loads(document.body)["n"], document.etag


async def _increment(store: PostgresDocumentStore) -> bool:
    """Read n, write n + 1 with its tag as If-Match: whether the write was made."""
    n, etag = await _count(store)
    body = _body(n + 1)
    guard = Guard(exists=True, etags=frozenset({etag}))
    written = await store.put(
        "c", "x", body, ETag.from_content(body).opaque, guard, time.time_ns() // 1000
    )
    return written.written


async def test_cancelled_requests_leave_every_connection_to_the_pool(
    store: tuple[PostgresDocumentStore, str, str],
) -> None:
    """Counting under random cancellations, then 20 increments: each made, every connection free.

    Before: the pool had 0 or 1 of its 3 connections left, and the
    increments after were 503 ("no database connection within 1 s").
    """
    documents, url, name = store
    zero = _body(0)
    await documents.put("c", "x", zero, ETag.from_content(zero).opaque, Guard(exists=False), 1)
    chance = random.Random(14)

    async def cancelled_soon() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_increment(documents), chance.uniform(0, 0.004))

    deadline = time.monotonic() + HAMMER
    while time.monotonic() < deadline:
        await asyncio.gather(*(cancelled_soon() for _ in range(4)))

    before, _ = await _count(documents)
    made = [await _increment(documents) for _ in range(20)]
    assert made == [True] * 20
    assert (await _count(documents))[0] == before + 20
    stats = (await documents.pool()).get_stats()
    assert stats["pool_available"] == stats["pool_size"] == 3
    with psycopg.connect(url, autocommit=True) as admin:
        backends = admin.execute(
            "SELECT state FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchall()
    assert backends == [("idle",)] * 3
