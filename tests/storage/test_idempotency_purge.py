"""Purging expired Idempotency-Keys in the stores that keep them until purged."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from httpconflict.storage.idempotency import IdempotencyStore, idempotency_store
from httpconflict.storage.idempotency._rows import HELD_CLAIMS_KEPT
from httpconflict.storage.idempotency.postgres import PURGE_BATCH
from httpconflict.storage.idempotency.sqlite import PURGE_WINDOW

pytestmark = pytest.mark.anyio

FP = "a" * 64


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# Redis expires keys by itself; its purge has nothing to do.
@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IdempotencyStore]:
    if request.param == "memory":
        url = "memory"
    elif request.param == "sqlite":
        url = str(tmp_path / "keys.db")
    else:
        url = request.getfixturevalue("postgres_schema")
    backend = idempotency_store(url)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()


async def test_purge_removes_every_expired_key_past_a_batch(store: IdempotencyStore) -> None:
    """purge() deletes each expired key once, more than a batch of them; live keys stay.

    Purged later than the server's first hour (PostgreSQL keeps expired claims in
    flight that long after it started: `HELD_CLAIMS_KEPT`), as a server up for
    long would be.
    """
    expired = max(PURGE_BATCH, PURGE_WINDOW) + 7
    now = time.time()
    for n in range(expired):
        # Interleaved in key order with live ones, so every window holds both.
        await store.claim("p", f"k{n:05}a", FP, f"t{n}", now=now - 10, lease=1)
        if n % 3 == 0:
            await store.claim("p", f"k{n:05}b", FP, f"t{n}", now=now, lease=3 * HELD_CLAIMS_KEPT)
    now += 2 * HELD_CLAIMS_KEPT
    assert await store.purge(now=now) == expired
    assert await store.purge(now=now) == 0
    assert await store.get("p", "k00000b", now=now) is not None
