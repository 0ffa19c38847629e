"""A PostgreSQL store's tables and pool, made ready once per process, on first use.

Theory of operation: the key and token stores each create their table (with
one plain connection, under the lock every store's schema takes, since
workers start together) and then use a pool: their own, or the document
store's when they sit beside it (a `PoolSource`, which opens the documents'
pool first if need be). This happens on the first call or on ``open()``,
whichever comes first (`_opening.Opening`); a database that does not answer
makes that call a 503, and the next call tries again, so a store made during
an outage works as soon as the database is back. A pool of its own is
closed by ``close()`` and replaced by the next opening (a closed pool cannot
be opened again), and is left to the parent in a forked child.
"""

from __future__ import annotations

from typing import Any, Final

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from .._incidents import unavailable
from ._opening import Opening
from ._pg_pool import STATEMENT_DEADLINE, PoolSource, connect, connection, new_pool, read_only
from ._pg_schema import set_up

#: Seconds opening waits for the pool's first connection.
OPEN_WAIT: Final = 10.0


class ReadyPool:
    """`schema` created and a pool opened (of `max_size`, or `shared`) on the first `pool()`."""

    def __init__(
        self,
        conninfo: str,
        schema: str,
        *,
        what: str,
        max_size: int,
        shared: PoolSource | None,
        statement_timeout: float = STATEMENT_DEADLINE,
    ) -> None:
        self.conninfo = conninfo
        #: Seconds a statement may take before its connection is cut (`_pg_pool.connection`).
        self.statement_timeout = statement_timeout
        self._schema = schema
        self._what = what
        self._max_size = max_size
        self._shared = shared
        self._own: AsyncConnectionPool | None = None
        self._opening = Opening(self._open, forget=self._forget)

    async def open(self) -> None:
        await self._opening.ensure()

    async def pool(self) -> AsyncConnectionPool:
        if not self._opening.is_open:
            await self._opening.ensure()
        if self._shared is not None:
            return await self._shared()
        assert self._own is not None
        return self._own

    async def execute(self, sql: str, args: Any) -> tuple[int, list[TupleRow]]:
        """One statement on a pooled connection, within the deadline: its row count and rows.

        Every failure is `Unavailable`, a lost answer included (the stores
        here know a statement whose answer was lost may have been applied).
        """
        async with connection(await self.pool(), deadline=self.statement_timeout) as conn:
            cursor = await conn.execute(sql, args)
            rows = await cursor.fetchall() if cursor.description else []
            return cursor.rowcount, rows

    async def close(self) -> None:
        self._opening.closed()
        if (pool := self._forget()) is not None:
            await pool.close()

    async def _open(self) -> None:
        pool = None
        try:
            conn = await connect(self.conninfo)
            async with conn:
                await set_up(conn, self._schema)
            if self._shared is None:
                pool = new_pool(self.conninfo, min_size=1, max_size=self._max_size)
                await pool.open(wait=True, timeout=OPEN_WAIT)
        except (psycopg.OperationalError, PoolTimeout) as error:
            if pool is not None:
                await pool.close()
            raise unavailable(f"{self._what} (PostgreSQL) does not answer", error) from error
        except psycopg.errors.ReadOnlySqlTransaction as error:  # its schema cannot be set up
            raise read_only(error, f"{self._what} (PostgreSQL) cannot open") from error
        self._own = pool

    def _forget(self) -> AsyncConnectionPool | None:
        pool, self._own = self._own, None
        return pool  # None when shared: the document store's to forget
