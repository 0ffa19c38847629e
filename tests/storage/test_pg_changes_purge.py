"""The retention purge never deletes past a seq a transaction still open may commit.

A transaction that wrote a change and stays open holds its seq; a change
committed after it, with a higher seq, may be old enough to purge. Purged,
it raises the horizon above the open seq: when that transaction commits,
its change lands under the horizon, and a watcher that was waiting for it
gets it and never the purged one after it, with no 410. So the purge stops
below the open seq until that transaction ends (`PurgeFence`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest

from httpconflict import ETag, Guard
from httpconflict.storage import ChangeFeed, _pg_changes
from httpconflict.storage.postgres import PostgresDocumentStore

pytestmark = pytest.mark.anyio
#: A change written as a transaction outside the service writes one (the seq taken in it).
WRITE = "INSERT INTO changes SELECT nextval('changes_seq'), 'c', %s, 1, 'e', 0 RETURNING seq"
LONG_AGO = 10**18  # a cut after every change: all of them are old enough


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def quick_fences(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every purge takes its fence afresh, and waits 0.2 s for the suspects to end."""
    monkeypatch.setattr(_pg_changes, "FENCE_FRESH", 0.0, raising=False)
    monkeypatch.setattr(_pg_changes, "FENCE_WAIT", 0.2, raising=False)


@pytest.fixture
async def store(postgres_schema: str) -> AsyncIterator[PostgresDocumentStore]:
    opened = PostgresDocumentStore(postgres_schema)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def a_feed_past_a_purged_change(store: PostgresDocumentStore) -> tuple[ChangeFeed, int]:
    """A feed that delivered one change ("a"), the purge then deleted; and that change's seq."""
    feed = store.change_feed()
    assert await drain(feed) == []  # it starts here
    await create(store, "a")
    (seq,) = await drain(feed)
    assert await store.purge_changes(before_us=LONG_AGO, limit=100) == 1
    return feed, seq


async def create(store: PostgresDocumentStore, id: str) -> None:
    body = b'{"n": 1}'
    etag = ETag.from_content(body).opaque
    assert (await store.put("c", id, body, etag, Guard(exists=False), 1)).written


async def drain(feed: ChangeFeed) -> list[int]:
    seqs: list[int] = []
    for _ in range(3):
        seqs += [change.seq for change in await feed.poll(100)]
    return seqs


async def test_the_purge_stops_below_a_seq_an_open_transaction_holds(
    store: PostgresDocumentStore, postgres_schema: str
) -> None:
    """Held seq 2, committed 3: nothing past 1 goes until 2 ends; the feed gets 2 and 3."""
    feed, first = await a_feed_past_a_purged_change(store)
    with psycopg.connect(postgres_schema) as open_transaction:
        held = open_transaction.execute(WRITE, ("held",)).fetchone()
        assert held is not None
        await create(store, "b")  # committed, above the held seq
        assert await drain(feed) == []  # the feed waits for the held seq...
        assert await store.purge_changes(before_us=LONG_AGO, limit=100) == 0  # ...the purge too
        assert (await store.change_bounds()).horizon == first
        open_transaction.commit()
    after = await drain(feed)
    assert len(after) == 2
    assert after[0] == held[0]
    assert await store.purge_changes(before_us=LONG_AGO, limit=100) == 2  # ended: both go
    assert (await store.change_bounds()).horizon == after[1]


async def test_an_open_transaction_holds_the_purge_across_runs(
    store: PostgresDocumentStore, postgres_schema: str
) -> None:
    """Runs while it is open delete nothing; once it ended, its fence resolves, then a newer one."""
    feed, _ = await a_feed_past_a_purged_change(store)
    with psycopg.connect(postgres_schema) as open_transaction:
        assert open_transaction.execute(WRITE, ("held",)).fetchone() is not None
        for id in ("b", "c", "d"):
            await create(store, id)
            assert await store.purge_changes(before_us=LONG_AGO, limit=100) == 0
        open_transaction.rollback()  # its seq is a gap for ever
    seqs = await drain(feed)
    assert len(seqs) == 3
    # The fence taken while it was open (at b) resolves first, then one at d.
    assert await store.purge_changes(before_us=LONG_AGO, limit=100) == 1
    assert await store.purge_changes(before_us=LONG_AGO, limit=100) == 2
    assert (await store.change_bounds()).horizon == seqs[-1]
