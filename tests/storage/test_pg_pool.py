"""PostgreSQL connections: dead pooled ones skipped, waits bounded, a lost write's outcome unknown.

These end backends with ``pg_terminate_backend``, which is what a restart
or a fast shutdown does to each one (a FATAL admin_shutdown message, then
the connection closed), without stopping the server other tests share.
Each store's connections carry an application_name of their own, so only
they are ended.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import psycopg
import pytest

from httpconflict import ETag, Guard, Unavailable, WriteOutcomeUnknown
from httpconflict.storage._pg_pool import connection
from httpconflict.storage.postgres import PostgresDocumentStore

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

BODY = b'{"n": 0}'
ETAG = ETag.from_content(BODY).opaque


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Named:
    """A store whose connections are named `name` in pg_stat_activity."""

    store: PostgresDocumentStore
    url: str
    name: str

    def backends(self, state: str | None = None) -> list[int]:
        query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
        args: tuple[str, ...] = (self.name,)
        if state is not None:
            query += " AND state = %s"
            args += (state,)
        with psycopg.connect(self.url, autocommit=True) as admin:
            return [pid for (pid,) in admin.execute(query, args).fetchall()]

    def terminate(self, state: str | None = None) -> int:
        """End the store's backends (those in `state`); once they are gone, how many there were."""
        pids = self.backends(state)
        with psycopg.connect(self.url, autocommit=True) as admin:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while set(pids) & set(self.backends()) and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(pids)


@pytest.fixture
async def named(postgres_schema: str) -> AsyncIterator[Named]:
    name = f"hc-pool-{uuid.uuid4().hex[:12]}"
    url = f"{postgres_schema}&application_name={name}"
    store = PostgresDocumentStore(url, min_size=4, max_size=4)
    await store.open()
    try:
        yield Named(store, postgres_schema, name)
    finally:
        await store.close()


async def test_dead_pooled_connections_are_skipped(named: Named) -> None:
    """Every pooled connection's backend ended while idle: the next reads all succeed."""
    store = named.store
    await store.put("c", "a", BODY, ETAG, Guard(exists=False), 1)
    await asyncio.gather(*(store.get("c", "a") for _ in range(8)))
    assert named.terminate() == 4
    for _ in range(20):
        document = await store.get("c", "a")
        assert document is not None
    await store.ping()


async def test_a_write_whose_connection_breaks_has_an_unknown_outcome(named: Named) -> None:
    """A write's backend ended mid-statement: WriteOutcomeUnknown (504), not Unavailable (503)."""
    store = named.store
    await store.put("c", "a", BODY, ETAG, Guard(exists=False), 1)
    with psycopg.connect(named.url, autocommit=True) as admin:
        admin.execute(
            "CREATE FUNCTION slow_update() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$"
        )
        admin.execute(
            "CREATE TRIGGER slow_update BEFORE UPDATE ON documents "
            "FOR EACH ROW EXECUTE FUNCTION slow_update()"
        )
    changed = b'{"n": 1}'
    guard = Guard(etags=frozenset({ETAG}), exists=True)
    write = asyncio.ensure_future(
        store.put("c", "a", changed, ETag.from_content(changed).opaque, guard, 2)
    )
    await asyncio.sleep(0.3)
    assert await asyncio.to_thread(named.terminate, "active") == 1
    with pytest.raises(WriteOutcomeUnknown) as caught:
        await write
    assert caught.value.status == 504
    assert caught.value.problem.extensions["retry_after"] == 1
    # Here it was not applied (the backend died before its commit).
    document = await store.get("c", "a")
    assert document is not None
    assert document.body == BODY


async def test_a_read_whose_connection_breaks_is_unavailable(named: Named) -> None:
    """A read's backend ended mid-statement: Unavailable (503), and no driver text in it."""
    read = asyncio.ensure_future(_sleep_on(named.store, writes=False))
    await asyncio.sleep(0.3)
    assert await asyncio.to_thread(named.terminate, "active") == 1
    with pytest.raises(Unavailable) as caught:
        await read
    assert "terminat" not in str(caught.value.problem.to_dict())
    assert caught.value.incident is not None


async def test_waiting_for_a_connection_is_bounded(named: Named) -> None:
    """Every connection busy: the next request gets Unavailable after its wait, not later."""
    pool = named.store._pool
    busy = [asyncio.ensure_future(_sleep_on(named.store, writes=False)) for _ in range(4)]
    await asyncio.sleep(0.2)
    began = time.monotonic()
    with pytest.raises(Unavailable):
        async with connection(pool, wait=0.3) as conn:
            await conn.execute("SELECT 1")
    assert 0.3 <= time.monotonic() - began < 0.9
    await asyncio.gather(*busy)


async def _sleep_on(store: PostgresDocumentStore, *, writes: bool) -> None:
    async with connection(store._pool, writes=writes) as conn:
        await conn.execute("SELECT pg_sleep(1)")
