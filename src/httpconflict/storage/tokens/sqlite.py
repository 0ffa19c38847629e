"""API tokens in the service's SQLite file (table ``api_tokens``).

A lookup is one statement on the primary-key index of the hash, run as the
document store's are (`_sqlite.Connections`): on the event loop unless a
lock is in its way, so checking a token per request costs microseconds and
a revoked token is refused by the very next request. Beside a document
store (`sharing`), the lookup runs on the store's own connection, whose
page cache that store's writes keep warm: a connection of its own would
re-read the table's pages after every write another connection commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from .._sqlite import DEFAULT_BUSY_TIMEOUT_MS, Connections
from . import ApiToken, TokenExists
from ._rows import COLUMNS, roles_json, to_token

__all__ = [
    "SCHEMA",
    "SQLiteTokenStore",
]

SCHEMA: Final = """CREATE TABLE IF NOT EXISTS api_tokens (
    hash TEXT PRIMARY KEY,        -- SHA-256 of the token, hex; never the token
    name TEXT NOT NULL UNIQUE,
    roles TEXT NOT NULL,          -- JSON array of role names
    created REAL NOT NULL,        -- seconds since the epoch
    hint TEXT NOT NULL,           -- the token's last characters, for people
    revoked REAL                  -- when it was revoked; NULL while valid
) WITHOUT ROWID"""


class SQLiteTokenStore:
    """A `TokenStore` in a SQLite file."""

    def __init__(
        self,
        path: str | Path,
        *,
        sharing: Callable[[], Connections] | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        """Open `path`, or use the connections `sharing()` gives once open() is called."""
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._sharing = sharing
        self._sql: Connections | None = None

    async def open(self) -> None:
        if self._sharing is not None:
            self._sql = self._sharing()
        else:
            self._sql = Connections(self.path, busy_timeout_ms=self.busy_timeout_ms)
            await self._sql.open()
        await self._run(SCHEMA, ())

    async def close(self) -> None:
        if self._sql is not None and self._sharing is None:
            await self._sql.close()
        self._sql = None

    async def _run(self, sql: str, args: tuple[Any, ...]) -> tuple[list[Any], int]:
        if self._sql is None:
            raise RuntimeError("the token store is not open; call open() first")

        def run(db: sqlite3.Connection) -> tuple[list[Any], int]:
            cursor = db.execute(sql, args)
            return cursor.fetchall(), cursor.rowcount

        return await self._sql.run(run)

    async def create(self, token: ApiToken, hashed: str) -> None:
        try:
            await self._run(
                "INSERT INTO api_tokens (hash, name, roles, created, hint) VALUES (?, ?, ?, ?, ?)",
                (hashed, token.name, roles_json(token.roles), token.created, token.hint),
            )
        except sqlite3.IntegrityError as error:
            raise TokenExists(f"a token named {token.name!r} exists already") from error

    async def find(self, hashed: str) -> ApiToken | None:
        rows, _ = await self._run(
            f"SELECT {COLUMNS} FROM api_tokens WHERE hash = ? AND revoked IS NULL", (hashed,)
        )
        return to_token(rows[0]) if rows else None

    async def list(self) -> list[ApiToken]:
        rows, _ = await self._run(f"SELECT {COLUMNS} FROM api_tokens ORDER BY name", ())
        return [to_token(row) for row in rows]

    async def revoke(self, name: str, *, now: float) -> bool:
        _, changed = await self._run(
            "UPDATE api_tokens SET revoked = ? WHERE name = ? AND revoked IS NULL", (now, name)
        )
        return changed > 0
