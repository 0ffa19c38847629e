"""Idempotency keys in SQLite, next to the documents (or in a file of their own).

Each primitive is one statement: the claim is an ``INSERT ... ON CONFLICT DO
UPDATE ... WHERE expires_at <= now``, which takes over an expired key and
leaves a live one alone; completion and release check the claim's token.
Sharing the document store's connection lets the service record a key in
the same transaction as the document it creates (`record`). There is no
index on expiry: it would cost a page in every write, and `purge` is rare.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from ..._errors import IdempotencyKeyTaken
from ..._idempotency import Completion, Record, StoredResponse
from .._sqlite import LOCKED, connect
from ._rows import COMPLETED, IN_FLIGHT, RECORD_COLUMNS, complete_args, record_args, to_record

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
    """An `IdempotencyStore` in a SQLite file, or on a connection it is given."""

    def __init__(
        self, path: str | Path, *, sharing: Callable[[], sqlite3.Connection] | None = None
    ) -> None:
        """Open `path`, or use the connection `sharing()` gives once open() is called."""
        self.path = str(path)
        self._db: sqlite3.Connection | None = None
        self._sharing = sharing

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the store is not open; call open() first")
        return self._db

    async def open(self) -> None:
        if self._sharing is not None:
            self._db = self._sharing()
        else:
            self._db = connect(self.path)
        for statement in SCHEMA:
            self._run(statement, ())

    async def close(self) -> None:
        if self._db is not None and self._sharing is None:
            self._db.close()
        self._db = None

    async def ping(self) -> None:
        # Touches no table, so another process's lock cannot hold it up.
        self.db.execute("SELECT 1").fetchone()

    def _run(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        with LOCKED:
            return self.db.execute(sql, args)

    async def claim(
        self, principal: str, key: str, fingerprint: str, token: str, *, now: float, lease: float
    ) -> Record | None:
        while True:
            args = (principal, key, fingerprint, token, now + lease, now)
            if self._run(_CLAIM, args).fetchall():
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
        return self._run(_COMPLETE, args).rowcount == 1

    async def release(self, principal: str, key: str, token: str) -> bool:
        cursor = self._run(
            "DELETE FROM idempotency_keys "
            f"WHERE principal = ? AND key = ? AND token = ? AND state = '{IN_FLIGHT}'",
            (principal, key, token),
        )
        return cursor.rowcount == 1

    async def record(self, completion: Completion) -> bool:
        return bool(self._run(_RECORD, record_args(completion)).fetchall())

    async def get(self, principal: str, key: str, *, now: float) -> Record | None:
        row = self._run(
            f"SELECT {RECORD_COLUMNS} FROM idempotency_keys "
            "WHERE principal = ? AND key = ? AND expires_at > ?",
            (principal, key, now),
        ).fetchone()
        return None if row is None else to_record(row)

    async def purge(self, *, now: float) -> int:
        return self._run("DELETE FROM idempotency_keys WHERE expires_at <= ?", (now,)).rowcount
