"""The change feed's storage: every write appends its change in its transaction, read in order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from httpconflict import ETag, Guard
from httpconflict.storage import Change, ChangeFeed, DocumentStore, document_store

pytestmark = pytest.mark.anyio

ABSENT = Guard(exists=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def store(backend_url: str) -> AsyncIterator[DocumentStore]:
    opened = document_store(backend_url, history=3)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def tag(body: str) -> str:
    return ETag.from_content(body.encode()).opaque


async def put(store: DocumentStore, id: str, body: str, *, collection: str = "c") -> None:
    current = await store.validators(collection, id)
    etag = None if current is None else current.etag
    guard = ABSENT if etag is None else Guard(exists=True, etags=frozenset({etag.opaque}))
    result = await store.put(collection, id, body.encode(), tag(body), guard, 1_000_000)
    assert result.written


async def delete(store: DocumentStore, id: str, *, purge: bool = False) -> None:
    current = await store.validators("c", id)
    assert current is not None
    assert current.etag is not None
    guard = Guard(exists=True, etags=frozenset({current.etag.opaque}))
    assert (await store.delete("c", id, guard, 2_000_000, purge=purge)).written


async def drain(feed: ChangeFeed) -> list[Change]:
    got: list[Change] = []
    while batch := await feed.poll(1000):
        got.extend(batch)
    return got


async def test_every_write_appends_its_change(store: DocumentStore) -> None:
    """Create, replace, delete, a purging delete and an erase each append one change, in order."""
    feed = store.change_feed()
    assert await feed.poll(10) == []  # the first poll finds where the feed stands
    start = feed.watermark
    assert start is not None
    await put(store, "a", '{"n": 1}')
    await put(store, "a", '{"n": 2}')
    await put(store, "b", '{"n": 1}', collection="other")
    await delete(store, "a")
    assert await store.erase("c", "a")
    await put(store, "d", '{"n": 1}')
    await delete(store, "d", purge=True)
    got = await drain(feed)
    # The erase looks like the delete before it but for `purged` (it did not, before).
    assert [(c.collection, c.id, c.version, c.etag, c.purged) for c in got] == [
        ("c", "a", 1, tag('{"n": 1}'), False),
        ("c", "a", 2, tag('{"n": 2}'), False),
        ("other", "b", 1, tag('{"n": 1}'), False),
        ("c", "a", 3, None, False),
        ("c", "a", 3, None, True),  # the erase: the history of the deleted version went
        ("c", "d", 1, tag('{"n": 1}'), False),
        ("c", "d", 2, None, True),
    ]
    page = await store.read_changes("c", after=start, upto=got[-1].seq, limit=100)
    assert page.changes == [c for c in got if c.collection == "c"]
    seqs = [c.seq for c in got]
    assert seqs == sorted(set(seqs))
    assert seqs[0] > start
    assert feed.watermark == seqs[-1]
    assert got[0].modified_us == 1_000_000


async def test_refused_writes_append_nothing(store: DocumentStore) -> None:
    """A write whose guard fails (and a no-op write) leaves no change."""
    feed = store.change_feed()
    await feed.poll(10)
    await put(store, "a", '{"n": 1}')
    stale = Guard(exists=True, etags=frozenset({"nope"}))
    assert not (await store.put("c", "a", b"{}", tag("{}"), stale, 1)).written
    assert not (await store.put("c", "a", b'{"n": 1}', tag('{"n": 1}'), ABSENT, 1)).written
    assert not await store.erase("c", "a")  # not deleted: nothing to erase
    assert [c.version for c in await drain(feed)] == [1]


async def test_read_changes_by_collection_and_id(store: DocumentStore) -> None:
    """A page holds one collection's changes (one document's with `id`) in (after, upto]."""
    before = (await store.change_bounds()).latest
    for n in range(3):
        await put(store, "a", f'{{"n": {n}}}')
        await put(store, "b", f'{{"n": {n}}}')
        await put(store, "x", f'{{"n": {n}}}', collection="other")
    latest = (await store.change_bounds()).latest
    assert latest == before + 9
    page = await store.read_changes("c", after=before, upto=latest, limit=100)
    assert [(c.id, c.version) for c in page.changes] == [
        ("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3), ("b", 3),
    ]  # fmt: skip
    assert page.horizon == 0
    first = await store.read_changes("c", after=before, upto=latest, limit=2)
    assert first.changes == page.changes[:2]
    upto = page.changes[3].seq
    assert (await store.read_changes("c", after=before, upto=upto, limit=100)).changes == (
        page.changes[:4]
    )
    only_b = await store.read_changes("c", after=before, upto=latest, id="b", limit=100)
    assert [(c.id, c.version) for c in only_b.changes] == [("b", 1), ("b", 2), ("b", 3)]


async def test_purge_raises_the_horizon(store: DocumentStore) -> None:
    """The purge deletes the oldest changes made before the cut, a prefix, and records its end."""
    for n in range(4):
        await put(store, "a", f'{{"n": {n}}}')
    page = await store.read_changes("c", after=0, upto=10**9, limit=100)
    seqs = [c.seq for c in page.changes]
    # Made at 1 s: a cut at 1.5 s takes every one (SQLite keeps the newest row).
    assert await store.purge_changes(before_us=1_500_000, limit=2) == 2
    bounds = await store.change_bounds()
    assert bounds.horizon == seqs[1]
    assert bounds.latest == seqs[-1]
    after = await store.read_changes("c", after=0, upto=10**9, limit=100)
    assert after.horizon == seqs[1]
    assert [c.seq for c in after.changes] == seqs[2:]
    assert await store.purge_changes(before_us=500_000, limit=100) == 0  # none older
    assert (await store.change_bounds()).horizon == seqs[1]


async def test_a_feed_started_later_starts_at_the_newest(store: DocumentStore) -> None:
    """A new feed's watermark is the newest committed change: it delivers only what follows."""
    await put(store, "a", '{"n": 1}')
    feed = store.change_feed()
    assert feed.watermark is None
    await feed.poll(10)
    assert feed.watermark == (await store.change_bounds()).latest
    await put(store, "a", '{"n": 2}')
    assert [c.version for c in await drain(feed)] == [2]


@pytest.fixture
async def pg_store(postgres_schema: str) -> AsyncIterator[tuple[DocumentStore, str]]:
    backend = document_store(postgres_schema)
    await backend.open()
    try:
        yield backend, postgres_schema
    finally:
        await backend.close()


async def naive_poll(url: str, after: int) -> list[int]:
    """What a reader without the watermark does: the rows above the largest seq it saw."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        rows = await (
            await conn.execute("SELECT seq FROM changes WHERE seq > %s", (after,))
        ).fetchall()
    return sorted(seq for (seq,) in rows)


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
async def test_a_late_commit_is_waited_for(
    pg_store: tuple[DocumentStore, str], outcome: str
) -> None:
    """A seq taken early and committed late is delivered in order; a naive reader skips it.

    A transaction writes a document and takes its seq (as a write statement
    does), then waits; another write takes the next seq and commits. The
    naive reader moves its cursor past both and never sees the late one;
    the feed stops before it until it commits (then delivers both in seq
    order) or rolls back (then skips it).
    """
    import psycopg

    store, url = pg_store
    await put(store, "late", '{"n": 1}')
    feed = store.change_feed()
    await drain(feed)
    cursor = feed.watermark
    assert cursor is not None
    async with await psycopg.AsyncConnection.connect(url) as holder:
        await holder.execute(
            "WITH written AS (UPDATE documents SET version = version + 1, etag = 'x', "
            "body = '{}' WHERE collection = 'c' AND id = 'late' "
            "RETURNING collection, id, version, etag, modified_us) "
            "INSERT INTO changes SELECT nextval('changes_seq'), * FROM written"
        )
        await put(store, "other", '{"n": 1}')  # the next seq, committed first
        seen = await naive_poll(url, cursor)
        assert seen == [cursor + 2]  # the naive cursor moves to cursor + 2 ...
        assert await drain(feed) == []  # ... the feed waits for cursor + 1
        assert await drain(feed) == []
        await (holder.commit() if outcome == "commit" else holder.rollback())
    assert await naive_poll(url, seen[-1]) == []  # the naive reader never sees it
    got = await drain(feed)
    if outcome == "commit":
        assert [(c.seq, c.id) for c in got] == [(cursor + 1, "late"), (cursor + 2, "other")]
    else:
        assert [(c.seq, c.id) for c in got] == [(cursor + 2, "other")]
    assert feed.watermark == cursor + 2


async def test_an_unrelated_long_transaction_does_not_hold_the_feed(
    pg_store: tuple[DocumentStore, str],
) -> None:
    """A transaction that holds an xid but never wrote a change is not waited for."""
    import psycopg

    store, url = pg_store
    async with await psycopg.AsyncConnection.connect(url) as other:
        await other.execute("CREATE TEMPORARY TABLE unrelated (x int)")
        await other.execute("INSERT INTO unrelated VALUES (1)")  # an xid, held open
        feed = store.change_feed()
        await feed.poll(10)
        assert feed.watermark is not None
        await put(store, "a", '{"n": 1}')
        assert [c.id for c in await drain(feed)] == ["a"]
        await other.rollback()
