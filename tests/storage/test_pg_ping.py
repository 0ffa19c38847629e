"""The PostgreSQL stores' pings (what /healthz asks): asked once per pool, bounded in time.

The stores reach the machine's PostgreSQL through a TCP proxy
(tests/pg_proxy.py) that counts the connections it accepts and the
ping's statements it passes on, and can swallow one of them: a server
that went silent under a pooled connection.

Found in CI: just after a restart under load, the documents' store and
the keys' store beside it (one pool) each found every pooled connection
busy and connected apart at the same moment; the keys' ping did not
answer within /healthz's half second, and /healthz said "idempotency_keys:
down" for a database that answered the very same ping beside it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from httpconflict import Unavailable
from httpconflict.storage._pg_pool import SILENT_AFTER
from httpconflict.storage.postgres import PING_WAIT, PostgresDocumentStore
from tests.pg_proxy import PgProxy, pg_proxy
from tests.storage.test_document_store import BLIND, put

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

#: Text of the ping's statement (sent each time: it is run too rarely to be prepared).
PING_SQL = b"pg_is_in_recovery"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def proxy(postgres_schema: str) -> Iterator[PgProxy]:
    with pg_proxy(postgres_schema) as running:
        yield running


@pytest.fixture
async def store(postgres_schema: str, proxy: PgProxy) -> AsyncIterator[PostgresDocumentStore]:
    opened = PostgresDocumentStore(proxy.url(postgres_schema), min_size=2, max_size=2)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def _hold_every_connection(store: PostgresDocumentStore) -> list[asyncio.Task[None]]:
    """Both pooled connections busy for a second (a request each), begun when this returns."""
    pool = await store.pool()

    async def busy() -> None:
        async with pool.connection() as conn:
            await conn.execute("SELECT pg_sleep(1)")

    sleepers = [asyncio.ensure_future(busy()) for _ in range(2)]
    await asyncio.sleep(0.1)
    return sleepers


async def test_pings_at_the_same_time_share_one_statement(
    store: PostgresDocumentStore, proxy: PgProxy
) -> None:
    """The documents' and the keys' pings (one pool), three at once: one statement reaches it."""
    keys = store.idempotency_store()
    await store.ping()  # the pool's connections are made, and the keys' table set up
    await keys.ping()
    proxy.count(PING_SQL)
    await asyncio.gather(store.ping(), keys.ping(), store.ping())
    assert proxy.counted(PING_SQL) == 1
    await store.ping()  # the next one asks again: an answer is never remembered
    assert proxy.counted(PING_SQL) == 2


async def test_pings_with_every_connection_busy_connect_apart_once(
    store: PostgresDocumentStore, proxy: PgProxy
) -> None:
    """Every pooled connection busy: pings at once open one connection apart between them."""
    keys = store.idempotency_store()
    await keys.ping()
    sleepers = await _hold_every_connection(store)
    before = proxy.connections
    await asyncio.gather(store.ping(), keys.ping(), keys.ping(), store.ping())
    assert proxy.connections - before == 1
    await asyncio.gather(*sleepers)


async def test_a_ping_answered_late_is_an_answer(
    store: PostgresDocumentStore, proxy: PgProxy
) -> None:
    """The statement answered past the ping's wait (a loaded machine): up, connection kept."""
    await store.ping()
    before = proxy.connections
    proxy.delay(PING_SQL, PING_WAIT + 0.3)
    began = time.monotonic()
    await store.ping()
    assert time.monotonic() - began >= PING_WAIT + 0.3
    assert proxy.cuts == 1
    assert proxy.connections == before  # not cut and replaced


async def test_a_ping_whose_server_goes_silent_ends_within_its_wait(
    store: PostgresDocumentStore, proxy: PgProxy
) -> None:
    """The ping's statement is never answered: Unavailable once it is deemed silent; the pool mends.

    (Before, the ping waited as long as TCP would: /healthz said "down" for
    that long, whatever the database did meanwhile.)
    """
    await store.ping()
    proxy.hold(PING_SQL)
    began = time.monotonic()
    with pytest.raises(Unavailable):
        await asyncio.wait_for(store.ping(), timeout=10)
    took = time.monotonic() - began
    print(f"silent server: the ping gave up after {took:.3f} s")
    assert PING_WAIT + SILENT_AFTER <= took < PING_WAIT + SILENT_AFTER + 1.0
    assert proxy.cuts == 1
    await store.ping()  # the silent connection was cut, and another answers


async def test_a_ping_slow_while_writes_are_answered_is_up_within_its_wait(
    store: PostgresDocumentStore, proxy: PgProxy
) -> None:
    """The ping's statement answered late (a loaded machine, a server busy after a restart)
    while the store's writes are answered meanwhile: the database answers, and takes writes.
    The ping says so within its wait, not past /healthz's (which said "down": a balancer
    took out an instance whose every write succeeded; CI, after a restart under load).
    """
    await store.ping()
    proxy.delay(PING_SQL, PING_WAIT + 1.0)
    stop = asyncio.Event()
    written = 0

    async def writer() -> None:
        nonlocal written
        await put(store, '{"n": 0}', BLIND)
        while not stop.is_set():
            await put(store, '{"n": 1}', BLIND)
            written += 1
            await asyncio.sleep(0.02)

    writing = asyncio.ensure_future(writer())
    try:
        await asyncio.sleep(0.1)
        began = time.monotonic()
        await store.ping()
        took = time.monotonic() - began
    finally:
        stop.set()
        await writing
    print(f"ping with writes answered meanwhile: {took:.3f} s, {written} writes")
    assert took < PING_WAIT + 0.2
    assert written > 0
