"""API tokens in the service's PostgreSQL database (table ``api_tokens``).

A lookup is one statement on the primary key, on the document store's pool
when it sits beside one, else on a small pool of its own (`_pg_pool`: dead
connections skipped, waits bounded, failures a 503).
"""

from __future__ import annotations

from typing import Any, Final

import psycopg
from psycopg.rows import TupleRow

from .._pg_pool import STATEMENT_DEADLINE, PoolSource
from .._pg_store import ReadyPool
from . import ApiToken, TokenExists
from ._rows import COLUMNS, roles_json, to_token

__all__ = [
    "SCHEMA",
    "PostgresTokenStore",
]

SCHEMA: Final = """CREATE TABLE IF NOT EXISTS api_tokens (
    hash TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    roles TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    hint TEXT NOT NULL,
    revoked DOUBLE PRECISION
)"""


class PostgresTokenStore:
    """A `TokenStore` in PostgreSQL, with its own pool or a shared one.

    Nothing is opened yet: the first call (or `open()`) creates the table
    and opens the pool, once per process.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        pool: PoolSource | None = None,
        statement_timeout: float = STATEMENT_DEADLINE,
    ) -> None:
        self.conninfo = conninfo
        self._pool = ReadyPool(
            conninfo,
            SCHEMA,
            what="the token store",
            max_size=4,
            shared=pool,
            statement_timeout=statement_timeout,
        )

    async def open(self) -> None:
        """Create the table and open the pool, unless done already (calls do it too)."""
        await self._pool.open()

    async def close(self) -> None:
        await self._pool.close()

    async def _execute(self, sql: str, args: Any) -> tuple[int, list[TupleRow]]:
        return await self._pool.execute(sql, args)

    async def create(self, token: ApiToken, hashed: str) -> None:
        try:
            await self._execute(
                "INSERT INTO api_tokens (hash, name, roles, created, hint) "
                "VALUES (%s, %s, %s, %s, %s)",
                (hashed, token.name, roles_json(token.roles), token.created, token.hint),
            )
        except psycopg.errors.UniqueViolation as error:
            raise TokenExists(f"a token named {token.name!r} exists already") from error

    async def find(self, hashed: str) -> ApiToken | None:
        _, rows = await self._execute(
            f"SELECT {COLUMNS} FROM api_tokens WHERE hash = %s AND revoked IS NULL", (hashed,)
        )
        return to_token(rows[0]) if rows else None

    async def list(self) -> list[ApiToken]:
        _, rows = await self._execute(f"SELECT {COLUMNS} FROM api_tokens ORDER BY name", ())
        return [to_token(row) for row in rows]

    async def revoke(self, name: str, *, now: float) -> bool:
        changed, _ = await self._execute(
            "UPDATE api_tokens SET revoked = %s WHERE name = %s AND revoked IS NULL", (now, name)
        )
        return changed > 0
