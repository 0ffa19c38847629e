"""Fill a store with N documents fast: the rows the service itself would have written.

Loading a million documents through HTTP would take longer than the
benchmark. These write the same rows in bulk, through the store's own
schema: the store opens the file or database first (creating its tables,
triggers and settings), then document k at version V is the row a
service that had received V PUTs of `body(k, v)` for v = 1..V would hold —
its ETag the hash of the body, its version V, its time and its
predecessor's time — with the versions the history keeps (the last
`history`) and a change (the feed's row) for every version. On SQLite the
store's own triggers append the current version's history row and change
as each document row goes in; on PostgreSQL the tables are filled with
COPY, the changes numbered from the feed's sequence.
tests/bench/test_capacity_load.py checks the rows against those the store
writes for the same PUTs.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from httpconflict import ETag

COLLECTION: Final = "capacity"
PREFIX: Final = "doc-"
#: Microseconds between two versions of a document.
STEP_US: Final = 1000
FILLER: Final = "x" * 64


def body(k: int, v: int) -> bytes:
    """Document k's body at version v: about 110 bytes of JSON."""
    data = {"title": "capacity document", "n": k, "write": v, "filler": FILLER}
    return json.dumps(data, separators=(",", ":")).encode()


def document_id(k: int) -> str:
    return f"{PREFIX}{k}"


Row = tuple[str, str, int, str, str, int]


def _version(k: int, v: int, now_us: int, versions: int) -> Row:
    """Document k's history row of version v (of `versions`): made STEP_US apart, up to now."""
    text = body(k, v)
    made = now_us - (versions - v) * STEP_US
    return (COLLECTION, document_id(k), v, ETag.from_content(text).opaque, text.decode(), made)


def _in_key_order(n: int) -> list[int]:
    """0 to n - 1 in the order of their ids: each B-tree then grows at its right edge."""
    return sorted(range(n), key=document_id)


def history_rows(n: int, versions: int, history: int, now_us: int) -> Iterator[Row]:
    """The history rows the service keeps besides the current version's: v > versions - history."""
    first = max(1, versions - history + 1)
    for k in _in_key_order(n):
        for v in range(first, versions):
            yield _version(k, v, now_us, versions)


def change_rows(n: int, versions: int, now_us: int, *, last: bool) -> Iterator[Row]:
    """The feed's rows (without their seq) of every version, the last one only if `last`."""
    for k in _in_key_order(n):
        for v in range(1, versions + 1 if last else versions):
            yield _version(k, v, now_us, versions)


def document_rows(n: int, versions: int, now_us: int) -> Iterator[tuple[object, ...]]:
    """Each document's row at its last version, with its predecessor's time."""
    for k in _in_key_order(n):
        row = _version(k, versions, now_us, versions)
        yield (*row, row[5] - STEP_US if versions > 1 else None)


def _change(row: Row) -> tuple[object, ...]:
    """A version's row as the feed records it: no body."""
    collection, id, version, etag, _, modified_us = row
    return (collection, id, version, etag, modified_us)


_DOCUMENT_COLUMNS: Final = "collection, id, version, etag, body, modified_us, previous_us"
_VERSION_COLUMNS: Final = "collection, id, version, etag, body, modified_us"
_CHANGE_COLUMNS: Final = "collection, id, version, etag, modified_us"


def load_sqlite(path: Path, n: int, *, versions: int = 1, history: int, now_us: int) -> None:
    """`n` documents of `versions` versions each into the SQLite file at `path`."""
    from httpconflict.storage.sqlite import SQLiteDocumentStore

    async def create() -> None:
        store = SQLiteDocumentStore(path, history=history)
        await store.open()
        await store.close()

    asyncio.run(create())
    db = sqlite3.connect(path, isolation_level=None)
    try:
        # A bulk load: the file is whole when it ends, crash-safe or not.
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -1048576")
        db.execute("BEGIN")
        db.executemany(
            f"INSERT INTO document_versions ({_VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608  # constant columns
            history_rows(n, versions, history, now_us),
        )
        db.executemany(
            f"INSERT INTO changes ({_CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?)",  # noqa: S608  # constant columns
            (_change(row) for row in change_rows(n, versions, now_us, last=False)),
        )
        # The store's triggers record the current version in the history and the feed.
        db.executemany(
            f"INSERT INTO documents ({_DOCUMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608  # constant columns
            document_rows(n, versions, now_us),
        )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def load_postgres(url: str, n: int, *, versions: int = 1, history: int, now_us: int) -> None:
    """`n` documents of `versions` versions each into the (empty) tables `url` reaches."""
    import psycopg

    from httpconflict.storage.postgres import PostgresDocumentStore

    async def create() -> None:
        store = PostgresDocumentStore(url, history=history, min_size=1, max_size=1)
        await store.open()
        await store.close()

    asyncio.run(create())
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor() as cursor:
            with cursor.copy(f"COPY documents ({_DOCUMENT_COLUMNS}) FROM STDIN") as copy:
                for row in document_rows(n, versions, now_us):
                    copy.write_row(row)
            with cursor.copy(f"COPY document_versions ({_VERSION_COLUMNS}) FROM STDIN") as copy:
                for row in history_rows(n, versions, history, now_us):
                    copy.write_row(row)
                for doc in document_rows(n, versions, now_us):
                    copy.write_row(doc[:6])
            seq = 0
            with cursor.copy(f"COPY changes (seq, {_CHANGE_COLUMNS}) FROM STDIN") as copy:
                for row in change_rows(n, versions, now_us, last=True):
                    seq += 1
                    copy.write_row((seq, *_change(row)))
            if seq:
                cursor.execute("SELECT setval('changes_seq', %s)", (seq,))
        # A store that has been running a while has been vacuumed and analysed.
        conn.execute("VACUUM ANALYZE documents")
        conn.execute("VACUUM ANALYZE document_versions")
        conn.execute("VACUUM ANALYZE changes")
