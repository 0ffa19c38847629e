"""Idempotency keys in PostgreSQL, next to the documents.

The claim is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expires_at <=
now``: two concurrent claims of one key serialise on its row, and the
second sees the first's live claim. For one lease after the server
(re)started, a claim in flight is not taken over even once expired: its
request may have run while the server was down, and its answer is on the
way from its process's backlog. Completion and release check the
claim's token. The document store records a key in the statement of the
write it answers (storage/postgres.py), on the same tables.
"""

from __future__ import annotations

from typing import Any, Final

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from ..._idempotency import Completion, Record, StoredResponse
from .._pg_pool import STATEMENT_DEADLINE, PoolSource, ping
from .._pg_schema import set_up
from .._pg_store import ReadyPool
from ._rows import (
    COMPLETED,
    HELD_CLAIMS_KEPT,
    IN_FLIGHT,
    RECORD,
    RECORD_COLUMNS,
    complete_args,
    record_args,
    to_record,
)

__all__ = [
    "SCHEMA",
    "PostgresIdempotencyStore",
    "create_schema",
]

#: Rows `purge` deletes per statement.
PURGE_BATCH: Final = 1000
SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS idempotency_keys (
    principal text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    token text NOT NULL,                    -- who holds the claim
    state text NOT NULL CHECK (state IN ('{IN_FLIGHT}', '{COMPLETED}')),
    expires_at double precision NOT NULL,   -- end of the lease, or of the retention
    status integer,
    headers text,
    body bytea,
    PRIMARY KEY (principal, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at);
"""

#: Seconds `ping` waits for a connection: /healthz answers within a second.
PING_WAIT: Final = 0.4

_CLAIM: Final = f"""
    INSERT INTO idempotency_keys (principal, key, fingerprint, token, state, expires_at)
    VALUES (%(principal)s, %(key)s, %(fingerprint)s, %(token)s, '{IN_FLIGHT}', %(until)s)
    ON CONFLICT (principal, key) DO UPDATE SET
        fingerprint = excluded.fingerprint, token = excluded.token, state = '{IN_FLIGHT}',
        expires_at = excluded.expires_at, status = NULL, headers = NULL, body = NULL
    WHERE idempotency_keys.expires_at <= %(now)s
      AND (idempotency_keys.state = '{COMPLETED}'
           OR extract(epoch FROM pg_postmaster_start_time()) + %(lease)s <= %(now)s)
    RETURNING 1
"""
_COMPLETE: Final = f"""
    UPDATE idempotency_keys
       SET state = '{COMPLETED}', status = %s, headers = %s, body = %s, expires_at = %s
     WHERE principal = %s AND key = %s AND token = %s AND state = '{IN_FLIGHT}'
"""


async def create_schema(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    await set_up(conn, SCHEMA)


class PostgresIdempotencyStore:
    """An `IdempotencyStore` in PostgreSQL, with its own pool or a shared one.

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
            what="the idempotency-key store",
            max_size=10,
            shared=pool,
            statement_timeout=statement_timeout,
        )

    async def open(self) -> None:
        """Create the table and open the pool, unless done already (calls do it too)."""
        await self._pool.open()

    async def close(self) -> None:
        await self._pool.close()

    async def _ready(self) -> AsyncConnectionPool:
        return await self._pool.pool()

    async def ping(self) -> None:
        await ping(await self._ready(), wait=PING_WAIT)

    async def _execute(self, sql: str, args: Any) -> tuple[int, list[TupleRow]]:
        # Every failure is `Unavailable`, a lost answer included: the core
        # knows that a claim whose answer was lost may have been applied.
        return await self._pool.execute(sql, args)

    async def claim(
        self, principal: str, key: str, fingerprint: str, token: str, *, now: float, lease: float
    ) -> Record | None:
        args = {
            "principal": principal,
            "key": key,
            "fingerprint": fingerprint,
            "token": token,
            "until": now + lease,
            "now": now,
            "lease": lease,
        }
        while True:
            _, rows = await self._execute(_CLAIM, args)
            if rows:
                return None
            live = await self.get(principal, key, now=now)
            if live is not None:
                return live
            held = await self._held_past_its_lease(principal, key)
            if held is not None:
                return held
            # It expired between the two statements: claim again.

    async def _held_past_its_lease(self, principal: str, key: str) -> Record | None:
        """A claim whose lease ended, kept for one lease after the server (re)started.

        Its request may have run while the server was down and owe it its
        answer, which its process's backlog writes within about a second of
        the server's return: taken over before then, a resend would run it
        again. So for one lease after a restart an expired claim is still
        in flight (a resend gets 409, then the replay), as after Redis lost
        its keys (the quarantine).
        """
        _, rows = await self._execute(
            f"SELECT {RECORD_COLUMNS} FROM idempotency_keys "
            f"WHERE principal = %s AND key = %s AND state = '{IN_FLIGHT}'",
            (principal, key),
        )
        return to_record(rows[0]) if rows else None

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
        count, _ = await self._execute(_COMPLETE, args)
        return count == 1

    async def release(self, principal: str, key: str, token: str) -> bool:
        count, _ = await self._execute(
            "DELETE FROM idempotency_keys "
            f"WHERE principal = %s AND key = %s AND token = %s AND state = '{IN_FLIGHT}'",
            (principal, key, token),
        )
        return count == 1

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
        count, _ = await self._execute(
            "UPDATE idempotency_keys SET expires_at = %s "
            f"WHERE principal = %s AND key = %s AND token = %s AND state = '{IN_FLIGHT}'",
            (now + lease, principal, key, token),
        )
        return count == 1

    async def record(self, completion: Completion) -> bool:
        _, rows = await self._execute(RECORD, record_args(completion))
        return bool(rows)

    async def get(self, principal: str, key: str, *, now: float) -> Record | None:
        _, rows = await self._execute(
            f"SELECT {RECORD_COLUMNS} FROM idempotency_keys "
            "WHERE principal = %s AND key = %s AND expires_at > %s",
            (principal, key, now),
        )
        return to_record(rows[0]) if rows else None

    async def purge(self, *, now: float) -> int:
        # In batches, each its own short transaction; SKIP LOCKED: workers
        # purging at once share the work, and a key in use is left to its owner.
        total = 0
        while True:
            count, _ = await self._execute(
                "DELETE FROM idempotency_keys WHERE (principal, key) IN ("
                "  SELECT principal, key FROM idempotency_keys WHERE expires_at <= %s "
                f"  AND (state = '{COMPLETED}' "
                "       OR extract(epoch FROM pg_postmaster_start_time()) + %s <= %s) "
                "  LIMIT %s FOR UPDATE SKIP LOCKED)",
                (now, HELD_CLAIMS_KEPT, now, PURGE_BATCH),
            )
            total += count
            if count < PURGE_BATCH:
                return total
