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
from httpconflict.changes import SinceExpired, check_since
from httpconflict.service.change_pump import ChangePump
from httpconflict.service.changes import Follower, starting_at
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


async def test_a_request_for_changes_from_now_is_no_410(url: str) -> None:
    """No since (or since=now) on a worker whose pump lags behind another's purge: it starts at
    the horizon, not at the watermark the purge went past (which answered 410)."""
    store, other = document_store(url), document_store(url)
    await store.open()
    await other.open()
    pump = ChangePump(store, interval=3600)
    try:
        with pump.watching():
            watermark = await pump.start()
            for id in ("a", "b", "c"):
                await create(other, id)
            assert await other.purge_changes(before_us=time.time_ns(), limit=100) >= 2
            bounds = await store.change_bounds()
            assert bounds.horizon > watermark == pump.watermark  # the pump has not polled
            with pytest.raises(SinceExpired):  # where such a request started, before
                check_since(watermark, oldest=bounds.horizon, latest=bounds.latest)
            since = starting_at(None, watermark, bounds)
            check_since(since, oldest=bounds.horizon, latest=max(bounds.latest, watermark))
            assert since == bounds.horizon
            follower = Follower(pump, store, "c", None, since)
            await create(store, "d")  # wakes the pump
            deadline = time.monotonic() + 10
            while not (changes := await follower.found(100)) and time.monotonic() < deadline:
                await pump.wait(1)
            assert [change.id for change in changes][-1:] == ["d"]
            assert starting_at(7, watermark, bounds) == 7  # a since asked for stays
    finally:
        await pump.close()
        await store.close()
        await other.close()
