"""Idempotency keys in SQLite, next to the documents (or in a file of their own).

Each primitive is one statement: the claim is an ``INSERT ... ON CONFLICT DO
UPDATE ... WHERE expires_at <= now``, which takes over an expired key and
leaves a live one alone; completion and release check the claim's token.
Sharing the document store's connections lets the service record a key in
the same transaction as the document it creates (`record`). Each statement
runs as the document store's do: on the event loop unless a lock is in its
way (`_sqlite.Connections`), opened by the first. There is no
index on expiry: it would cost a page in every write, and `purge` is rare
(it walks the table a window at a time).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Final

from ..._errors import IdempotencyKeyTaken
from ..._idempotency import Completion, Record, StoredResponse
from .._opening import Opening
from .._sqlite import DEFAULT_BUSY_TIMEOUT_MS, Connections, transaction
from ._rows import COMPLETED, IN_FLIGHT, RECORD_COLUMNS, complete_args, record_args, to_record

__all__ = [
    "SCHEMA",
    "SQLiteIdempotencyStore",
]

#: Rows `purge` reads, and at most deletes, per statement.
PURGE_WINDOW: Final = 500
SCHEMA: Final = [
    """CREATE TABLE IF NOT EXISTS idempotency_keys (
        principal TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        token TEXT NOT NULL,          -- who holds the claim
        state TEXT NOT NULL,          -- 'in-flight' or 'completed'
        expires_at REAL NOT NULL,     -- end of the lease, or of the retention
        status INTEGER,
        headers TEXT,
        body BLOB,
        PRIMARY KEY (principal, key)
    ) WITHOUT ROWID""",
]

_CLAIM: Final = f"""
    INSERT INTO idempotency_keys (principal, key, fingerprint, token, state, expires_at)
    VALUES (?, ?, ?, ?, '{IN_FLIGHT}', ?)
    ON CONFLICT (principal, key) DO UPDATE SET
        fingerprint = excluded.fingerprint, token = excluded.token, state = '{IN_FLIGHT}',
        expires_at = excluded.expires_at, status = NULL, headers = NULL, body = NULL
    WHERE idempotency_keys.expires_at <= ?
    RETURNING 1
"""
_COMPLETE: Final = f"""
    UPDATE idempotency_keys
       SET state = '{COMPLETED}', status = ?, headers = ?, body = ?, expires_at = ?
     WHERE principal = ? AND key = ? AND token = ? AND state = '{IN_FLIGHT}'
"""


_RECORD: Final = f"""
    INSERT INTO idempotency_keys
        (principal, key, fingerprint, token, state, expires_at, status, headers, body)
    VALUES (?, ?, ?, '', '{COMPLETED}', ?, ?, ?, ?)
    ON CONFLICT (principal, key) DO UPDATE SET
        fingerprint = excluded.fingerprint, token = '', state = '{COMPLETED}',
        expires_at = excluded.expires_at, status = excluded.status,
        headers = excluded.headers, body = excluded.body
    WHERE idempotency_keys.expires_at <= ?
    RETURNING 1
"""


def record(db: sqlite3.Connection, completion: Completion) -> None:
    """Record `completion` inside the caller's transaction, or raise IdempotencyKeyTaken."""
    args = record_args(completion)
    if not db.execute(_RECORD, args).fetchall():
        raise IdempotencyKeyTaken(
            "another request with this Idempotency-Key recorded its answer first"
        )


class SQLiteIdempotencyStore:
    """An `IdempotencyStore` in a SQLite file, or on connections it is given."""

    def __init__(
        self,
        path: str | Path,
        *,
        sharing: Callable[[], Connections] | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        """Keys in the file `path`, or on the connections `sharing()` gives.

        Nothing is opened yet: the first call (or `open()`) opens the file
        and creates the table, once per process. `busy_timeout_ms`: how long
        a call on a file of its own waits for a lock (shared connections wait
        as their document store's do).
        """
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._sql: Connections | None = None
        self._sharing = sharing
        self._opening = Opening(self._open, forget=self._forget)

    async def open(self) -> None:
        """Open the file and create the table, unless done already (calls do it too)."""
        await self._opening.ensure()

    async def _open(self) -> None:
        if self._sharing is not None:
            sql = self._sharing()
        else:
            sql = Connections(self.path, busy_timeout_ms=self.busy_timeout_ms)
            await sql.open()
        for statement in SCHEMA:
            await sql.run(partial(_execute, statement))
        self._sql = sql

    def _forget(self) -> Connections | None:
        sql, self._sql = self._sql, None
        return sql

    async def close(self) -> None:
        self._opening.closed()
        sql, self._sql = self._sql, None
        if sql is not None and self._sharing is None:
            await sql.close()

    async def _connections(self) -> Connections:
        if not self._opening.is_open:
            await self._opening.ensure()
        assert self._sql is not None
        return self._sql

    async def ping(self) -> None:
        sql = await self._connections()
        # Touches no table, so another process's lock cannot hold it up.
        sql.db.execute("SELECT 1").fetchone()

    async def _run(self, sql: str, args: tuple[Any, ...]) -> tuple[list[Any], int]:
        """Run one statement: the rows it returned, and how many rows it changed."""

        def run(db: sqlite3.Connection) -> tuple[list[Any], int]:
            cursor = db.execute(sql, args)
            return cursor.fetchall(), cursor.rowcount

        return await (await self._connections()).run(run)

    async def claim(
        self, principal: str, key: str, fingerprint: str, token: str, *, now: float, lease: float
    ) -> Record | None:
        while True:
            args = (principal, key, fingerprint, token, now + lease, now)
            if (await self._run(_CLAIM, args))[0]:
                return None
            live = await self.get(principal, key, now=now)
            if live is not None:
                return live
            # It expired between the two statements: claim again.

    async def complete(
        self,
        principal: str,
        key: str,
        token: str,
        response: StoredResponse,
        *,
        now: float,
        retention: float,
        fingerprint: str | None = None,  # unused: the claim cannot vanish from under its owner
    ) -> bool:
        args = complete_args(principal, key, token, response, now + retention)
        return (await self._run(_COMPLETE, args))[1] == 1

    async def release(self, principal: str, key: str, token: str) -> bool:
        _, changed = await self._run(
            "DELETE FROM idempotency_keys "
            f"WHERE principal = ? AND key = ? AND token = ? AND state = '{IN_FLIGHT}'",
            (principal, key, token),
        )
        return changed == 1

    async def renew(
        self,
        principal: str,
        key: str,
        token: str,
        *,
        now: float,
        lease: float,
        fingerprint: str | None = None,
    ) -> bool:
        _, changed = await self._run(
            "UPDATE idempotency_keys SET expires_at = ? "
            f"WHERE principal = ? AND key = ? AND token = ? AND state = '{IN_FLIGHT}'",
            (now + lease, principal, key, token),
        )
        return changed == 1

    async def record(self, completion: Completion) -> bool:
        return bool((await self._run(_RECORD, record_args(completion)))[0])

    async def get(self, principal: str, key: str, *, now: float) -> Record | None:
        rows, _ = await self._run(
            f"SELECT {RECORD_COLUMNS} FROM idempotency_keys "
            "WHERE principal = ? AND key = ? AND expires_at > ?",
            (principal, key, now),
        )
        return to_record(rows[0]) if rows else None

    async def purge(self, *, now: float) -> int:
        # With no index on expiry, the table is walked in key order, a window
        # of rows at a time: no statement reads or deletes more than a window,
        # so none holds the file's write lock for long, and other requests
        # run between windows.
        sql = await self._connections()
        total = 0
        after: tuple[str, str] = ("", "")
        while window := await sql.run(partial(_window, after=after)):
            expired = [(principal, key, now) for principal, key, ends in window if ends <= now]
            if expired:
                total += await sql.run(partial(_delete_expired, expired=expired))
            after = window[-1][:2]
            await asyncio.sleep(0)
        return total


def _execute(statement: str, db: sqlite3.Connection) -> None:
    db.execute(statement)


def _window(db: sqlite3.Connection, after: tuple[str, str]) -> list[tuple[str, str, float]]:
    rows: list[tuple[str, str, float]] = db.execute(
        "SELECT principal, key, expires_at FROM idempotency_keys "
        "WHERE (principal, key) > (?, ?) ORDER BY principal, key LIMIT ?",
        (*after, PURGE_WINDOW),
    ).fetchall()
    return rows


def _delete_expired(db: sqlite3.Connection, expired: list[tuple[str, str, float]]) -> int:
    # expires_at again: a key claimed anew since the window was read stays.
    with transaction(db):
        cursor = db.executemany(
            "DELETE FROM idempotency_keys WHERE principal = ? AND key = ? AND expires_at <= ?",
            expired,
        )
    return cursor.rowcount
