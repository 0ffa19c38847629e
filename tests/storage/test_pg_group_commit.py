"""PostgreSQL group commit: If-Match PUTs in hand go in one statement, each its own CAS.

Which PUTs shared a statement is read from the database itself: the rows
one transaction inserted share their ``xmin``, so the change feed's rows
tell how many transactions wrote them.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator

import psycopg
import pytest

from httpconflict._errors import InvalidDocument, WriteOutcomeUnknown
from httpconflict._integrity_policy import ConstraintViolated
from httpconflict._write import Guard
from httpconflict.storage.postgres import PostgresDocumentStore
from tests.storage.test_document_store import ABSENT, anyio_backend, tag

__all__ = ["anyio_backend"]

pytestmark = pytest.mark.anyio

IDS = [f"d{n}" for n in range(8)]


@pytest.fixture
async def store(postgres_schema: str) -> AsyncIterator[PostgresDocumentStore]:
    opened = PostgresDocumentStore(postgres_schema, history=5, group_commit=True)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def _body(n: int) -> bytes:
    return json.dumps({"n": n}).encode()


def _if_match(body: bytes) -> Guard:
    return Guard(exists=True, etags=frozenset({tag(body.decode())}))


async def _put(store: PostgresDocumentStore, id: str, old: bytes, new: bytes) -> bool:
    result = await store.put("c", id, new, tag(new.decode()), _if_match(old), 1_000_000)
    return result.written


async def _create(store: PostgresDocumentStore, *ids: str) -> None:
    for id in ids:
        created = await store.put("c", id, _body(0), tag(_body(0).decode()), ABSENT, 1_000_000)
        assert created.written


def _transactions(url: str, *, settled: int | None = None) -> list[int]:
    """How many changes each transaction that wrote documents appended, in seq order.

    `settled`: read again (for up to 10 s) until that many transactions are seen.
    """
    deadline = time.monotonic() + 10
    while True:
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT xmin::text, count(*) FROM changes WHERE version > 1 "
                "GROUP BY xmin ORDER BY min(seq)"
            ).fetchall()
        if settled is None or len(rows) >= settled or time.monotonic() > deadline:
            return [int(count) for _, count in rows]
        time.sleep(0.05)


async def test_puts_in_hand_share_one_statement(
    store: PostgresDocumentStore, postgres_schema: str
) -> None:
    """Eight If-Match PUTs made together: one transaction, eight versions, eight changes."""
    await _create(store, *IDS)
    written = await asyncio.gather(*(_put(store, id, _body(0), _body(1)) for id in IDS))
    assert written == [True] * len(IDS)
    assert _transactions(postgres_schema) == [len(IDS)]
    for id in IDS:
        doc = await store.get("c", id)
        assert doc is not None
        assert (doc.body, doc.version, doc.etag) == (_body(1), 2, tag(_body(1).decode()))
        versions = await store.versions_numbered("c", id, [1, 2], max_bytes=1 << 20)
        assert [v.version for v in versions] == [2, 1]


async def test_without_group_commit_each_put_is_its_own_transaction(postgres_schema: str) -> None:
    alone = PostgresDocumentStore(postgres_schema, group_commit=False)
    await alone.open()
    try:
        await _create(alone, *IDS)
        assert all(await asyncio.gather(*(_put(alone, id, _body(0), _body(1)) for id in IDS)))
    finally:
        await alone.close()
    assert _transactions(postgres_schema) == [1] * len(IDS)


async def test_two_puts_to_one_document_in_hand_have_one_winner(
    store: PostgresDocumentStore,
) -> None:
    """Both name the current tag; they never share a statement, and one is refused."""
    await _create(store, "a", "b")
    first, other, second = await asyncio.gather(
        _put(store, "a", _body(0), _body(1)),
        _put(store, "b", _body(0), _body(1)),
        _put(store, "a", _body(0), _body(2)),
    )
    assert other
    assert first != second
    doc = await store.get("c", "a")
    assert doc is not None
    assert (doc.body, doc.version) == (_body(1) if first else _body(2), 2)


async def test_a_unique_key_violated_in_a_group_fails_only_its_put(
    store: PostgresDocumentStore,
) -> None:
    """The group is undone, then each PUT goes alone: one of the two takes the value."""
    await store.declare_unique("c", [("email",)])
    await _create(store, "a", "b", "c")
    taken = json.dumps({"email": "x@example.org"}).encode()
    other = json.dumps({"email": "y@example.org"}).encode()
    results = await asyncio.gather(
        _put(store, "a", _body(0), taken),
        _put(store, "b", _body(0), taken),
        _put(store, "c", _body(0), other),
        return_exceptions=True,
    )
    assert sum(r is True for r in results[:2]) == 1
    assert sum(isinstance(r, ConstraintViolated) for r in results[:2]) == 1
    assert results[2] is True
    loser = "b" if results[0] is True else "a"
    doc = await store.get("c", loser)
    assert doc is not None
    assert doc.body == _body(0)


async def test_a_value_too_large_to_index_fails_only_its_put(store: PostgresDocumentStore) -> None:
    await store.declare_unique("c", [("name",)])
    await _create(store, "a", "b")
    huge = json.dumps({"name": os.urandom(6000).hex()}).encode()  # 12 KB that won't compress
    results = await asyncio.gather(
        _put(store, "a", _body(0), huge),
        _put(store, "b", _body(0), _body(1)),
        return_exceptions=True,
    )
    assert isinstance(results[0], InvalidDocument)
    assert results[1] is True


async def test_a_document_held_by_another_transaction_goes_alone(postgres_schema: str) -> None:
    """A group skips a row another transaction holds: the others are written at once.

    The held one waits alone, as it always did: here past the statement
    deadline, so its answer is 504 (the database commits it once the lock
    goes: "unknown" was the only true answer). The others do not share
    its fate.
    """
    store = PostgresDocumentStore(postgres_schema, statement_timeout=0.5, group_commit=True)
    await store.open()
    try:
        await _create(store, "a", "b", "c")
        with psycopg.connect(postgres_schema) as locker:
            locker.execute("SELECT 1 FROM documents WHERE id = 'b' FOR UPDATE")
            results = await asyncio.gather(
                *(_put(store, id, _body(0), _body(1)) for id in ("a", "b", "c")),
                return_exceptions=True,
            )
        assert results[0] is True
        assert isinstance(results[1], WriteOutcomeUnknown)
        assert results[2] is True
    finally:
        await store.close()
    # b's backend commits once the locker's transaction ends, on its own time (the
    # store gave up on it): seen in CI still waiting when the changes were first read.
    assert _transactions(postgres_schema, settled=2) == [2, 1]  # a and c; b alone, later


async def test_a_put_whose_caller_left_before_its_group_went_is_not_written(
    store: PostgresDocumentStore,
) -> None:
    await _create(store, "a", "b")
    first = asyncio.create_task(_put(store, "a", _body(0), _body(1)))
    second = asyncio.create_task(_put(store, "b", _body(0), _body(1)))
    await asyncio.sleep(0)  # both queued; the group is taken after this task's turn
    second.cancel()
    assert await first
    with pytest.raises(asyncio.CancelledError):
        await second
    b = await store.get("c", "b")
    assert b is not None
    assert b.body == _body(0)


WRITERS = 12
ROUNDS = 15


async def _counter_writer(store: PostgresDocumentStore, id: str) -> int:
    """Read n, write n + 1 with If-Match; again on a refusal. Its successful writes."""
    done = 0
    for _ in range(ROUNDS):
        while True:
            doc = await store.get("c", id)
            assert doc is not None
            n = json.loads(doc.body)["n"]
            if await _put(store, id, doc.body, _body(n + 1)):
                done += 1
                break
    return done


async def test_no_increment_is_lost_across_two_workers_grouping(postgres_schema: str) -> None:
    """Two stores (two workers) x 12 writers on 3 counters: final == successful writes.

    Pure counters: a body is only ``{"n": N}``, so two writers' PUTs to one
    document can carry the same body and the same If-Match.
    """
    workers = [PostgresDocumentStore(postgres_schema, group_commit=True) for _ in range(2)]
    for worker in workers:
        await worker.open()
    try:
        await _create(workers[0], "x", "y", "z")
        successes = await asyncio.gather(
            *(
                _counter_writer(worker, id)
                for worker in workers
                for id in ("x", "y", "z")
                for _ in range(WRITERS // 3)
            )
        )
        finals = []
        for id in ("x", "y", "z"):
            doc = await workers[0].get("c", id)
            assert doc is not None
            finals.append(json.loads(doc.body)["n"])
            assert doc.version == finals[-1] + 1
    finally:
        for worker in workers:
            await worker.close()
    assert sum(finals) == sum(successes) == 2 * WRITERS * ROUNDS
    grouped = _transactions(postgres_schema)
    assert sum(grouped) == sum(successes)  # one change per write
    assert max(grouped) > 1  # some PUTs did share a statement
