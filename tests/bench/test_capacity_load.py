"""bench/capacity_load.py writes the rows the store writes (real SQLite file, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.capacity_load import COLLECTION, body, document_id, load_postgres, load_sqlite

from httpconflict import ETag, Guard
from httpconflict.storage import DocumentStore, document_store

NOW_US = 1_700_000_000_000_000
STEP_US = 1000
DOCUMENTS, VERSIONS, HISTORY = 3, 4, 3
#: The rows compared: every column, but the feed's seqs (the order of the writes differs).
TABLES = {
    "documents": "*",
    "document_versions": "*",
    "changes": "collection, id, version, etag, modified_us",
}
ORDER = "collection, id, version"


async def _write_through_store(store: DocumentStore) -> None:
    """VERSIONS PUTs of each document, made at the times the loader gives them."""
    await store.open()
    try:
        for k in range(DOCUMENTS):
            previous: str | None = None
            for v in range(1, VERSIONS + 1):
                text = body(k, v)
                etag = ETag.from_content(text).opaque
                guard = (
                    Guard(exists=False)
                    if previous is None
                    else Guard(exists=True, etags=frozenset({previous}))
                )
                at = NOW_US - (VERSIONS - v) * STEP_US
                result = await store.put(COLLECTION, document_id(k), text, etag, guard, at)
                assert result.written
                previous = etag
    finally:
        await store.close()


def _sqlite_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    try:
        return {
            table: db.execute(f"SELECT {columns} FROM {table} ORDER BY {ORDER}").fetchall()
            for table, columns in TABLES.items()
        }
    finally:
        db.close()


def test_sqlite_load_is_what_the_store_writes(tmp_path: Path) -> None:
    written, loaded = tmp_path / "written.db", tmp_path / "loaded.db"
    asyncio.run(_write_through_store(document_store(str(written), history=HISTORY)))
    load_sqlite(loaded, DOCUMENTS, versions=VERSIONS, history=HISTORY, now_us=NOW_US)
    expected = _sqlite_rows(written)
    assert len(expected["document_versions"]) == DOCUMENTS * HISTORY
    assert len(expected["changes"]) == DOCUMENTS * VERSIONS
    assert _sqlite_rows(loaded) == expected


@pytest.fixture
def second_schema(postgres_server: str) -> Iterator[str]:
    from tests.conftest import _schema_url

    yield from _schema_url(postgres_server)


def test_postgres_load_is_what_the_store_writes(postgres_schema: str, second_schema: str) -> None:
    import psycopg

    def rows(url: str) -> dict[str, list[tuple[object, ...]]]:
        with psycopg.connect(url) as conn:
            return {
                table: conn.execute(f"SELECT {columns} FROM {table} ORDER BY {ORDER}").fetchall()
                for table, columns in TABLES.items()
            }

    written, loaded = postgres_schema, second_schema
    asyncio.run(_write_through_store(document_store(written, history=HISTORY)))
    load_postgres(loaded, DOCUMENTS, versions=VERSIONS, history=HISTORY, now_us=NOW_US)
    expected = rows(written)
    assert len(expected["document_versions"]) == DOCUMENTS * HISTORY
    assert len(expected["changes"]) == DOCUMENTS * VERSIONS
    assert rows(loaded) == expected
