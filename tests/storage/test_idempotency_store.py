"""One contract suite for every idempotency-key store: memory, SQLite, PostgreSQL, Redis.

And `httpconflict.sqlalchemy.SQLAlchemyIdempotencyStore` on an app's engine,
sync and async, on SQLite, PostgreSQL and MariaDB.

Each store is opened once for the module (its tables made once) and every
test uses a principal of its own (`who`), as two clients of one store are.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from httpconflict._idempotency import Completion, State, StoredResponse
from httpconflict.storage.idempotency import IdempotencyStore, idempotency_store

pytestmark = pytest.mark.anyio

ANSWER = StoredResponse(
    201,
    (("content-type", "application/json"), ("location", "/v1/orders/1")),
    b'{"id": 1}\n\x00\xff binary-safe',
)
FP = "a" * 64


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


SQLALCHEMY = ["sqlalchemy-sqlite", "sqlalchemy-postgres", "sqlalchemy-async-sqlite"]
SQLALCHEMY += ["sqlalchemy-async-postgres", "sqlalchemy-mariadb", "sqlalchemy-async-mariadb"]


@pytest.fixture(scope="module", params=["memory", "sqlite", "postgres", "redis", *SQLALCHEMY])
async def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[IdempotencyStore]:
    tmp_path = tmp_path_factory.mktemp("store")
    if request.param.startswith("sqlalchemy"):
        async for backend in _sqlalchemy_store(request, tmp_path):
            yield backend
        return
    if request.param == "memory":
        url = "memory"
    elif request.param == "sqlite":
        url = str(tmp_path / "keys.db")
    elif request.param == "postgres":
        url = request.getfixturevalue("postgres_module_schema")
    else:
        url = request.getfixturevalue("redis_server")
    backend = idempotency_store(url)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()


async def _sqlalchemy_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[IdempotencyStore]:
    """The keys in an app's own database, through its SQLAlchemy engine."""
    from sqlalchemy import Engine, create_engine
    from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

    from httpconflict.sqlalchemy import SQLAlchemyIdempotencyStore

    asynchronous = "-async-" in request.param
    if request.param.endswith("sqlite"):
        url = f"sqlite+{'aiosqlite' if asynchronous else 'pysqlite'}:///{tmp_path / 'app.db'}"
    elif request.param.endswith("mariadb"):
        url = request.getfixturevalue("mariadb_module_url")
        if asynchronous:
            url = url.replace("mysql+pymysql://", "mysql+aiomysql://", 1)
    else:
        schema: str = request.getfixturevalue("postgres_module_schema")
        url = schema.replace("postgresql://", "postgresql+psycopg://", 1)
    engine: Engine | AsyncEngine = create_async_engine(url) if asynchronous else create_engine(url)
    backend = SQLAlchemyIdempotencyStore(engine)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()
        if isinstance(engine, AsyncEngine):
            await engine.dispose()
        else:
            engine.dispose()


@pytest.fixture
def who() -> str:
    """A principal of this test only, so stores shared between tests never mix."""
    return f"principal-{uuid.uuid4().hex}"


def token() -> str:
    return uuid.uuid4().hex


async def test_claim_then_duplicate_sees_in_flight(store: IdempotencyStore, who: str) -> None:
    """The first claim wins; a second sees the key in flight with its fingerprint."""
    assert await store.claim(who, "k", FP, token(), now=time.time(), lease=30) is None
    live = await store.claim(who, "k", "b" * 64, token(), now=time.time(), lease=30)
    assert live is not None
    assert live.state is State.IN_FLIGHT
    assert live.fingerprint == FP
    assert live.response is None


async def test_complete_then_replay(store: IdempotencyStore, who: str) -> None:
    """A completed key returns the recorded answer, bytes and headers intact."""
    mine = token()
    await store.claim(who, "k", FP, mine, now=time.time(), lease=30)
    assert await store.complete(who, "k", mine, ANSWER, now=time.time(), retention=60)
    live = await store.claim(who, "k", FP, token(), now=time.time(), lease=30)
    assert live is not None
    assert live.state is State.COMPLETED
    assert live.response == ANSWER
    assert await store.get(who, "k", now=time.time()) == live


async def test_only_the_owner_completes_or_releases(store: IdempotencyStore, who: str) -> None:
    """Another token can neither complete nor release the claim."""
    mine = token()
    await store.claim(who, "k", FP, mine, now=time.time(), lease=30)
    assert not await store.complete(who, "k", token(), ANSWER, now=time.time(), retention=60)
    assert not await store.release(who, "k", token())
    live = await store.get(who, "k", now=time.time())
    assert live is not None
    assert live.state is State.IN_FLIGHT
    assert await store.release(who, "k", mine)
    assert await store.get(who, "k", now=time.time()) is None
    assert not await store.release(who, "k", mine)


async def test_release_lets_a_retry_claim(store: IdempotencyStore, who: str) -> None:
    """After a release (the handler failed) the key can be claimed again."""
    first = token()
    await store.claim(who, "k", FP, first, now=time.time(), lease=30)
    await store.release(who, "k", first)
    assert await store.claim(who, "k", FP, token(), now=time.time(), lease=30) is None


async def test_completed_key_cannot_be_released(store: IdempotencyStore, who: str) -> None:
    """Release only drops an in-flight claim, never a recorded answer."""
    mine = token()
    await store.claim(who, "k", FP, mine, now=time.time(), lease=30)
    await store.complete(who, "k", mine, ANSWER, now=time.time(), retention=60)
    assert not await store.release(who, "k", mine)
    assert not await store.complete(who, "k", mine, ANSWER, now=time.time(), retention=60)


async def test_expired_lease_is_taken_over(store: IdempotencyStore, who: str) -> None:
    """After the lease, a retry claims the key; the old owner can no longer complete."""
    old = token()
    await store.claim(who, "k", FP, old, now=time.time(), lease=0.2)
    await asyncio.sleep(0.3)
    new = token()
    assert await store.claim(who, "k", FP, new, now=time.time(), lease=30) is None
    assert not await store.complete(who, "k", old, ANSWER, now=time.time(), retention=60)
    assert await store.complete(who, "k", new, ANSWER, now=time.time(), retention=60)


async def test_a_renewed_claim_outlives_its_first_lease(store: IdempotencyStore, who: str) -> None:
    """Renewed before its lease ends, a claim holds past it; only its owner renews, only a claim."""
    # Renewed every 0.2 s, a lease of 0.8 s: a renewal fails only if the machine
    # stalls the test for 0.6 s (a lease of 0.4 s failed once on a loaded one).
    lease = 0.8
    mine = token()
    claimed = time.monotonic()
    await store.claim(who, "k", FP, mine, now=time.time(), lease=lease)
    while time.monotonic() - claimed < 1.25 * lease:
        await asyncio.sleep(0.2)
        assert await store.renew(who, "k", mine, now=time.time(), lease=lease)
    # Past its first lease: still in flight.
    live = await store.claim(who, "k", FP, token(), now=time.time(), lease=30)
    assert live is not None
    assert live.state is State.IN_FLIGHT
    assert not await store.renew(who, "k", token(), now=time.time(), lease=30)
    await asyncio.sleep(lease + 0.1)  # not renewed for a lease: a retry takes the key over
    new = token()
    assert await store.claim(who, "k", FP, new, now=time.time(), lease=30) is None
    assert not await store.renew(who, "k", mine, now=time.time(), lease=30)
    assert await store.complete(who, "k", new, ANSWER, now=time.time(), retention=60)
    assert not await store.renew(who, "k", new, now=time.time(), lease=30)


async def test_retention_expires(store: IdempotencyStore, who: str) -> None:
    """After the retention the key is gone and may name a new request."""
    mine = token()
    await store.claim(who, "k", FP, mine, now=time.time(), lease=30)
    await store.complete(who, "k", mine, ANSWER, now=time.time(), retention=0.2)
    await asyncio.sleep(0.3)
    assert await store.get(who, "k", now=time.time()) is None
    assert await store.claim(who, "k", "c" * 64, token(), now=time.time(), lease=30) is None
    await store.purge(now=time.time())


async def test_record_only_where_the_key_holds_nothing_live(
    store: IdempotencyStore, who: str
) -> None:
    """record() writes an answer where the key is free or expired; a live claim or answer stays."""
    now = time.time()
    assert await store.record(Completion(who, "k", FP, ANSWER, now, now + 60))
    assert not await store.record(Completion(who, "k", "b" * 64, ANSWER, now, now + 60))
    live = await store.get(who, "k", now=time.time())
    assert live is not None
    assert (live.state, live.fingerprint, live.response) == (State.COMPLETED, FP, ANSWER)
    assert await store.claim(who, "flying", FP, token(), now=now, lease=30) is None
    assert not await store.record(Completion(who, "flying", FP, ANSWER, now, now + 60))
    assert await store.claim(who, "lapsed", FP, token(), now=now, lease=0.1) is None
    await asyncio.sleep(0.2)
    later = time.time()
    assert await store.record(Completion(who, "lapsed", FP, ANSWER, later, later + 60))


async def test_concurrent_records_have_one_winner(store: IdempotencyStore, who: str) -> None:
    """Twenty simultaneous records of one key: exactly one is written."""
    now = time.time()
    records = (Completion(who, "k", f"{n:064d}", ANSWER, now, now + 60) for n in range(20))
    results = await asyncio.gather(*(store.record(each) for each in records))
    assert sum(results) == 1


async def test_principals_are_isolated(store: IdempotencyStore, who: str) -> None:
    """The same key from two principals names two requests."""
    assert await store.claim(who, "k", FP, token(), now=time.time(), lease=30) is None
    assert await store.claim(who + "-other", "k", FP, token(), now=time.time(), lease=30) is None
    # A principal and key that would spell the same pair if simply joined.
    assert await store.claim(who + ":k", "", FP, token(), now=time.time(), lease=30) is None


async def test_keys_and_principals_are_compared_exactly(store: IdempotencyStore, who: str) -> None:
    """Keys and principals differing in case, or in a trailing space, name other requests.

    (A case-insensitive or space-padding collation, MySQL's and MariaDB's
    default, would replay one caller's answer to another.)
    """
    for principal, key in ((who, "Order-1"), (who.upper(), "order-1"), (who + " ", "order-1 ")):
        assert await store.claim(principal, key, FP, token(), now=time.time(), lease=30) is None
    now = time.time()
    assert await store.record(Completion(who, "order-1", FP, ANSWER, now, now + 60))
    assert await store.get(who.upper(), "Order-1", now=time.time()) is None


async def test_a_large_answer_is_replayed_whole(store: IdempotencyStore, who: str) -> None:
    """A 1 MiB body and 100 KiB of headers come back byte for byte (MySQL's BLOB holds 64 KiB)."""
    big = StoredResponse(200, (("etag", '"' + "e" * 100_000 + '"'),), bytes(range(256)) * 4096)
    now = time.time()
    assert await store.record(Completion(who, "big", FP, big, now, now + 60))
    live = await store.get(who, "big", now=time.time())
    assert live is not None
    assert live.response == big


async def test_concurrent_claims_have_one_winner(store: IdempotencyStore, who: str) -> None:
    """Twenty simultaneous claims of one key: exactly one wins."""
    now = time.time()
    results = await asyncio.gather(
        *(store.claim(who, "k", FP, token(), now=now, lease=30) for _ in range(20))
    )
    assert sum(r is None for r in results) == 1


async def test_purge_removes_expired(store: IdempotencyStore, who: str) -> None:
    """purge() deletes expired records and keeps live ones."""
    await store.claim(who, "old", FP, token(), now=time.time(), lease=0.1)
    await store.claim(who, "live", FP, token(), now=time.time(), lease=30)
    await asyncio.sleep(0.2)
    await store.purge(now=time.time())
    assert await store.get(who, "old", now=time.time()) is None
    assert await store.get(who, "live", now=time.time()) is not None


async def test_a_store_that_answers_pings(store: IdempotencyStore) -> None:
    """ping() returns, raising nothing, while the store answers (what /healthz asks)."""
    await store.ping()
