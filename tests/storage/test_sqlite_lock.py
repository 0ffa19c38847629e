"""SQLite stores while another connection holds the file's write lock.

The lock is a real one: a second connection to the same file in
``BEGIN IMMEDIATE``. A store call never waits for it on the event loop
(a ticker task measures how late the loop runs), reads answer at once,
and a write waits off the loop until the lock is released or its busy
timeout has passed (then `Unavailable`, the 503).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from httpconflict import ETag, Guard, Unavailable
from httpconflict._idempotency import StoredResponse
from httpconflict.storage.idempotency import Completion
from httpconflict.storage.idempotency.sqlite import SQLiteIdempotencyStore
from httpconflict.storage.sqlite import SQLiteDocumentStore

pytestmark = pytest.mark.anyio

#: Generous for a loaded 2-core machine; a loop blocked by a lock wait would
#: be late by the whole wait (hundreds of ms to seconds).
LATE = 0.25


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextmanager
def write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold the file's write lock on a connection of its own until the block ends."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield other
        other.execute("ROLLBACK")
    finally:
        other.close()


class Ticker:
    """A task that sleeps 10 ms at a time and records how late each wake-up was."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.monotonic()
            await asyncio.sleep(0.01)
            self.late.append(time.monotonic() - start - 0.01)

    def __enter__(self) -> Ticker:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def store_at(path: Path, busy_timeout_ms: int) -> SQLiteDocumentStore:
    store = SQLiteDocumentStore(path, busy_timeout_ms=busy_timeout_ms)
    await store.open()
    return store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteDocumentStore]:
    store = await store_at(tmp_path / "lock.db", 10_000)
    try:
        yield store
    finally:
        await store.close()


def tag(body: bytes) -> str:
    return ETag.from_content(body).opaque


async def test_a_write_waits_off_the_loop_and_lands_when_the_lock_is_released(
    store: SQLiteDocumentStore, tmp_path: Path
) -> None:
    """While a write waits for the lock, the loop runs on time and reads answer at once."""
    await store.put("c", "a", b'{"n":0}', tag(b'{"n":0}'), Guard(exists=False), 1)
    with Ticker() as ticker, write_lock(tmp_path / "lock.db"):
        guard = Guard(exists=True, etags=frozenset({tag(b'{"n":0}')}))
        write = asyncio.create_task(store.put("c", "a", b'{"n":1}', tag(b'{"n":1}'), guard, 2))
        reads = []
        for _ in range(20):
            start = time.monotonic()
            doc = await store.get("c", "a")
            reads.append(time.monotonic() - start)
            assert doc is not None
            assert doc.body == b'{"n":0}'
            await asyncio.sleep(0.02)
        assert not write.done()
    result = await asyncio.wait_for(write, 5)
    assert result.written
    doc = await store.get("c", "a")
    assert doc is not None
    assert doc.body == b'{"n":1}'
    assert max(reads) < LATE, reads
    assert ticker.late
    assert max(ticker.late) < LATE, max(ticker.late)


async def test_a_write_past_the_busy_timeout_is_unavailable_and_changes_nothing(
    tmp_path: Path,
) -> None:
    """A lock held past the busy timeout: Unavailable (503, Retry-After), nothing written."""
    store = await store_at(tmp_path / "lock.db", 300)
    try:
        await store.put("c", "a", b"{}", tag(b"{}"), Guard(exists=False), 1)
        with Ticker() as ticker, write_lock(tmp_path / "lock.db"):
            start = time.monotonic()
            with pytest.raises(Unavailable) as refused:
                await store.put("c", "a", b"[]", tag(b"[]"), Guard(exists=True), 2)
            waited = time.monotonic() - start
            with pytest.raises(Unavailable):
                await store.delete("c", "a", Guard(exists=True), 3)
        assert refused.value.retry_after >= 1
        detail = refused.value.problem.detail or ""
        assert "locked" in detail
        assert "database is locked" not in detail  # the driver's own text
        assert 0.25 < waited < 3, waited
        assert max(ticker.late) < LATE, max(ticker.late)
        doc = await store.get("c", "a")
        assert doc is not None
        assert (doc.body, doc.version) == (b"{}", 1)
    finally:
        await store.close()


async def test_writes_queued_behind_a_waiting_one_answer_within_their_own_budget(
    tmp_path: Path,
) -> None:
    """Ten writes during a long lock each get their 503 about one busy timeout after they began."""
    store = await store_at(tmp_path / "lock.db", 300)
    try:

        async def timed_write(i: int) -> tuple[float, BaseException | None]:
            start = time.monotonic()
            body = b'{"i":%d}' % i
            try:
                await store.put("c", f"d{i}", body, tag(body), Guard(exists=False), 1)
            except Unavailable as error:
                return time.monotonic() - start, error
            return time.monotonic() - start, None

        with write_lock(tmp_path / "lock.db"):
            outcomes = await asyncio.gather(*(timed_write(i) for i in range(10)))
        assert all(isinstance(error, Unavailable) for _, error in outcomes), outcomes
        # One after another they would take 10 x 0.3 s.
        assert max(took for took, _ in outcomes) < 1.5, outcomes
        assert [m.id for m in await store.page_members("c", after=None, limit=100)] == []
    finally:
        await store.close()


async def test_a_keyed_write_and_a_key_claim_wait_for_the_lock_then_commit(
    store: SQLiteDocumentStore, tmp_path: Path
) -> None:
    """A write recording its key in its transaction, and a claim, both land once the lock goes."""
    keys = store.idempotency_store()
    await keys.open()
    answer = StoredResponse(201, (("content-type", "application/json"),), b"{}", False)
    try:

        def completion(_: object) -> Completion:
            return Completion("p", "k1", "f", answer, now=1.0, expires_at=100.0)

        with write_lock(tmp_path / "lock.db"):
            write = asyncio.create_task(
                store.put(
                    "c", "a", b"{}", tag(b"{}"), Guard(exists=False), 1, completion=completion
                )
            )
            claim = asyncio.create_task(keys.claim("p", "k2", "f", "t", now=1.0, lease=30))
            await asyncio.sleep(0.3)
            assert not write.done()
            assert not claim.done()
        assert (await asyncio.wait_for(write, 5)).written
        assert await asyncio.wait_for(claim, 5) is None  # claimed: nobody held it
        recorded = await keys.get("p", "k1", now=2.0)
        assert recorded is not None
        assert recorded.response == answer
    finally:
        await keys.close()


async def test_a_key_store_in_a_file_of_its_own_answers_unavailable_past_its_timeout(
    tmp_path: Path,
) -> None:
    """An idempotency store with its own file: a claim past the busy timeout is Unavailable."""
    keys = SQLiteIdempotencyStore(tmp_path / "keys.db", busy_timeout_ms=300)
    await keys.open()
    try:
        with Ticker() as ticker, write_lock(tmp_path / "keys.db"):
            with pytest.raises(Unavailable):
                await keys.claim("p", "k", "f", "t", now=1.0, lease=30)
            assert await keys.get("p", "k", now=1.0) is None  # a read needs no lock
        assert max(ticker.late) < LATE, max(ticker.late)
        assert await keys.claim("p", "k", "f", "t", now=1.0, lease=30) is None
    finally:
        await keys.close()
