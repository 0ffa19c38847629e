"""`httpconflict.sqlalchemy.record_answer`: a keyed answer recorded in the app's own transaction.

On a real SQLite file, the real PostgreSQL and the real MariaDB, with sync and async
sessions: the key's row commits or rolls back with the side effect, the
claim counts as completed only once it has committed, and a second
request recording under the same key loses (`IdempotencyKeyTaken`, and its
side effect is rolled back), also while the first is still in its
transaction. And the example apps, in process: a refusal the app did not
record is recorded by the middleware in the same table.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    inspect,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from httpconflict import IdempotencyKeyTaken
from httpconflict._idempotency import State
from httpconflict._idempotency_request import CLAIM_KEY, KeyedRequest, active_claim
from httpconflict._request_writes import watching_writes
from httpconflict.asgi import IdempotencyPolicy
from httpconflict.sqlalchemy import (
    SQLAlchemyIdempotencyStore,
    arecord_answer,
    idempotency_keys_table,
    record_answer,
)

METADATA = MetaData()
ORDERS = Table(
    "orders",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("item", String(40), nullable=False),
)
KEYS = idempotency_keys_table(METADATA)
TRANSACTIONAL = IdempotencyPolicy(transactional=True)
HEADERS = {"Content-Type": "application/json", "Location": "/v1/orders/1", "Set-Cookie": "s=1"}


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLAlchemy URL: a SQLite file, a fresh PostgreSQL schema, or a fresh MariaDB database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    if request.param == "mariadb":
        mariadb: str = request.getfixturevalue("mariadb_url")
        return mariadb
    schema: str = request.getfixturevalue("postgres_schema")
    return schema.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    made = create_engine(url)
    METADATA.create_all(made)
    yield made
    made.dispose()


def claim(key: str = "order-1", policy: IdempotencyPolicy = TRANSACTIONAL) -> KeyedRequest:
    """The request a middleware would leave in the scope, as the app finds it there."""
    scope: dict[str, Any] = {"headers": []}
    request = KeyedRequest.begin(policy, scope, "POST", "/v1/orders", key, b"{}", now=time.time())
    scope[CLAIM_KEY] = request
    return request


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        orders = connection.execute(select(func.count()).select_from(ORDERS)).scalar_one()
        keys = connection.execute(select(func.count()).select_from(KEYS)).scalar_one()
    return orders, keys


def order(session: Session, mine: KeyedRequest | None) -> None:
    session.execute(ORDERS.insert().values(item="tea"))
    record_answer(session, mine, 201, HEADERS, b'{"id": 1}')


def ordering(
    engine: Engine, mine: KeyedRequest, ready: Callable[[], object], outcomes: list[Any]
) -> threading.Thread:
    """A started thread ordering under `mine` once `ready()` returns (error or None: `outcomes`)."""

    def run() -> None:
        ready()
        try:
            with Session(engine) as session, session.begin():
                order(session, mine)
        except BaseException as error:  # handed to the test's thread
            outcomes.append(error)
        else:
            outcomes.append(None)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_the_key_commits_with_the_side_effect(engine: Engine) -> None:
    """Committed: the order and its key; the claim is completed only after the commit."""
    mine = claim()
    with Session(engine) as session:
        order(session, mine)
        assert not mine.completed
        session.commit()
    assert mine.completed
    assert not mine.taken
    assert counts(engine) == (1, 1)


def test_a_rollback_takes_the_key_with_it(engine: Engine) -> None:
    """Rolled back (or closed without a commit): neither row, and the claim is not completed."""
    rolled, closed = claim("a"), claim("b")
    with Session(engine) as session:
        order(session, rolled)
        session.rollback()
        order(session, closed)
    assert not rolled.completed
    assert not closed.completed
    assert counts(engine) == (0, 0)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_recorded_answer_is_what_the_store_replays(engine: Engine) -> None:
    """The middleware's store reads the answer back: status, allowed headers, body."""
    mine = claim()
    with Session(engine) as session, session.begin():
        order(session, mine)
    live = await SQLAlchemyIdempotencyStore(engine).get(mine.principal, mine.key, now=time.time())
    assert live is not None
    assert live.response is not None
    assert (live.state, live.fingerprint) == (State.COMPLETED, mine.fingerprint)
    assert live.response.status == 201
    assert dict(live.response.headers) == {
        "content-type": "application/json",
        "location": "/v1/orders/1",
    }
    assert live.response.body == b'{"id": 1}'


def test_without_a_key_or_a_transactional_policy_nothing_is_recorded(engine: Engine) -> None:
    """No claim, or the generic policy (the middleware records then): no key row."""
    generic = claim(policy=IdempotencyPolicy())
    assert active_claim({CLAIM_KEY: generic}) is None
    with Session(engine) as session, session.begin():
        order(session, None)
        order(session, generic)
    assert counts(engine) == (2, 0)


def test_a_second_record_under_the_key_loses_and_rolls_back(engine: Engine) -> None:
    """A retry's attempt: IdempotencyKeyTaken, claim.taken, its order rolled back."""
    with Session(engine) as session, session.begin():
        order(session, claim())
    retry = claim()
    with pytest.raises(IdempotencyKeyTaken), Session(engine) as session, session.begin():
        order(session, retry)
    assert retry.taken
    assert not retry.completed
    assert counts(engine) == (1, 1)


def test_a_duplicate_waits_for_the_first_transaction_then_loses(engine: Engine) -> None:
    """The first still in its transaction: the duplicate's record waits for it, then loses."""
    first, duplicate = claim(), claim()
    recorded = threading.Event()
    outcome: list[BaseException | None] = []
    thread = ordering(engine, duplicate, recorded.wait, outcome)
    with Session(engine) as session, session.begin():
        order(session, first)
        recorded.set()
        time.sleep(0.5)  # the duplicate is at its INSERT (PostgreSQL, MariaDB) or its lock (SQLite)
    thread.join(30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], IdempotencyKeyTaken)
    assert first.completed
    assert duplicate.taken
    assert counts(engine) == (1, 1)


def test_eight_transactions_recording_one_key_commit_once(engine: Engine) -> None:
    """8 threads, each ordering and recording under one key at once: one commits, 7 lose."""
    start = threading.Barrier(8)
    outcomes: list[BaseException | None] = []
    threads = [ordering(engine, claim(), start.wait, outcomes) for _ in range(8)]
    for thread in threads:
        thread.join(60)
    assert outcomes.count(None) == 1
    assert all(isinstance(each, IdempotencyKeyTaken) for each in outcomes if each is not None)
    assert counts(engine) == (1, 1)


def test_a_duplicate_records_when_the_first_rolls_back(engine: Engine) -> None:
    """The first, still in its transaction, rolls back: the duplicate waited, then records."""
    first, duplicate = claim(), claim()
    recorded = threading.Event()
    outcome: list[BaseException | None] = []
    thread = ordering(engine, duplicate, recorded.wait, outcome)
    with Session(engine) as session:
        order(session, first)
        recorded.set()
        time.sleep(0.5)
        session.rollback()
    thread.join(30)
    assert outcome == [None]
    assert not first.completed
    assert duplicate.completed
    assert not duplicate.taken
    assert counts(engine) == (1, 1)


def test_a_duplicate_that_read_before_the_first_committed_loses(engine: Engine) -> None:
    """The duplicate's transaction read before the first committed: it still sees the key taken.

    (Under REPEATABLE READ, MySQL's and MariaDB's default, a plain read
    would show the duplicate its older snapshot, without the first's row.)
    """
    first, duplicate = claim(), claim()
    with Session(engine) as late:
        late.execute(select(func.count()).select_from(KEYS)).scalar_one()  # its snapshot
        with Session(engine) as session, session.begin():
            order(session, first)
        with pytest.raises(IdempotencyKeyTaken):
            order(late, duplicate)
        late.rollback()
    assert first.completed
    assert duplicate.taken
    assert counts(engine) == (1, 1)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_async_session_records_in_its_transaction(url: str, engine: Engine) -> None:
    """`arecord_answer` on an AsyncSession: the same row, the same loser."""
    async_url = url.replace("sqlite:", "sqlite+aiosqlite:", 1).replace("+pymysql:", "+aiomysql:", 1)
    made = create_async_engine(async_url)
    mine, retry = claim(), claim()
    try:
        for request in (mine, retry):
            try:
                async with AsyncSession(made) as session, session.begin():
                    await session.execute(ORDERS.insert().values(item="tea"))
                    await arecord_answer(session, request, 201, HEADERS, b"{}")
            except IdempotencyKeyTaken:
                pass
    finally:
        await made.dispose()
    assert mine.completed
    assert retry.taken
    assert not retry.completed
    assert counts(engine) == (1, 1)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_stores_opening_at_once_on_a_fresh_database_all_open(url: str) -> None:
    """8 workers' stores open at once where the table is missing: each opens, one table."""
    engines = [create_engine(url) for _ in range(8)]
    try:
        for _ in range(3):
            await asyncio.gather(*(SQLAlchemyIdempotencyStore(e).open() for e in engines))
        with engines[0].connect() as connection:
            assert inspect(connection).has_table("idempotency_keys")
    finally:
        for made in engines:
            made.dispose()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_store_s_own_statements_are_not_the_request_s(postgres_schema: str) -> None:
    """The key store's claim (an INSERT) on an AsyncEngine, before and inside the request's
    watch, is not a write the request sent nor committed: its connection lost at a SELECT is
    still a 503."""
    made = create_async_engine(postgres_schema.replace("postgresql://", "postgresql+psycopg://"))
    store = SQLAlchemyIdempotencyStore(made)

    async def claim_then_watch() -> tuple[int, int, int]:
        now = time.time()
        await store.claim("p", "before", "f", "t1", now=now, lease=30)
        with watching_writes() as record:
            first = record.sent
            await store.claim("p", "inside", "f", "t2", now=now, lease=30)
            return first, record.sent, record.committed

    try:
        sent = await asyncio.create_task(claim_then_watch(), context=contextvars.Context())
    finally:
        await made.dispose()
    assert sent == (0, 0, 0)
