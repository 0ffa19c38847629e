"""SQLite document store (the default): one file, WAL, safe across processes.

Each write is ONE statement in its own (autocommit) transaction: the
guarded ``UPDATE ... WHERE etag IN (...) RETURNING`` or ``INSERT ... ON
CONFLICT ... RETURNING`` decides by whether it returns a row, and triggers
on the documents table append the history row and prune old versions
inside that same statement. A write statement takes SQLite's write lock
before it reads, so the guard is checked and the row written with no other
writer in between, across processes too.

History lives in a WITHOUT ROWID table clustered by (collection, id,
version): a write's new version and the pruned old one sit on the same
page, which keeps each commit to about two pages.

Each call runs on the event loop while no lock is in its way, and on a
waiting thread when one is (`_sqlite.Connections`): each takes
microseconds, and a thread hop per call would cost more than the call (the
stdlib driver called directly measured 1.6x faster than aiosqlite), but a
lock held by another process must not stall every other request.

A collection's unique keys are expression indexes over the body text,
partial on the collection (see `_index_ddl`); `unique_keys` records which
index backs which key.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from .._access import AccessRules, rules_from_text
from .._integrity_policy import ConstraintViolated
from .._preconditions import Validators
from .._write import Guard, WriteResult
from . import _sqlite_changes as changes
from ._changes import ChangeBounds, ChangeFeed, ChangesRead
from ._documents import (
    DEFAULT_HISTORY,
    CollectionSettings,
    CompletionFor,
    Document,
    Listed,
    ListedVersion,
    Version,
    WriteListeners,
    check_delete_guard,
    check_put_guard,
    validators,
    written,
)
from ._sqlite import DEFAULT_BUSY_TIMEOUT_MS, Connections, transaction
from ._unique import (
    UniqueKey,
    index_name,
    parse_unique_keys,
    unique_violation,
    unsupported_stored_value,
)
from .idempotency.sqlite import SQLiteIdempotencyStore, record
from .tokens.sqlite import SQLiteTokenStore

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "SQLiteDocumentStore",
]

SCHEMA_VERSION: Final = 5
# Version 1 had no unique_keys table. Every statement of SCHEMA is CREATE
# ... IF NOT EXISTS, so running them upgrades a version-1 file in place.
# Versions 1 and 2 had no documents.previous_us: `_UPGRADE_TO_3` adds it.
# Versions before 4 had no changes table (the feed starts with the upgrade).
# Version 4 had no changes.purged: `changes.UPGRADE_TO_5` adds it.
_READABLE: Final = (0, 1, 2, 3, 4, SCHEMA_VERSION)
_COLUMNS: Final = "collection, id, version, etag, body, modified_us"
# Bodies are stored as TEXT (so SQL JSON functions can read them) and moved
# as bytes: CAST to and from BLOB reinterprets the UTF-8, with no decoding.
_READ: Final = "collection, id, version, etag, CAST(body AS BLOB), modified_us, previous_us"
_RECORD: Final = f"""
    INSERT INTO document_versions ({_COLUMNS})
    VALUES (NEW.collection, NEW.id, NEW.version, NEW.etag, NEW.body, NEW.modified_us);
"""
SCHEMA: Final = [
    """CREATE TABLE IF NOT EXISTS documents (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        etag TEXT,                   -- NULL: deleted (a tombstone)
        body TEXT,
        modified_us INTEGER NOT NULL,
        previous_us INTEGER,         -- when the version this one replaced was made
        PRIMARY KEY (collection, id)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS document_versions (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        etag TEXT,
        body TEXT,
        modified_us INTEGER NOT NULL,
        PRIMARY KEY (collection, id, version)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS unique_keys (
        collection TEXT NOT NULL,
        position INTEGER NOT NULL,   -- the order of the declaration
        fields TEXT NOT NULL,        -- JSON array of field names
        index_name TEXT NOT NULL UNIQUE,
        PRIMARY KEY (collection, position)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS access_rules (
        collection TEXT PRIMARY KEY,
        rules TEXT NOT NULL          -- JSON: {"read": [...], "write": [...], "admin": [...]}
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS purging_collections (
        collection TEXT PRIMARY KEY  -- every delete here purges the history
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS settings (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID""",
    # Tombstones only, found by age for the scheduled purge: a live
    # document's write touches no page of it.
    """CREATE INDEX IF NOT EXISTS tombstones ON documents (modified_us) WHERE etag IS NULL""",
    f"""CREATE TRIGGER IF NOT EXISTS record_created AFTER INSERT ON documents BEGIN
        {_RECORD}
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS record_changed AFTER UPDATE ON documents BEGIN
        {_RECORD}
        DELETE FROM document_versions
         WHERE collection = NEW.collection AND id = NEW.id
           AND version <= NEW.version - (SELECT value FROM settings WHERE name = 'history');
    END""",
    *changes.SCHEMA,
]


# A row written before version 3 takes its predecessor's time from the
# history; if that is no longer kept, its own time, which says "in doubt".
_UPGRADE_TO_3: Final = [
    "ALTER TABLE documents ADD COLUMN previous_us INTEGER",
    """UPDATE documents SET previous_us = COALESCE(
        (SELECT v.modified_us FROM document_versions v WHERE v.collection = documents.collection
            AND v.id = documents.id AND v.version = documents.version - 1),
        CASE WHEN version > 1 THEN modified_us END)""",
]


class SQLiteDocumentStore(WriteListeners):
    """A `DocumentStore` on one SQLite file.

    `history` is a setting of the database file: the last process to open
    it decides how many versions its triggers keep.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        history: int = DEFAULT_HISTORY,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        if history < 1:
            raise ValueError("history must keep at least the current version")
        super().__init__()
        self.path = str(path)
        self.history = history
        self.busy_timeout_ms = busy_timeout_ms
        self._sql = Connections(self.path, busy_timeout_ms=busy_timeout_ms)
        #: Index name -> the unique key it enforces, as last read.
        self._indexes: dict[str, UniqueKey] = {}
        self._database_id = ""

    async def open(self) -> None:
        await self._sql.open()
        made = await self._sql.run(self._set_up)
        self._indexes = await self._sql.run(_read_indexes)
        self._database_id = f"sqlite:{made}:{_file_identity(self.path)}"

    async def database_id(self) -> str:
        if not self._database_id:
            await self.open()
        return self._database_id

    def _set_up(self, db: sqlite3.Connection) -> int:
        """Create or upgrade the schema, and record this store's history setting.

        Returns the file's random number, drawn when it was first set up (its `database_id`).
        """
        with transaction(db):
            found = db.execute("PRAGMA user_version").fetchone()[0]
            if found not in _READABLE:
                raise RuntimeError(
                    f"{self.path} has schema version {found}; this httpconflict "
                    f"reads version {SCHEMA_VERSION}"
                )
            for statement in SCHEMA:
                db.execute(statement)
            if (
                found in (1, 2)
                and not db.execute(
                    "SELECT 1 FROM pragma_table_info('documents') WHERE name = 'previous_us'"
                ).fetchone()
            ):
                for statement in _UPGRADE_TO_3:
                    db.execute(statement)
            if not db.execute(
                "SELECT 1 FROM pragma_table_info('changes') WHERE name = 'purged'"
            ).fetchone():
                db.execute(changes.UPGRADE_TO_5)
            db.execute(
                "INSERT INTO settings (name, value) VALUES ('history', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (self.history,),
            )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute(
                "INSERT INTO settings (name, value) VALUES ('database_id', random()) "
                "ON CONFLICT (name) DO NOTHING"
            )
            made: int = db.execute(
                "SELECT value FROM settings WHERE name = 'database_id'"
            ).fetchone()[0]
        return made

    async def close(self) -> None:
        await self._sql.close()

    async def ping(self) -> None:
        # Not only whether the file answers: whether it takes a write (its disk full).
        self._sql.probe_write(SCHEMA_VERSION)

    async def get(self, collection: str, id: str) -> Document | None:
        def get(db: sqlite3.Connection) -> Document | None:
            row = db.execute(
                f"SELECT {_READ} FROM documents "
                "WHERE collection = ? AND id = ? AND etag IS NOT NULL",
                (collection, id),
            ).fetchone()
            return None if row is None else Document(*row)

        return await self._sql.run(get)

    async def validators(self, collection: str, id: str) -> Validators | None:
        return await self._sql.run(lambda db: _validators(db, collection, id))

    async def put(
        self,
        collection: str,
        id: str,
        body: bytes,
        etag: str,
        guard: Guard,
        now_us: int,
        *,
        completion: CompletionFor | None = None,
    ) -> WriteResult:
        check_put_guard(guard)

        def put(db: sqlite3.Connection) -> WriteResult:
            if completion is None:
                return _put(db, collection, id, body, etag, guard, now_us)
            # The document and its idempotency key commit together, or neither.
            with transaction(db):
                result = _put(db, collection, id, body, etag, guard, now_us)
                if result.written:
                    record(db, completion(result))
            return result

        try:
            result = await self._sql.run(put)
        except sqlite3.IntegrityError as error:
            # A failed statement undid itself, and a transaction was rolled
            # back: nothing of this write is left.
            violated = await self._unique_violation(error)
            if violated is None:
                raise
            raise violated from error
        return self._written(result)

    def change_feed(self) -> ChangeFeed:
        return changes.RowidWatermark(self._sql)

    async def change_bounds(self) -> ChangeBounds:
        return await self._sql.run(changes.bounds)

    async def read_changes(
        self, collection: str, *, after: int, upto: int, id: str | None = None, limit: int
    ) -> ChangesRead:
        return await self._sql.run(lambda db: changes.read(db, collection, after, upto, id, limit))

    async def purge_changes(self, *, before_us: int, limit: int) -> int:
        return await self._sql.offload(lambda db: changes.purge(db, before_us, limit))

    def idempotency_store(self) -> SQLiteIdempotencyStore:
        return SQLiteIdempotencyStore(self.path, sharing=lambda: self._sql)

    def token_store(self) -> SQLiteTokenStore:
        return SQLiteTokenStore(self.path, sharing=lambda: self._sql)

    async def delete(
        self,
        collection: str,
        id: str,
        guard: Guard,
        now_us: int,
        *,
        completion: CompletionFor | None = None,
        purge: bool = False,
    ) -> WriteResult:
        check_delete_guard(guard)

        def delete(db: sqlite3.Connection) -> WriteResult:
            if completion is None and not purge:
                return _delete(db, collection, id, guard, now_us)
            # The tombstone, the erased history and the key's answer commit together.
            with transaction(db):
                result = _delete(db, collection, id, guard, now_us)
                if result.written and purge:
                    _erase_history(db, collection, id)
                    changes.mark_purged(db)
                if result.written and completion is not None:
                    record(db, completion(result))
            return result

        return self._written(await self._sql.run(delete))

    async def erase(self, collection: str, id: str) -> bool:
        now_us = time.time_ns() // 1000

        def erase(db: sqlite3.Connection) -> bool:
            # One transaction: a writer re-creating the document cannot come between.
            with transaction(db):
                erased = db.execute(
                    "DELETE FROM document_versions WHERE collection = ? AND id = ? AND EXISTS "
                    "(SELECT 1 FROM documents WHERE collection = ? AND id = ? AND etag IS NULL) "
                    "RETURNING 1",
                    (collection, id, collection, id),
                ).fetchall()
                if erased:
                    changes.record_erased(db, collection, id, now_us)
            return bool(erased)

        erased = await self._sql.run(erase)
        self._written(WriteResult(erased))
        return erased

    async def purge_tombstones(self, *, deleted_before_us: int, limit: int) -> int:
        def purge(db: sqlite3.Connection) -> int:
            with transaction(db):
                gone = db.execute(
                    "DELETE FROM documents WHERE (collection, id) IN (SELECT collection, id "
                    "FROM documents WHERE etag IS NULL AND modified_us < ? LIMIT ?) "
                    "RETURNING collection, id",
                    (deleted_before_us, limit),
                ).fetchall()
                db.executemany(
                    "DELETE FROM document_versions WHERE collection = ? AND id = ?", gone
                )
            return len(gone)

        # A batch deletes up to `limit` histories: on the waiting thread, not the loop.
        return await self._sql.offload(purge)

    async def _unique_violation(self, error: sqlite3.IntegrityError) -> ConstraintViolated | None:
        violated = unique_violation(error, self._indexes)
        if violated is None:
            # Another process may have declared the index since this one read them.
            self._indexes = await self._sql.run(_read_indexes)
            violated = unique_violation(error, self._indexes)
        return violated

    async def declare_unique(
        self, collection: str, keys: Sequence[UniqueKey]
    ) -> tuple[UniqueKey, ...]:
        return (await self._replace(collection, keys, None)).unique

    async def collection_settings(self, collection: str) -> CollectionSettings:
        return await self._sql.run(lambda db: _settings(db, collection))

    async def replace_settings(
        self,
        collection: str,
        settings: CollectionSettings,
        *,
        check: Callable[[CollectionSettings], None] | None = None,
    ) -> CollectionSettings:
        return await self._replace(collection, settings.unique, (settings, check))

    async def _replace(
        self,
        collection: str,
        keys: Sequence[UniqueKey],
        whole: tuple[CollectionSettings, Callable[[CollectionSettings], None] | None] | None,
    ) -> CollectionSettings:
        """Declare `keys`; with `whole`, check and write the rest of the settings too, at once."""
        keys = parse_unique_keys([list(key) for key in keys])
        wanted = {index_name(collection, key): key for key in keys}

        def declare(db: sqlite3.Connection) -> None:
            # BEGIN IMMEDIATE: the check below reads what no other writer can change.
            with transaction(db):
                if whole is not None and (check := whole[1]) is not None:
                    check(_settings(db, collection))
                rows = db.execute(
                    "SELECT index_name FROM unique_keys WHERE collection = ?", (collection,)
                ).fetchall()
                names = {name for (name,) in rows}
                added = [key for name, key in wanted.items() if name not in names]
                if added:
                    refused = unsupported_stored_value(
                        db.execute(*_numbers_or_more(collection, added)), added
                    )
                    if refused is not None:
                        raise refused
                for (name,) in rows:
                    if name not in wanted:
                        db.execute(f"DROP INDEX IF EXISTS {name}")
                for name, key in wanted.items():
                    db.execute(_index_ddl(name, collection, key))
                db.execute("DELETE FROM unique_keys WHERE collection = ?", (collection,))
                db.executemany(
                    "INSERT INTO unique_keys (collection, position, fields, index_name) "
                    "VALUES (?, ?, ?, ?)",
                    [
                        (collection, position, json.dumps(key), name)
                        for position, (name, key) in enumerate(wanted.items())
                    ],
                )
                if whole is not None:
                    db.execute(*_access_rules_sql(collection, whole[0].access))
                    db.execute(*_purging_sql(collection, whole[0].purge_on_delete))

        try:
            # Building an index reads the whole collection: not on the loop.
            await self._sql.offload(declare)
        except sqlite3.IntegrityError as error:
            # Stored documents already share a value of a new key: its index
            # could not be built, and the whole declaration was rolled back.
            violated = unique_violation(error, wanted)
            if violated is None:
                raise
            raise violated from error
        self._indexes.update(wanted)
        if whole is None:
            return CollectionSettings(keys)
        return dataclasses.replace(whole[0], unique=keys)

    async def unique_keys(self, collection: str) -> tuple[UniqueKey, ...]:
        rows = await self._sql.run(
            lambda db: db.execute(
                "SELECT fields FROM unique_keys WHERE collection = ? ORDER BY position",
                (collection,),
            ).fetchall()
        )
        return tuple(tuple(json.loads(fields)) for (fields,) in rows)

    async def purges_on_delete(self, collection: str) -> bool:
        row = await self._sql.run(
            lambda db: db.execute(
                "SELECT 1 FROM purging_collections WHERE collection = ?", (collection,)
            ).fetchone()
        )
        return row is not None

    async def set_purge_on_delete(self, collection: str, purge: bool) -> None:
        await self._sql.run(lambda db: db.execute(*_purging_sql(collection, purge)))

    async def access_rules(self, collection: str) -> AccessRules | None:
        row = await self._sql.run(
            lambda db: db.execute(
                "SELECT rules FROM access_rules WHERE collection = ?", (collection,)
            ).fetchone()
        )
        return None if row is None else rules_from_text(row[0])

    async def set_access_rules(self, collection: str, rules: AccessRules | None) -> None:
        await self._sql.run(lambda db: db.execute(*_access_rules_sql(collection, rules)))

    async def page_members(self, collection: str, *, after: str | None, limit: int) -> list[Listed]:
        return await self._sql.run(lambda db: _page_members(db, collection, after, limit))

    async def documents(
        self, collection: str, ids: Sequence[str], *, max_bytes: int
    ) -> list[Document]:
        return await self._sql.run(lambda db: _documents(db, collection, ids, max_bytes))

    async def version_members(
        self, collection: str, id: str, *, before: int | None, limit: int
    ) -> list[ListedVersion] | None:
        return await self._sql.run(lambda db: _version_members(db, collection, id, before, limit))

    async def versions_numbered(
        self, collection: str, id: str, numbers: Sequence[int], *, max_bytes: int
    ) -> list[Version]:
        return await self._sql.run(
            lambda db: _versions_numbered(db, collection, id, numbers, max_bytes)
        )

    async def version_body(self, collection: str, id: str, etag: str) -> bytes | None:
        # The same tag kept twice (A, B, A again) is the same text both times.
        row = await self._sql.run(
            lambda db: db.execute(
                "SELECT CAST(body AS BLOB) FROM document_versions "
                "WHERE collection = ? AND id = ? AND etag = ? LIMIT 1",
                (collection, id, etag),
            ).fetchone()
        )
        return None if row is None else bytes(row[0])


# The calls below take the connection to run on (see `Connections.run`).


def _put(
    db: sqlite3.Connection,
    collection: str,
    id: str,
    body: bytes,
    etag: str,
    guard: Guard,
    now_us: int,
) -> WriteResult:
    if guard.exists is not False:
        where, tags = _etag_condition(guard)
        if row := _write(
            db,
            "UPDATE documents SET version = version + 1, etag = ?, body = CAST(? AS TEXT), "
            "previous_us = modified_us, modified_us = ? "
            f"WHERE collection = ? AND id = ? AND {where} AND etag <> ? "
            "RETURNING previous_us",
            (etag, body, now_us, collection, id, *tags, etag),
        ):
            return WriteResult(True, written(etag, now_us, row[0]))
    # Absent, or a tombstone whose version numbers go on. With
    # exists=None this is a second statement; if another writer got in
    # between, the refusal below sends the write flow round again.
    if guard.exists is not True and (
        row := _write(
            db,
            f"INSERT INTO documents ({_COLUMNS}) VALUES (?, ?, 1, ?, CAST(? AS TEXT), ?) "
            "ON CONFLICT (collection, id) DO UPDATE SET version = version + 1, "
            "etag = excluded.etag, body = excluded.body, previous_us = modified_us, "
            "modified_us = excluded.modified_us "
            "WHERE documents.etag IS NULL RETURNING previous_us",
            (collection, id, etag, body, now_us),
        )
    ):
        return WriteResult(True, written(etag, now_us, row[0]), created=True)
    return WriteResult(False, _validators(db, collection, id))


def _delete(
    db: sqlite3.Connection, collection: str, id: str, guard: Guard, now_us: int
) -> WriteResult:
    where, tags = _etag_condition(guard)
    if _write(
        db,
        "UPDATE documents SET version = version + 1, etag = NULL, body = NULL, "
        "previous_us = modified_us, modified_us = ? "
        f"WHERE collection = ? AND id = ? AND {where} RETURNING previous_us",
        (now_us, collection, id, *tags),
    ):
        return WriteResult(True, None)
    return WriteResult(False, _validators(db, collection, id))


def _erase_history(db: sqlite3.Connection, collection: str, id: str) -> None:
    db.execute("DELETE FROM document_versions WHERE collection = ? AND id = ?", (collection, id))


def _write(db: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Run one write statement; the row it returned (it wrote), or None."""
    # fetchall(), not fetchone(): the autocommit transaction ends only when
    # the statement has run to completion.
    rows = db.execute(sql, args).fetchall()
    return rows[0] if rows else None


def _validators(db: sqlite3.Connection, collection: str, id: str) -> Validators | None:
    row = db.execute(
        "SELECT etag, modified_us, previous_us FROM documents WHERE collection = ? AND id = ?",
        (collection, id),
    ).fetchone()
    return None if row is None else validators(*row)


def _file_identity(path: str) -> str:
    """The file's device and inode: a copy of the file (same random number) is another file."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):  # ":memory:", a name that is no path
        return "-"
    return f"{found.st_dev}:{found.st_ino}"


def _read_indexes(db: sqlite3.Connection) -> dict[str, UniqueKey]:
    rows = db.execute("SELECT index_name, fields FROM unique_keys").fetchall()
    return {name: tuple(json.loads(fields)) for name, fields in rows}


def _page_members(
    db: sqlite3.Connection, collection: str, after: str | None, limit: int
) -> list[Listed]:
    rows = db.execute(
        "SELECT id, etag, modified_us FROM documents WHERE collection = ? AND id > ? "
        "AND etag IS NOT NULL ORDER BY id LIMIT ?",
        (collection, after or "", limit),
    ).fetchall()
    return [Listed(*row) for row in rows]


def _documents(
    db: sqlite3.Connection, collection: str, ids: Sequence[str], max_bytes: int
) -> list[Document]:
    if not ids:
        return []
    cursor = db.execute(
        f"SELECT {_READ} FROM documents WHERE collection = ? AND id BETWEEN ? AND ? "
        "AND etag IS NOT NULL ORDER BY id",
        (collection, ids[0], ids[-1]),
    )
    rows = _read_until(cursor, set(ids), key=1, body=4, max_bytes=max_bytes)
    return [Document(*row) for row in rows]


def _version_members(
    db: sqlite3.Connection, collection: str, id: str, before: int | None, limit: int
) -> list[ListedVersion] | None:
    # Every document keeps its current version in the history, deleted ones
    # too; one with none kept was purged, and reads as never created.
    exists = db.execute(
        "SELECT 1 FROM document_versions WHERE collection = ? AND id = ? LIMIT 1",
        (collection, id),
    ).fetchone()
    if exists is None:
        return None
    rows = db.execute(
        "SELECT version, etag, modified_us FROM document_versions "
        "WHERE collection = ? AND id = ? AND version < ? ORDER BY version DESC LIMIT ?",
        (collection, id, before if before is not None else 2**62, limit),
    ).fetchall()
    return [ListedVersion(*row) for row in rows]


def _versions_numbered(
    db: sqlite3.Connection, collection: str, id: str, numbers: Sequence[int], max_bytes: int
) -> list[Version]:
    if not numbers:
        return []
    cursor = db.execute(
        "SELECT version, etag, CAST(body AS BLOB), modified_us FROM document_versions "
        "WHERE collection = ? AND id = ? AND version BETWEEN ? AND ? ORDER BY version DESC",
        (collection, id, numbers[-1], numbers[0]),
    )
    rows = _read_until(cursor, set(numbers), key=0, body=2, max_bytes=max_bytes)
    return [Version(*row) for row in rows]


def _read_until(
    cursor: sqlite3.Cursor, wanted: set[Any], *, key: int, body: int, max_bytes: int
) -> list[tuple[Any, ...]]:
    """The rows whose `key` column is `wanted`, until their bodies hold `max_bytes`.

    SQLite reads a row only when it is stepped to, so the rows past the
    last one taken are never read; closing the cursor ends the statement
    (and its read transaction) before the caller awaits anything. Rows
    written since the keys were chosen are stepped over.
    """
    rows: list[tuple[Any, ...]] = []
    size = 0
    try:
        for row in cursor:
            if row[key] in wanted:
                rows.append(row)
                size += len(row[body] or b"")
                if size >= max_bytes:
                    break
    finally:
        cursor.close()
    return rows


def _index_ddl(name: str, collection: str, key: UniqueKey) -> str:
    """The unique index enforcing `key`: two expressions per field, the value and its type.

    The body is TEXT, so the fields are read with the JSON functions.
    json_extract alone would make true equal to 1 and an object equal to
    the string of its text; the JSON type beside it keeps them apart (the
    string "1" and the number 1 already differ in SQLite's type). Integers
    and reals are one type here, so 1 and 1.0 collide, as in PostgreSQL's
    jsonb (integers beyond 64 bits compare as reals). A JSON null extracts
    as NULL, and an index entry holding a NULL conflicts with nothing.
    """
    columns = []
    for field in key:
        path = _sql_string(f'$."{field}"')
        kind = f"json_type(body, {path})"
        columns.append(
            f"CASE WHEN {kind} IN ('integer', 'real') THEN 'number' ELSE {kind} END, "
            f"json_extract(body, {path})"
        )
    return (
        f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON documents ({', '.join(columns)}) "
        f"WHERE collection = {_sql_string(collection)}"
    )


def _numbers_or_more(collection: str, keys: Sequence[UniqueKey]) -> tuple[str, tuple[str, ...]]:
    """The documents whose fields of `keys` hold a number, an object or an array (to be judged)."""
    paths = [f'$."{field}"' for key in keys for field in key]
    held = " OR ".join(
        ["json_type(body, ?) IN ('integer', 'real', 'object', 'array')"] * len(paths)
    )
    return (
        f"SELECT id, body FROM documents WHERE collection = ? AND body IS NOT NULL AND ({held})",
        (collection, *paths),
    )


def _sql_string(text: str) -> str:
    """`text` as an SQL string literal (DDL takes no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _etag_condition(guard: Guard) -> tuple[str, tuple[str, ...]]:
    if guard.etags is None:
        return "etag IS NOT NULL", ()
    if not guard.etags:
        return "0", ()
    tags = tuple(sorted(guard.etags))
    return f"etag IN ({', '.join('?' * len(tags))})", tags


def _purging_sql(collection: str, purge: bool) -> tuple[str, tuple[str]]:
    if purge:
        return (
            "INSERT INTO purging_collections (collection) VALUES (?) ON CONFLICT DO NOTHING",
            (collection,),
        )
    return "DELETE FROM purging_collections WHERE collection = ?", (collection,)


def _access_rules_sql(collection: str, rules: AccessRules | None) -> tuple[str, tuple[str, ...]]:
    if rules is None:
        return "DELETE FROM access_rules WHERE collection = ?", (collection,)
    return (
        "INSERT INTO access_rules (collection, rules) VALUES (?, ?) "
        "ON CONFLICT (collection) DO UPDATE SET rules = excluded.rules",
        (collection, json.dumps(rules.to_json())),
    )


def _settings(db: sqlite3.Connection, collection: str) -> CollectionSettings:
    keys = db.execute(
        "SELECT fields FROM unique_keys WHERE collection = ? ORDER BY position", (collection,)
    ).fetchall()
    rules = db.execute(
        "SELECT rules FROM access_rules WHERE collection = ?", (collection,)
    ).fetchone()
    purging = db.execute(
        "SELECT 1 FROM purging_collections WHERE collection = ?", (collection,)
    ).fetchone()
    return CollectionSettings(
        tuple(tuple(json.loads(fields)) for (fields,) in keys),
        None if rules is None else rules_from_text(rules[0]),
        purging is not None,
    )
