"""A change pump that fell behind the retention purge sends its watchers to the 410.

The pump keeps a ring of the changes it polled; a watcher caught up reads
its next changes from the ring, not the database. When the purge deletes
changes the pump has not polled yet (a short --changes-retention, a pump
slow to catch up), the pump's next poll sees a gap where they were: those
changes are gone from the ring too, and a watcher reading the ring would go
past them with no word. Reading the database instead, its cursor below the
horizon, it gets `SinceExpired` (its stream ends; reconnecting, the 410).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from httpconflict import ETag, Guard
from httpconflict.changes import SinceExpired
from httpconflict.service.change_pump import ChangePump
from httpconflict.service.changes import Follower
from httpconflict.storage import DocumentStore, document_store

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgres"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "store.db")
    else:
        yield request.getfixturevalue("postgres_schema")


async def create(store: DocumentStore, id: str) -> None:
    body = b'{"n": 1}'
    etag = ETag.from_content(body).opaque
    assert (await store.put("c", id, body, etag, Guard(exists=False), 1)).written


async def test_a_watcher_on_the_ring_is_not_led_past_purged_changes(url: str) -> None:
    """Three changes written by another worker and purged before the pump polled them."""
    store, other = document_store(url), document_store(url)
    await store.open()
    await other.open()
    pump = ChangePump(store, interval=3600)  # polls only when a write of `store` wakes it
    try:
        with pump.watching():
            start = await pump.start()
            follower = Follower(pump, store, "c", None, start)
            for id in ("a", "b", "c"):
                await create(other, id)  # another worker's writes do not wake this pump
            purged = await other.purge_changes(before_us=time.time_ns(), limit=100)
            assert purged >= 2  # SQLite keeps the newest row
            horizon = (await other.change_bounds()).horizon
            assert horizon > start
            await create(store, "d")  # wakes the pump
            deadline = time.monotonic() + 10
            while pump.watermark == start and time.monotonic() < deadline:
                await pump.wait(1)
            assert pump.watermark is not None
            assert pump.watermark > horizon
            with pytest.raises(SinceExpired):
                await follower.found(100)  # not the changes after the purged ones, with no word
    finally:
        await pump.close()
        await store.close()
        await other.close()
