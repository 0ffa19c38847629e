"""PostgreSQL: a document's writes are HOT updates, and a table made before that is upgraded.

A HOT (heap-only) update writes the new row version on the same page and
no new index entry; PostgreSQL makes one only when no indexed column
changes and the page has room. The tombstone purge used to find old
tombstones by an index on ``modified_us WHERE etag IS NULL``, two columns
every write changes, so no write was HOT: each left a dead index entry
and a dead row version for vacuum. The counts are read
from ``pg_stat_user_tables`` once the store's connections have ended (a
backend reports its counts when it exits).
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from httpconflict.storage.postgres import PostgresDocumentStore
from tests.storage.test_document_store import ABSENT, EXISTS, anyio_backend, match, put

__all__ = ["anyio_backend"]

pytestmark = pytest.mark.anyio

#: Few enough that every version fits the row's page even when pruning is held back
#: (another test's open snapshot keeps dead versions): HOT then depends on the indexes alone.
WRITES = 50
# The documents table as it was made before deleted_us, with its old index.
OLD_TABLE = """
CREATE TABLE documents (
    collection text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    version bigint NOT NULL,
    etag text,
    body text,
    modified_us bigint NOT NULL,
    previous_us bigint,
    PRIMARY KEY (collection, id)
);
CREATE INDEX documents_tombstones ON documents (modified_us) WHERE etag IS NULL;
INSERT INTO documents VALUES
    ('c', 'live', 1, 'e1', '{"v": 1}', 5, NULL),
    ('c', 'old', 2, NULL, NULL, 10, 5),
    ('c', 'new', 2, NULL, NULL, 20, 5);
"""


async def _updates(url: str) -> tuple[int, int]:
    """(updates, HOT updates) of the documents table, once every backend reported them."""
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(100):
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                "WHERE relid = 'documents'::regclass"
            ).fetchone()
            assert row is not None
            if row[0] >= WRITES:
                return int(row[0]), int(row[1])
            await asyncio.sleep(0.05)
    raise AssertionError(f"the statistics never showed {WRITES} updates: {row}")


async def _write_often(url: str) -> None:
    store = PostgresDocumentStore(url, history=3)
    await store.open()
    try:
        body = '{"n": 0}'
        if await store.validators("c", "a") is None:
            assert await put(store, body, ABSENT)
        for n in range(1, WRITES + 1):
            new = f'{{"n": {n}}}'
            assert await put(store, new, match(body), at=1_000_000 + n)
            body = new
    finally:
        await store.close()


async def test_writes_to_a_document_are_hot_updates(postgres_schema: str) -> None:
    """Fifty writes to one document: every one HOT."""
    await _write_often(postgres_schema)
    updates, hot = await _updates(postgres_schema)
    assert hot == updates, (hot, updates)


async def test_a_table_made_before_is_upgraded(postgres_schema: str) -> None:
    """The old table gets deleted_us from its rows and loses the index that blocked HOT."""
    with psycopg.connect(postgres_schema, autocommit=True) as conn:
        conn.execute(OLD_TABLE)
    store = PostgresDocumentStore(postgres_schema, history=3)
    await store.open()
    try:
        with psycopg.connect(postgres_schema) as conn:
            rows = conn.execute("SELECT id, deleted_us FROM documents ORDER BY id").fetchall()
            indexes = conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'documents' "
                "AND schemaname = current_schema() ORDER BY 1"
            ).fetchall()
            options = conn.execute(
                "SELECT reloptions FROM pg_class WHERE oid = 'documents'::regclass"
            ).fetchone()
        assert rows == [("live", None), ("new", 20), ("old", 10)]
        assert indexes == [("documents_deleted",), ("documents_pkey",)]
        assert options == (["fillfactor=90"],)
        # The purge finds tombstones by it; a re-created one is a document again.
        assert await store.purge_tombstones(deleted_before_us=15, limit=10) == 1
        assert await put(store, '{"v": 3}', ABSENT, at=30, id="new")
        assert await store.purge_tombstones(deleted_before_us=100, limit=10) == 0
        assert (await store.get("c", "new")) is not None
        assert (await store.delete("c", "new", EXISTS, 40)).written
        assert await store.purge_tombstones(deleted_before_us=41, limit=10) == 1
    finally:
        await store.close()
    await _write_often(postgres_schema)
    updates, hot = await _updates(postgres_schema)
    assert hot >= 0.9 * updates, (hot, updates)


async def test_the_purge_finds_old_tombstones_by_the_index(postgres_schema: str) -> None:
    """The purge's look-up of old tombstones is an index scan, not a scan of every document."""
    store = PostgresDocumentStore(postgres_schema, history=3)
    await store.open()
    await store.close()
    with psycopg.connect(postgres_schema, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO documents (collection, id, version, etag, body, modified_us) "
            "SELECT 'c', 'd' || g, 1, 'e', '{}', g FROM generate_series(1, 20000) g"
        )
        conn.execute("ANALYZE documents")
        plan = conn.execute(
            "EXPLAIN SELECT collection, id FROM documents WHERE deleted_us < 100 LIMIT 10"
        ).fetchall()
    assert "documents_deleted" in "\n".join(line for (line,) in plan), plan
