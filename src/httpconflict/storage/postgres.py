"""PostgreSQL document store (psycopg 3, async pool): for more than one machine.

Each write is ONE statement: a data-modifying CTE whose first part is the
guarded ``UPDATE ... WHERE etag = ANY(...)`` (or ``INSERT ... ON CONFLICT``)
and whose other parts append the history row, prune old versions and, for
a write under an Idempotency-Key, record its answer. The key's row is a
plain INSERT: a key already recorded makes it violate the key's primary
key, which undoes the whole statement, the document write included (a
key whose retention has run out is then removed and the write tried again).
One statement is one round trip, where a transaction around two would be
four. Under
READ COMMITTED a concurrent writer of the same row waits for the row lock
and then re-checks the WHERE clause against the row as committed, so the
guard is the compare of a compare-and-swap. A refused write is followed by
a fresh SELECT (a new snapshot) that reports what won.

A collection's unique keys are expression indexes over the body as jsonb,
partial on the collection, built by a function of the tables' owner (see
`_pg_unique`); `unique_keys` records which index backs which key.
Declarations take turns (an advisory lock), since each locks the
documents table to build or drop its indexes.
"""

from __future__ import annotations

try:
    import psycopg  # first: without them, the error names the extra
    import psycopg_pool  # noqa: F401
except ModuleNotFoundError as error:
    from .._extras import missing_extra

    raise missing_extra(error, "postgres", __name__) from None

import dataclasses
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Final

from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from .._access import AccessRules, rules_from_text
from .._errors import IdempotencyKeyTaken, InvalidDocument
from .._incidents import unavailable
from .._integrity_policy import ConstraintViolated
from .._preconditions import Validators
from .._write import Guard, WriteResult
from . import _pg_changes as changes
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
from ._opening import Opening
from ._pg_batch import BATCH, MAX_GROUPED_BODY, UpdateBatcher
from ._pg_history import APPEND as _HISTORY
from ._pg_history import SCHEMA as HISTORY_SCHEMA
from ._pg_history import keep as keep_history
from ._pg_pool import STATEMENT_DEADLINE, connect, connection, new_pool, ping, read_only, run
from ._pg_schema import set_up
from ._pg_unique import SCHEMA as UNIQUE_INDEX_FUNCTION
from ._pg_unique import briefly, build_index, drop_index, hold_writes, present
from ._unique import (
    UniqueKey,
    index_name,
    parse_unique_keys,
    unique_violation,
    unsupported_stored_value,
)
from .idempotency._rows import COMPLETED, encode_headers, stored_body
from .idempotency.postgres import PostgresIdempotencyStore
from .tokens.postgres import PostgresTokenStore

__all__ = [
    "SCHEMA",
    "PostgresDocumentStore",
]

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS documents (
    -- COLLATE "C": ids sort and compare bytewise, as in SQLite, so that
    -- list pages (id > after ORDER BY id) are the same on both.
    collection text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    version bigint NOT NULL,
    etag text,                   -- NULL: deleted (a tombstone)
    body text,
    modified_us bigint NOT NULL,
    previous_us bigint,          -- when the version this one replaced was made
    -- A tombstone's deletion time, which the purge finds old ones by. Kept
    -- by PostgreSQL, NULL while the row is a document: no write to a
    -- document changes an indexed column, so its updates are HOT (the new
    -- row version on the same page, no new index entry) where the page has
    -- room, which the fillfactor leaves for them.
    deleted_us bigint GENERATED ALWAYS AS (CASE WHEN etag IS NULL THEN modified_us END) STORED,
    PRIMARY KEY (collection, id)
) WITH (fillfactor = 90);
CREATE TABLE IF NOT EXISTS document_versions (
    collection text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    version bigint NOT NULL,
    etag text,
    body text,
    modified_us bigint NOT NULL,
    PRIMARY KEY (collection, id, version)
);
-- A table made before previous_us existed gets it; each row takes its
-- predecessor's time from the history, or (no longer kept) its own: "in doubt".
DO $$ BEGIN
    ALTER TABLE documents ADD COLUMN previous_us bigint;
    UPDATE documents d SET previous_us = COALESCE(
        (SELECT v.modified_us FROM document_versions v WHERE v.collection = d.collection
            AND v.id = d.id AND v.version = d.version - 1),
        CASE WHEN d.version > 1 THEN d.modified_us END);
EXCEPTION WHEN duplicate_column THEN NULL;
END $$;
-- A table made before deleted_us existed gets it (the table is rewritten
-- once), and loses the index that named etag and modified_us, which every
-- write changes: with it no update was HOT.
DO $$ BEGIN
    ALTER TABLE documents ADD COLUMN deleted_us bigint
        GENERATED ALWAYS AS (CASE WHEN etag IS NULL THEN modified_us END) STORED;
    ALTER TABLE documents SET (fillfactor = 90);
EXCEPTION WHEN duplicate_column THEN NULL;
END $$;
DROP INDEX IF EXISTS documents_tombstones;
-- Tombstones only, found by age for the scheduled purge.
CREATE INDEX IF NOT EXISTS documents_deleted ON documents (deleted_us) WHERE deleted_us IS NOT NULL;
CREATE TABLE IF NOT EXISTS unique_keys (
    collection text COLLATE "C" NOT NULL,
    position integer NOT NULL,   -- the order of the declaration
    fields text[] NOT NULL,
    index_name text NOT NULL UNIQUE,
    PRIMARY KEY (collection, position)
);
CREATE TABLE IF NOT EXISTS purging_collections (
    collection text COLLATE "C" PRIMARY KEY  -- every delete here purges the history
);
CREATE TABLE IF NOT EXISTS access_rules (
    collection text COLLATE "C" PRIMARY KEY,
    rules text NOT NULL          -- JSON: {"read": [...], "write": [...], "admin": [...]}
);
"""

_COLUMNS: Final = "collection, id, version, etag, body, modified_us"
# Bodies are stored as text and moved as bytes (UTF-8), as received.
_READ: Final = "collection, id, version, etag, convert_to(body, 'UTF8'), modified_us, previous_us"

# A purging delete erases the whole history instead, tombstone included.
_ERASED: Final = """
, erased AS (
    DELETE FROM document_versions v USING written w
    WHERE v.collection = w.collection AND v.id = w.id
)"""
# ... and so does the answer of a write made under an Idempotency-Key.
_KEYED: Final = f""", keyed AS (
    INSERT INTO idempotency_keys
        (principal, key, fingerprint, token, state, expires_at, status, headers, body)
    SELECT %(k_principal)s, %(k_key)s, %(k_fingerprint)s, '', '{COMPLETED}', %(k_expires)s,
           %(k_status)s, %(k_headers)s, %(k_body)s
    FROM written
)"""
_ANSWER: Final = "\nSELECT previous_us FROM written"
_BATCH: Final = BATCH.format(tail=_HISTORY + changes.CHANGED)
_KEY_CONSTRAINT: Final = "idempotency_keys_pkey"
#: Seconds `ping` waits for a connection: /healthz answers within a second.
PING_WAIT: Final = 0.4
#: Seconds opening waits for the pool's first connections.
OPEN_WAIT: Final = 10.0

_INDEXES: Final = "SELECT index_name, fields FROM unique_keys"
# The cluster (its system identifier, drawn at initdb), the database and the
# documents table (oids, new when either is made again): what a replay cache
# shared with other databases keeps this one's answers apart by. Without the
# right to read the cluster's identifier, the server's start time stands for
# it: a cache then misses after each restart, which costs only its shortcut.
_DATABASE_ID: Final = (
    "SELECT (SELECT system_identifier FROM pg_control_system()), d.oid, "
    "'documents'::regclass::oid FROM pg_database d WHERE d.datname = current_database()"
)
_DATABASE_ID_ALONE: Final = (
    "SELECT extract(epoch FROM pg_postmaster_start_time()), d.oid, "
    "'documents'::regclass::oid FROM pg_database d WHERE d.datname = current_database()"
)
_TARGET: Final = "collection = %(collection)s AND id = %(id)s"
_SET_NEW_STATE: Final = (
    "version = documents.version + 1, etag = %(etag)s, "
    "body = convert_from(%(body)s, 'UTF8'), previous_us = documents.modified_us, "
    "modified_us = %(now)s"
)


class PostgresDocumentStore(WriteListeners):
    """A `DocumentStore` on a PostgreSQL database."""

    def __init__(
        self,
        conninfo: str,
        *,
        history: int = DEFAULT_HISTORY,
        min_size: int = 2,
        max_size: int = 10,
        statement_timeout: float = STATEMENT_DEADLINE,
        group_commit: bool = False,
    ) -> None:
        """`group_commit`: If-Match PUTs that arrive while 2 statements are at the
        database go together in one statement (`_pg_batch`); off, each goes alone."""
        if history < 1:
            raise ValueError("history must keep at least the current version")
        super().__init__()
        self.conninfo = conninfo
        self.history = history
        #: Seconds a statement may take before its connection is cut (`_pg_pool.run`).
        self.statement_timeout = statement_timeout
        self._new_pool = partial(new_pool, conninfo, min_size=min_size, max_size=max_size)
        self._pool = self._new_pool()
        #: Index name -> the unique key it enforces, as last read.
        self._indexes: dict[str, UniqueKey] = {}
        self._database_id = ""
        self._opening = Opening(self._open, forget=self._forget)
        #: How far the retention purge may delete changes.
        self._fence = changes.PurgeFence()
        self._batcher = (
            UpdateBatcher(self._written_rows, self._written_row) if group_commit else None
        )

    async def open(self) -> None:
        """Create the schema and open the pool, unless done already (every call does it too)."""
        await self._opening.ensure()

    async def _open(self) -> None:
        # Opened by the lifespan or by a request's first call: a database
        # that does not answer is a 503 for that call (the lifespan logs it
        # and serves on), and the next call tries again, so a worker started
        # during an outage serves once the database is back.
        try:
            conn = await connect(self.conninfo)
            async with conn:
                # Several workers start at once; CREATE TABLE IF NOT EXISTS
                # is not safe against itself, so they take turns (`set_up`).
                await set_up(conn, SCHEMA, changes.SCHEMA, HISTORY_SCHEMA, UNIQUE_INDEX_FUNCTION)
                await keep_history(conn, self.history)
            await self._pool.open(wait=True, timeout=OPEN_WAIT)
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise unavailable("the database does not answer", error) from error
        except psycopg.errors.ReadOnlySqlTransaction as error:  # its schema cannot be set up
            raise read_only(error, "the documents cannot open") from error
        async with connection(self._pool) as pooled:
            read = await pooled.execute(_INDEXES)
            self._indexes = {name: tuple(fields) for name, fields in await read.fetchall()}
            try:
                named = await (await pooled.execute(_DATABASE_ID)).fetchone()
            except psycopg.errors.InsufficientPrivilege:  # pg_control_system() revoked
                named = await (await pooled.execute(_DATABASE_ID_ALONE)).fetchone()
            assert named is not None
            self._database_id = "postgresql:" + ":".join(str(part) for part in named)

    def _forget(self) -> AsyncConnectionPool:
        # A pool cannot be opened again once closed, nor shared with a forked
        # child: each opening after either has a pool of its own.
        pool, self._pool = self._pool, self._new_pool()
        self._fence = changes.PurgeFence()  # the database may be another one now
        return pool

    async def close(self) -> None:
        self._opening.closed()
        await self._forget().close()

    async def pool(self) -> AsyncConnectionPool:
        """The pool, opened first unless it is (the stores beside this one share it)."""
        if not self._opening.is_open:
            await self._opening.ensure()
        return self._pool

    async def ping(self) -> None:
        await ping(await self.pool(), wait=PING_WAIT)

    async def database_id(self) -> str:
        await self.pool()  # opened (which reads it), or Unavailable
        return self._database_id

    async def _one(
        self,
        sql: str,
        params: Any,
        conn: AsyncConnection[TupleRow] | None = None,
        *,
        writes: bool = False,
    ) -> TupleRow | None:
        rows = await self._all(sql, params, conn, writes=writes)
        return rows[0] if rows else None

    async def _all(
        self,
        sql: str,
        params: Any,
        conn: AsyncConnection[TupleRow] | None = None,
        *,
        writes: bool = False,
        binary: bool = False,
    ) -> list[TupleRow]:
        """Run `sql` on `conn` (in its transaction), or on a connection of the pool.

        `writes`: `sql` changes documents, so a connection lost under it
        leaves its outcome unknown (504), where a read's is a 503.
        `binary`: results in binary format (bodies as their bytes, not as
        hex text twice their size).
        """
        if conn is not None:
            return await (await conn.execute(sql, params, binary=binary)).fetchall()
        try:
            return await run(
                await self.pool(),
                sql,
                params,
                writes=writes,
                binary=binary,
                deadline=self.statement_timeout,
            )
        except (psycopg.errors.ProgramLimitExceeded, psycopg.DataError) as error:
            raise _invalid_document(error) from error

    async def _written_row(self, sql: str | bytes, params: dict[str, Any]) -> TupleRow | None:
        """The row a write statement returns when it wrote: `_one`, with fewer calls between.

        Every await between the handler and the driver is passed through
        again each time the statement waits for the database.
        """
        pool = self._pool if self._opening.is_open else await self.pool()
        try:
            rows = await run(pool, sql, params, writes=True, deadline=self.statement_timeout)
        except (psycopg.errors.ProgramLimitExceeded, psycopg.DataError) as error:
            raise _invalid_document(error) from error
        return rows[0] if rows else None

    async def _written_rows(self, arrays: dict[str, Any]) -> list[TupleRow]:
        """`_pg_batch.BATCH` run over `arrays`: a row for each PUT written.

        A deadlock or serialization failure is raised as it is: the
        batcher sends each PUT again alone.
        """
        pool = self._pool if self._opening.is_open else await self.pool()
        return await run(
            pool,
            _BATCH,
            {**arrays, "history": self.history},
            writes=True,
            deadline=self.statement_timeout,
            passing=(psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure),
        )

    async def get(self, collection: str, id: str) -> Document | None:
        row = await self._one(
            f"SELECT {_READ} FROM documents WHERE collection = %s AND id = %s AND etag IS NOT NULL",
            (collection, id),
        )
        return None if row is None else Document(*row)

    async def validators(self, collection: str, id: str) -> Validators | None:
        return await self._validators(collection, id, None)

    async def _validators(
        self, collection: str, id: str, conn: AsyncConnection[TupleRow] | None
    ) -> Validators | None:
        row = await self._one(
            "SELECT etag, modified_us, previous_us FROM documents "
            "WHERE collection = %s AND id = %s",
            (collection, id),
            conn,
        )
        return None if row is None else validators(*row)

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
        try:
            if completion is None:  # no key that another request may hold: nothing to retry
                result = await self._put(collection, id, body, etag, guard, now_us, None)
            else:
                result = await self._keyed(
                    completion,
                    lambda: self._put(collection, id, body, etag, guard, now_us, completion),
                )
        except psycopg.IntegrityError as error:
            # The statement was rolled back.
            violated = await self._unique_violation(error)
            if violated is None:
                raise
            raise violated from error
        return self._written(result)

    def change_feed(self) -> ChangeFeed:
        return changes.PostgresChangeFeed(self._run)

    async def _run(self, sql: str, params: Any) -> list[TupleRow]:
        return await self._all(sql, params)

    async def change_bounds(self) -> ChangeBounds:
        return await changes.bounds(self._run)

    async def read_changes(
        self, collection: str, *, after: int, upto: int, id: str | None = None, limit: int
    ) -> ChangesRead:
        return await changes.read(self._run, collection, after, upto, id, limit)

    async def purge_changes(self, *, before_us: int, limit: int) -> int:
        upto = await self._fence.upto(self._run)
        return await changes.purge(
            lambda sql, params: self._all(sql, params, writes=True), before_us, limit, upto
        )

    async def _keyed(
        self, completion: CompletionFor | None, write: Callable[[], Awaitable[WriteResult]]
    ) -> WriteResult:
        """Run `write`; if its key is taken, by an expired record take it over, else refuse."""
        for _ in range(2):
            try:
                return await write()
            except psycopg.errors.UniqueViolation as error:
                if completion is None or error.diag.constraint_name != _KEY_CONSTRAINT:
                    raise
                # The document write was undone with the key's row.
                key = completion(WriteResult(True))
                if not await self._all(
                    "DELETE FROM idempotency_keys WHERE principal = %s AND key = %s "
                    "AND expires_at <= %s RETURNING 1",
                    (key.principal, key.key, key.now),
                ):
                    raise IdempotencyKeyTaken(
                        "another request with this Idempotency-Key recorded its answer first"
                    ) from error
        return await write()  # the key just freed was taken and expired again: a last try

    async def _unique_violation(self, error: psycopg.IntegrityError) -> ConstraintViolated | None:
        violated = unique_violation(error, self._indexes)
        if violated is None:
            # Another process may have declared the index since this one read them.
            self._indexes = await self._read_indexes()
            violated = unique_violation(error, self._indexes)
        return violated

    async def _read_indexes(self) -> dict[str, UniqueKey]:
        rows = await self._all(_INDEXES, ())
        return {name: tuple(fields) for name, fields in rows}

    async def declare_unique(
        self, collection: str, keys: Sequence[UniqueKey]
    ) -> tuple[UniqueKey, ...]:
        settings = await self._replace(collection, keys, None)
        return settings.unique

    async def collection_settings(self, collection: str) -> CollectionSettings:
        async with _answered(), connection(await self.pool()) as conn, conn.transaction():
            return await _settings(conn, collection)

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
        try:
            async with (
                _answered(),
                connection(await self.pool(), writes=True) as conn,
                conn.transaction(),
            ):
                # One declaration at a time: an index build locks the table in
                # SHARE mode and a drop in ACCESS EXCLUSIVE mode, and two
                # declarations upgrading their locks in turn would deadlock.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('httpconflict.unique'))")
                await briefly(conn)  # every request waits behind a lock on the table that waits
                if whole is not None and (check := whole[1]) is not None:
                    check(await _settings(conn, collection))
                current = await conn.execute(
                    "SELECT index_name FROM unique_keys WHERE collection = %s", (collection,)
                )
                names = [name for (name,) in await current.fetchall()]
                added = [key for name, key in wanted.items() if name not in names]
                if added:
                    await hold_writes(conn)
                    judged = await conn.execute(*_numbers_or_more(collection, added))
                    refused = unsupported_stored_value(await judged.fetchall(), added)
                    if refused is not None:
                        raise refused
                for name in names:
                    if name not in wanted:
                        await drop_index(conn, name)
                built = await present(conn, list(wanted))
                for name, key in wanted.items():
                    if name not in built:
                        await build_index(conn, name, collection, key)
                await conn.execute("DELETE FROM unique_keys WHERE collection = %s", (collection,))
                async with conn.cursor() as cursor:
                    await cursor.executemany(
                        "INSERT INTO unique_keys (collection, position, fields, index_name) "
                        "VALUES (%s, %s, %s, %s)",
                        [
                            (collection, position, list(key), name)
                            for position, (name, key) in enumerate(wanted.items())
                        ],
                    )
                if whole is not None:
                    settings = whole[0]
                    await conn.execute(*_access_rules_sql(collection, settings.access))
                    await conn.execute(*_purging_sql(collection, settings.purge_on_delete))
        except psycopg.IntegrityError as error:
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
        rows = await self._all(
            "SELECT fields FROM unique_keys WHERE collection = %s ORDER BY position",
            (collection,),
        )
        return tuple(tuple(fields) for (fields,) in rows)

    async def purges_on_delete(self, collection: str) -> bool:
        row = await self._one(
            "SELECT 1 FROM purging_collections WHERE collection = %s", (collection,)
        )
        return row is not None

    async def set_purge_on_delete(self, collection: str, purge: bool) -> None:
        await self._all(*_purging_sql(collection, purge))

    async def access_rules(self, collection: str) -> AccessRules | None:
        row = await self._one("SELECT rules FROM access_rules WHERE collection = %s", (collection,))
        return None if row is None else rules_from_text(row[0])

    async def set_access_rules(self, collection: str, rules: AccessRules | None) -> None:
        await self._all(*_access_rules_sql(collection, rules))

    def idempotency_store(self) -> PostgresIdempotencyStore:
        return PostgresIdempotencyStore(
            self.conninfo, pool=self.pool, statement_timeout=self.statement_timeout
        )

    def token_store(self) -> PostgresTokenStore:
        return PostgresTokenStore(
            self.conninfo, pool=self.pool, statement_timeout=self.statement_timeout
        )

    async def _put(
        self,
        collection: str,
        id: str,
        body: bytes,
        etag: str,
        guard: Guard,
        now_us: int,
        completion: CompletionFor | None,
    ) -> WriteResult:
        params = self._params(collection, id, guard, now_us, etag=etag, body=body)
        if guard.exists is not False:
            _key_params(params, completion, created=False)
            sql = _update_sql(_match(guard), completion is not None)
            # An unkeyed If-Match PUT may go in one statement with others (group commit).
            if (
                self._batcher is not None
                and completion is None
                and _one_tag(guard)
                and len(body) <= MAX_GROUPED_BODY
            ):
                row = await self._batcher.update(collection, id, sql, params)
            else:
                row = await self._written_row(sql, params)
            if row:
                return WriteResult(True, written(etag, now_us, row[0]))
        # Absent, or a tombstone whose version numbers go on. With
        # exists=None this is a second statement; if another writer got in
        # between, the refusal below sends the flow round again.
        if guard.exists is not True:
            _key_params(params, completion, created=True)
            if row := await self._written_row(_insert_sql(completion is not None), params):
                return WriteResult(True, written(etag, now_us, row[0]), created=True)
        return WriteResult(False, await self._validators(collection, id, None))

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
        return self._written(
            await self._keyed(
                completion, lambda: self._delete(collection, id, guard, now_us, completion, purge)
            )
        )

    async def erase(self, collection: str, id: str) -> bool:
        # FOR SHARE: a writer re-creating the document waits for this statement.
        erased = bool(
            await self._all(
                changes.erase_sql(),
                {"c": collection, "i": id, "now": time.time_ns() // 1000},
                writes=True,
            )
        )
        self._written(WriteResult(erased))
        return erased

    async def purge_tombstones(self, *, deleted_before_us: int, limit: int) -> int:
        # SKIP LOCKED: workers purging at once share the work instead of
        # waiting on each other; etag IS NULL again in the DELETE: a
        # tombstone re-created meanwhile is a document, and stays.
        row = await self._one(
            "WITH gone AS (DELETE FROM documents WHERE (collection, id) IN ("
            "  SELECT collection, id FROM documents WHERE deleted_us < %s "
            "  LIMIT %s FOR UPDATE SKIP LOCKED) AND etag IS NULL RETURNING collection, id"
            "), erased AS (DELETE FROM document_versions v USING gone g "
            "  WHERE v.collection = g.collection AND v.id = g.id) "
            "SELECT count(*) FROM gone",
            (deleted_before_us, limit),
            writes=True,
        )
        return int(row[0]) if row else 0

    async def _delete(
        self,
        collection: str,
        id: str,
        guard: Guard,
        now_us: int,
        completion: CompletionFor | None,
        purge: bool,
    ) -> WriteResult:
        params = self._params(collection, id, guard, now_us)
        if await self._one(
            "WITH written AS (UPDATE documents SET version = documents.version + 1, "
            "etag = NULL, body = NULL, previous_us = documents.modified_us, "
            f"modified_us = %(now)s WHERE {_TARGET} "
            f"AND {_match(guard)} RETURNING {_COLUMNS}, previous_us)"
            f"{_tail(params, completion, created=False, erase=purge)}",
            params,
            writes=True,
        ):
            return WriteResult(True, None)
        return WriteResult(False, await self._validators(collection, id, None))

    def _params(
        self, collection: str, id: str, guard: Guard, now_us: int, **more: str | bytes
    ) -> dict[str, Any]:
        return {
            "collection": collection,
            "id": id,
            "now": now_us,
            "history": self.history,
            # One tag (If-Match's usual form) is a text parameter: an array's
            # is dumped afresh for every statement.
            "etags": tags[0] if len(tags := sorted(guard.etags or ())) == 1 else tags,
            **more,
        }

    async def page_members(self, collection: str, *, after: str | None, limit: int) -> list[Listed]:
        rows = await self._all(
            "SELECT id, etag, modified_us FROM documents WHERE collection = %s AND id > %s "
            "AND etag IS NOT NULL ORDER BY id LIMIT %s",
            (collection, after or "", limit),
        )
        return [Listed(*row) for row in rows]

    async def documents(
        self, collection: str, ids: Sequence[str], *, max_bytes: int
    ) -> list[Document]:
        # The whole result crosses the wire at once, so the statement itself
        # stops at max_bytes: each row carries the size of the bodies before
        # it (octet_length reads a stored value's size without its content).
        rows = await self._all(
            f"SELECT {_READ} FROM (SELECT *, sum(octet_length(body)) OVER (ORDER BY id) "
            "  - octet_length(body) AS bytes_before FROM documents "
            "  WHERE collection = %s AND id = ANY(%s) AND etag IS NOT NULL) d "
            "WHERE bytes_before < %s ORDER BY id",
            (collection, list(ids), max_bytes),
            binary=True,
        )
        return [Document(*row) for row in rows]

    async def version_members(
        self, collection: str, id: str, *, before: int | None, limit: int
    ) -> list[ListedVersion] | None:
        rows = await self._all(
            "SELECT v.version, v.etag, v.modified_us FROM documents d "
            "LEFT JOIN LATERAL (SELECT version, etag, modified_us FROM document_versions h "
            "  WHERE h.collection = d.collection AND h.id = d.id AND h.version < %s "
            # Only the versions kept (`_pg_history`): never down over pruned ones.
            "  AND h.version > d.version - %s "
            "  ORDER BY h.version DESC LIMIT %s) v ON true "
            "WHERE d.collection = %s AND d.id = %s "
            # A document keeps its current version in the history, deleted
            # ones too; one with none kept was purged: as if never created.
            "AND EXISTS (SELECT 1 FROM document_versions e "
            "  WHERE e.collection = d.collection AND e.id = d.id AND e.version = d.version)",
            (before if before is not None else 2**62, self.history, limit, collection, id),
        )
        if not rows:
            return None
        return [ListedVersion(*row) for row in rows if row[0] is not None]

    async def versions_numbered(
        self, collection: str, id: str, numbers: Sequence[int], *, max_bytes: int
    ) -> list[Version]:
        # As `documents`; a deletion has no body and counts for nothing.
        rows = await self._all(
            "SELECT version, etag, convert_to(body, 'UTF8'), modified_us FROM ("
            "  SELECT *, sum(coalesce(octet_length(body), 0)) OVER (ORDER BY version DESC) "
            "    - coalesce(octet_length(body), 0) AS bytes_before FROM document_versions "
            "  WHERE collection = %s AND id = %s AND version = ANY(%s)) v "
            "WHERE bytes_before < %s ORDER BY version DESC",
            (collection, id, list(numbers), max_bytes),
            binary=True,
        )
        return [Version(*row) for row in rows]

    async def version_body(self, collection: str, id: str, etag: str) -> bytes | None:
        # The same tag kept twice (A, B, A again) is the same text both times.
        row = await self._one(
            "SELECT convert_to(v.body, 'UTF8') FROM documents d JOIN document_versions v "
            "USING (collection, id) WHERE d.collection = %s AND d.id = %s "
            # From the newest down, over the versions kept only: never over
            # the entries of pruned ones that vacuum has not yet removed.
            "AND v.version > d.version - %s AND v.etag = %s ORDER BY v.version DESC LIMIT 1",
            (collection, id, self.history, etag),
        )
        return None if row is None else bytes(row[0])


def _purging_sql(collection: str, purge: bool) -> tuple[str, tuple[str]]:
    if purge:
        return (
            "INSERT INTO purging_collections (collection) VALUES (%s) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (collection,),
        )
    return "DELETE FROM purging_collections WHERE collection = %s RETURNING 1", (collection,)


def _access_rules_sql(collection: str, rules: AccessRules | None) -> tuple[str, tuple[str, ...]]:
    if rules is None:
        return "DELETE FROM access_rules WHERE collection = %s RETURNING 1", (collection,)
    return (
        "INSERT INTO access_rules (collection, rules) VALUES (%s, %s) "
        "ON CONFLICT (collection) DO UPDATE SET rules = excluded.rules RETURNING 1",
        (collection, json.dumps(rules.to_json())),
    )


async def _settings(conn: AsyncConnection[TupleRow], collection: str) -> CollectionSettings:
    keys = await conn.execute(
        "SELECT fields FROM unique_keys WHERE collection = %s ORDER BY position", (collection,)
    )
    unique = tuple(tuple(fields) for (fields,) in await keys.fetchall())
    rules = await (
        await conn.execute("SELECT rules FROM access_rules WHERE collection = %s", (collection,))
    ).fetchone()
    purging = await (
        await conn.execute("SELECT 1 FROM purging_collections WHERE collection = %s", (collection,))
    ).fetchone()
    access = None if rules is None else rules_from_text(rules[0])
    return CollectionSettings(unique, access, purging is not None)


@asynccontextmanager
async def _answered() -> AsyncIterator[None]:
    """Turn the database errors a client can do something about into problems."""
    try:
        yield
    except (psycopg.errors.ProgramLimitExceeded, psycopg.DataError) as error:
        raise _invalid_document(error) from error


def _numbers_or_more(collection: str, keys: Sequence[UniqueKey]) -> tuple[str, tuple[str, ...]]:
    """The documents whose fields of `keys` hold a number, an object or an array (to be judged)."""
    fields = [field for key in keys for field in key]
    held = " OR ".join(
        ["jsonb_typeof(body::jsonb -> %s) IN ('number', 'object', 'array')"] * len(fields)
    )
    return (
        f"SELECT id, body FROM documents WHERE collection = %s AND body IS NOT NULL AND ({held})",
        (collection, *fields),
    )


def _invalid_document(error: psycopg.Error) -> InvalidDocument:
    """The problem of a document a unique key's index cannot take."""
    if isinstance(error, psycopg.errors.ProgramLimitExceeded):
        # A B-tree entry holds at most about a third of a page (2704 bytes).
        # The driver's message (which names the index) is not the client's business.
        return InvalidDocument(
            "a value of a unique field is too large to index: an indexed value "
            "takes at most about 2700 bytes"
        )
    # A unique key's index reads bodies as jsonb, which cannot hold what
    # a document stored before the JSON domain may: U+0000, a lone
    # surrogate, a number beyond numeric. New bodies are held to the
    # domain, so this is such a document (or a caller of the store's own).
    return InvalidDocument(
        "a document cannot be read as jsonb for a unique key's index (it holds "
        "U+0000, a lone surrogate or a number PostgreSQL cannot hold): replace "
        "the stored document holding it with a PUT, then declare the key again"
    )


def _tail(
    params: dict[str, Any], completion: CompletionFor | None, *, created: bool, erase: bool = False
) -> str:
    """The statement's end after ``written``: history, and the key's answer when keyed.

    The answer is made now, for the write this statement makes if it makes
    one (`created`: the INSERT of a new document, or an UPDATE). `erase`:
    the document's whole history is deleted instead of appended to.
    """
    _key_params(params, completion, created=created)
    return _tail_sql(keyed=completion is not None, erase=erase)


def _tail_sql(*, keyed: bool, erase: bool = False) -> str:
    history = _ERASED + changes.PURGED if erase else _HISTORY + changes.CHANGED
    return history + (_KEYED if keyed else "") + _ANSWER


def _key_params(params: dict[str, Any], completion: CompletionFor | None, *, created: bool) -> None:
    """Add the key's answer to `params` when the write is keyed (`_KEYED`'s parameters)."""
    if completion is None:
        return
    key = completion(WriteResult(True, created=created))
    response = key.response
    params.update(
        k_principal=key.principal,
        k_key=key.key,
        k_fingerprint=key.fingerprint,
        k_expires=key.expires_at,
        k_status=response.status,
        k_headers=encode_headers(response.headers),
        k_body=stored_body(response),
    )


# A PUT's two statements, by the form of their guard and whether they record a key: made
# once, as bytes, so that psycopg neither encodes nor hashes their text again on each write.
@functools.cache
def _update_sql(match: str, keyed: bool) -> bytes:
    return (
        f"WITH written AS (UPDATE documents SET {_SET_NEW_STATE} "
        f"WHERE {_TARGET} AND {match} AND etag <> %(etag)s "
        f"RETURNING {_COLUMNS}, previous_us){_tail_sql(keyed=keyed)}"
    ).encode()


@functools.cache
def _insert_sql(keyed: bool) -> bytes:
    return (
        f"WITH written AS (INSERT INTO documents ({_COLUMNS}) "
        "VALUES (%(collection)s, %(id)s, 1, %(etag)s, convert_from(%(body)s, 'UTF8'), "
        f"%(now)s) ON CONFLICT (collection, id) DO UPDATE SET {_SET_NEW_STATE} "
        f"WHERE documents.etag IS NULL RETURNING {_COLUMNS}, previous_us)"
        f"{_tail_sql(keyed=keyed)}"
    ).encode()


def _match(guard: Guard) -> str:
    if guard.etags is None:
        return "etag IS NOT NULL"
    return "etag = %(etags)s" if _one_tag(guard) else "etag = ANY(%(etags)s)"


def _one_tag(guard: Guard) -> bool:
    return guard.etags is not None and len(guard.etags) == 1
