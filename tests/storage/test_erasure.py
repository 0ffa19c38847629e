"""Erasure in every document store: purging deletes, erasing history, removing old tombstones."""

from __future__ import annotations

import asyncio

import pytest

from httpconflict._idempotency import StoredResponse
from httpconflict.storage import DocumentStore
from httpconflict.storage.idempotency import Completion
from tests.storage.members import numbers
from tests.storage.test_document_store import (  # the same real stores
    ABSENT,
    EXISTS,
    anyio_backend,
    match,
    put,
    store,
    tag,
)

__all__ = ["anyio_backend", "store"]

pytestmark = pytest.mark.anyio


async def _gone(store: DocumentStore, id: str = "a") -> None:
    assert await store.get("c", id) is None
    assert await store.validators("c", id) is None
    assert await store.version_members("c", id, before=None, limit=10) is None
    assert await store.version_body("c", id, tag('{"v": 1}')) is None
    assert id not in [m.id for m in await store.page_members("c", after=None, limit=10)]


async def test_a_purging_delete_leaves_no_history(store: DocumentStore) -> None:
    """A purging delete reads back as a document never created, history included."""
    await put(store, '{"v": 1}', ABSENT)
    assert await put(store, '{"v": 2}', match('{"v": 1}'), at=2)
    assert (await store.delete("c", "a", match('{"v": 2}'), 3, purge=True)).written
    await _gone(store)
    assert await store.version_body("c", "a", tag('{"v": 2}')) is None


async def test_a_refused_purging_delete_erases_nothing(store: DocumentStore) -> None:
    """A purging delete whose precondition fails leaves the document and its history."""
    await put(store, '{"v": 1}', ABSENT)
    assert not (await store.delete("c", "a", match('{"v": 0}'), 2, purge=True)).written
    assert numbers(await store.version_members("c", "a", before=None, limit=10)) == [1]


async def test_a_recreated_document_goes_on_numbering(store: DocumentStore) -> None:
    """After a purging delete, versions go on from the tombstone's: none repeats."""
    await put(store, '{"v": 1}', ABSENT)
    assert (await store.delete("c", "a", EXISTS, 2, purge=True)).written
    assert await put(store, '{"v": 1}', ABSENT, at=3)
    assert numbers(await store.version_members("c", "a", before=None, limit=10)) == [3]


async def test_a_keyed_purging_delete_records_its_answer(store: DocumentStore) -> None:
    """The answer of a keyed purging delete commits with it."""
    keys = store.idempotency_store()
    await keys.open()
    try:
        await put(store, '{"v": 1}', ABSENT)
        answer = StoredResponse(204, (), b"")

        def completion(_: object) -> Completion:
            return Completion("p", "k", "f", answer, now=1.0, expires_at=100.0)

        result = await store.delete("c", "a", EXISTS, 2, completion=completion, purge=True)
        assert result.written
        record = await keys.get("p", "k", now=2.0)
        assert record is not None
        assert record.response is not None
        assert record.response.status == 204
        await _gone(store)
    finally:
        await keys.close()


async def test_erase_deletes_a_deleted_documents_history(store: DocumentStore) -> None:
    """`erase` empties a tombstone's history once; a live or unknown document is left alone."""
    await put(store, '{"v": 1}', ABSENT)
    await put(store, '{"v": 1}', ABSENT, id="live")
    assert not await store.erase("c", "live")
    assert not await store.erase("c", "nope")
    assert (await store.delete("c", "a", EXISTS, 2)).written
    assert numbers(await store.version_members("c", "a", before=None, limit=10)) == [2, 1]
    assert await store.erase("c", "a")
    assert not await store.erase("c", "a")
    await _gone(store)
    assert numbers(await store.version_members("c", "live", before=None, limit=10)) == [1]


async def test_old_tombstones_are_purged_in_batches(store: DocumentStore) -> None:
    """Tombstones older than the cut are removed with their history, `limit` at a time."""
    for n in range(5):
        await put(store, '{"v": 1}', ABSENT, id=f"d{n}")
        assert (await store.delete("c", f"d{n}", EXISTS, 10 + n)).written
    await put(store, '{"v": 1}', ABSENT, id="live")
    assert await store.purge_tombstones(deleted_before_us=13, limit=2) == 2
    assert await store.purge_tombstones(deleted_before_us=13, limit=2) == 1
    assert await store.purge_tombstones(deleted_before_us=13, limit=2) == 0
    for n in range(3):
        await _gone(store, f"d{n}")
    assert numbers(await store.version_members("c", "d3", before=None, limit=10)) == [2, 1]
    assert numbers(await store.version_members("c", "live", before=None, limit=10)) == [1]
    # A document created again after its tombstone went starts anew.
    assert await put(store, '{"v": 1}', ABSENT, at=20, id="d0")
    assert numbers(await store.version_members("c", "d0", before=None, limit=10)) == [1]


async def test_purging_at_once_removes_each_tombstone_once(store: DocumentStore) -> None:
    """Several purges running together remove every old tombstone, none twice."""
    for n in range(20):
        await put(store, '{"v": 1}', ABSENT, id=f"d{n:02}")
        assert (await store.delete("c", f"d{n:02}", EXISTS, 10)).written

    async def purge_all() -> int:
        total = 0
        while removed := await store.purge_tombstones(deleted_before_us=11, limit=3):
            total += removed
        return total

    counts = await asyncio.gather(*(purge_all() for _ in range(3)))
    assert sum(counts) == 20
    assert [m.id for m in await store.page_members("c", after=None, limit=50)] == []
