"""The feed's ``purged`` column added to a changes table made before it, on open.

SQLite files of schema version 4 and PostgreSQL tables made by earlier
versions have no ``changes.purged``: opening the store adds it (false for
every change already there) and the purges from then on are marked.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from httpconflict import Guard
from httpconflict.storage import DocumentStore, document_store
from httpconflict.storage.sqlite import SCHEMA_VERSION

pytestmark = pytest.mark.anyio

ABSENT = Guard(exists=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _write_then_purge(store: DocumentStore, id: str) -> None:
    assert (await store.put("c", id, b"{}", f"t-{id}", ABSENT, 1)).written
    guard = Guard(exists=True, etags=frozenset({f"t-{id}"}))
    assert (await store.delete("c", id, guard, 2, purge=True)).written


async def _changes(url: str) -> list[tuple[str, int, bool]]:
    store = document_store(url)
    await store.open()
    try:
        await _write_then_purge(store, "new")
        latest = (await store.change_bounds()).latest
        page = await store.read_changes("c", after=0, upto=latest, limit=100)
        return [(c.id, c.version, c.purged) for c in page.changes]
    finally:
        await store.close()


async def test_a_version_4_sqlite_file_gets_the_column(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    store = document_store(str(path))
    await store.open()
    await _write_then_purge(store, "old")
    await store.close()
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("ALTER TABLE changes DROP COLUMN purged")
        db.execute("PRAGMA user_version = 4")
    assert await _changes(str(path)) == [
        ("old", 1, False),
        ("old", 2, False),  # a purge made before the column: not known as one
        ("new", 1, False),
        ("new", 2, True),
    ]
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5


async def test_an_earlier_postgres_table_gets_the_column(postgres_schema: str) -> None:
    import psycopg

    store = document_store(postgres_schema)
    await store.open()
    await _write_then_purge(store, "old")
    await store.close()
    with psycopg.connect(postgres_schema, autocommit=True) as conn:
        conn.execute("ALTER TABLE changes DROP COLUMN purged")
    assert await _changes(postgres_schema) == [
        ("old", 1, False),
        ("old", 2, False),
        ("new", 1, False),
        ("new", 2, True),
    ]
