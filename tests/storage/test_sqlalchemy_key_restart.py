"""The SQLAlchemy key store across a restart of its database server, down past the lease.

A keyed request claimed its key (a one-second lease) and ran; the key
store's server went down before its answer was recorded, so the record
waits in its process's backlog, and stays down past the lease. Right
after the server is back, a resend reaches another instance before that
backlog has written the record.

Before: the resend's claim took the expired claim over and the request
ran a second time. Now, as on the PostgreSQL key store, for one lease
after the server started an expired claim in flight is still in flight
(the middleware answers 409 with Retry-After), the backlog's record then
wins, and the resend is replayed it; a claim nobody completes is taken
over once the server has run for a lease. `purge` leaves such claims.
Private servers (PostgreSQL, MariaDB), each stopped and started again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest
from sqlalchemy import create_engine

from httpconflict._idempotency import Completion, StoredResponse
from httpconflict.sqlalchemy import SQLAlchemyIdempotencyStore
from tests.private_mariadb import PrivateMariaDB
from tests.private_postgres import PrivatePostgres

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FP = "f" * 64
LEASE = 1.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["postgres", "mariadb"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, Callable[[], None]]]:
    """A private server's SQLAlchemy URL, and a restart: down past the lease, then up."""
    if request.param == "postgres":
        postgres: PrivatePostgres = request.getfixturevalue("private_postgres")

        def restart_postgres() -> None:
            postgres.stop()
            time.sleep(LEASE * 1.5)
            postgres.start()

        url = postgres.url.replace("postgresql://", "postgresql+psycopg://", 1)
        yield url, restart_postgres
        return
    pytest.importorskip("pymysql")
    mariadb: PrivateMariaDB = request.getfixturevalue("private_mariadb_server")

    def restart_mariadb() -> None:
        mariadb.stop()
        time.sleep(LEASE * 1.5)
        mariadb.run()

    import pymysql

    with pymysql.connect(**mariadb.connection) as conn, conn.cursor() as cursor:
        cursor.execute("CREATE DATABASE app")
    yield f"mysql+pymysql://root@127.0.0.1:{mariadb.port}/app", restart_mariadb


@pytest.mark.parametrize("slow_start", [False, True], ids=["start", "slow-start"])
async def test_a_claim_outlives_a_restart_by_a_lease(
    server: tuple[str, Callable[[], None]], slow_start: bool
) -> None:
    """`slow_start`: the resend comes more than a lease after the server started, as to a
    server that took that long to take connections (crash recovery; a MariaDB on a loaded
    machine took more than the one-second lease, and the quarantine ended unseen)."""
    url, restart_only = server

    def restart() -> None:
        restart_only()
        if slow_start:
            time.sleep(LEASE * 1.5)

    # Two instances, each with its engine; a connection checked out after the restart is new.
    engines = [create_engine(url, pool_pre_ping=True) for _ in "ab"]
    try:
        first, other = (SQLAlchemyIdempotencyStore(engine) for engine in engines)
        await _resend_after_restart(first, other, restart)
    finally:
        for engine in engines:
            engine.dispose()


async def _resend_after_restart(
    first: SQLAlchemyIdempotencyStore,
    other: SQLAlchemyIdempotencyStore,
    restart: Callable[[], None],
) -> None:
    key = uuid.uuid4().hex
    assert await first.claim("p", key, FP, "first", now=time.time(), lease=LEASE) is None
    kept = uuid.uuid4().hex  # a claim nobody will complete
    assert await first.claim("p", kept, FP, "lost", now=time.time(), lease=LEASE) is None
    await other.open()
    restart()  # the request ran meanwhile; its answer waits in its process's backlog

    held = await other.claim("p", key, FP, "resent", now=time.time(), lease=LEASE)
    assert held is not None
    assert held.response is None  # in flight: 409, come back later
    assert await other.purge(now=time.time()) == 0  # a held claim is not purged
    # The backlog writes the record; the resend is replayed it.
    answer = StoredResponse(201, (("content-type", "application/json"),), b'{"order":1}')
    now = time.time()
    completion = Completion("p", key, FP, answer, now=now, expires_at=now + 60)
    assert await first.record(completion)
    replayed = await other.claim("p", key, FP, "resent", now=time.time(), lease=LEASE)
    assert replayed is not None
    assert replayed.response == answer

    # Once the server has run for a lease, a claim nobody completed is taken over.
    await anyio.sleep(LEASE)
    assert await other.claim("p", kept, FP, "later", now=time.time(), lease=LEASE) is None


def test_a_start_read_within_the_uptimes_second_after_a_broken_connection_is_a_restart(
    tmp_path: Path,
) -> None:
    """MySQL's uptime counts whole seconds of the server's clock, so one start read twice may
    differ by a second either way; a MariaDB restarted 1.6 s after its start read as that start
    (972.439, then 973.062 at 974.062: uptime 1), and the expired claim was taken over at once.
    A start read after the pool found a connection broken is a restart."""
    engine = create_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    store = SQLAlchemyIdempotencyStore(engine)
    assert store._answering_since(972.439, 972.439) == 972.439  # the first start met
    assert store._answering_since(972.9, 973.0) == 972.439  # the same, read again
    with engine.connect() as connection:
        connection.invalidate()  # what a restart does to every connection
    assert store._answering_since(973.062, 974.062) == 974.062  # a restart: held from now
    assert store._answering_since(973.5, 974.5) == 974.062  # that restart, read again
