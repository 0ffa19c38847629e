"""A keyed request cancelled while its answer is being recorded is still answered once.

A caller's timeout around the app (``asyncio.timeout``, a gateway's
deadline in the server) may expire just as the app returned, while the
ASGI key middleware records its answer in the store. The recording goes on
(the request's task is cancelled all the same): a resend with the same key
meanwhile is told 409 (in flight), one after it gets the answer replayed,
and the app's order is made once, even after the claim's lease: on Redis,
PostgreSQL and SQLAlchemy on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from httpconflict import mark_applied
from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy
from httpconflict.asgi.types import Message, Receive, Scope, Send
from httpconflict.storage.idempotency import IdempotencyStore, idempotency_store

ROUNDS = 16
#: How much later than the last one each round's request is cancelled, in seconds.
STEP = 0.0002
#: Short, so that a claim left in flight would be run again within the test.
LEASE = 0.5


def _scope(key: str) -> Scope:
    headers = [(b"host", b"test"), (b"content-type", b"application/json")]
    headers += [(b"content-length", b"2"), (b"idempotency-key", key.encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/orders",
        "raw_path": b"/orders",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


async def _ordered_once_each(store: IdempotencyStore) -> tuple[set[int], list[int], list[int]]:
    """Each round: a keyed order cancelled as the app returns (a little later each round), then
    its resend. The statuses of those resends, of resends past the lease, and the orders made
    under each key."""
    orders: collections.Counter[str] = collections.Counter()
    answered = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        key = dict(scope["headers"])[b"idempotency-key"].decode()
        await receive()
        orders[key] += 1
        mark_applied()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})
        answered.set()  # the test cancels the request now: its answer is being recorded

    keys = IdempotencyMiddleware(app, store=store, policy=IdempotencyPolicy(lease=LEASE))

    async def post(key: str, statuses: list[int]) -> None:
        async def receive() -> Message:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await keys(_scope(key), receive, send)

    at_once: list[int] = []
    cancelled = 0
    names = [f"cancelled-{uuid.uuid4().hex}" for _ in range(ROUNDS)]
    for steps, name in enumerate(names):
        answered.clear()
        request = asyncio.ensure_future(post(name, []))
        await answered.wait()
        await asyncio.sleep(steps * STEP)  # each round, further into the recording
        request.cancel()
        try:
            await request
        except asyncio.CancelledError:
            cancelled += 1
        await post(name, at_once)
    assert cancelled > 0, "no request was cancelled before its end"
    await asyncio.sleep(LEASE * 2)  # a claim left in flight would have lapsed by now
    later: list[int] = []
    for name in names:
        await post(name, later)
    return set(at_once), later, [orders[name] for name in names]


def _check(open_store: Callable[[], Any]) -> None:
    async def run() -> tuple[set[int], list[int], list[int]]:
        store = await open_store()
        try:
            return await _ordered_once_each(store)
        finally:
            await store.close()
            engine = getattr(store, "engine", None)  # SQLAlchemy's: its pool closed too
            if engine is not None:
                await engine.dispose()

    at_once, later, orders = asyncio.run(run())
    assert at_once <= {201, 409}
    assert (later, orders) == ([201] * ROUNDS, [1] * ROUNDS)


def test_on_redis(redis_server: str) -> None:
    """Redis: every resend after the lease replays 201, one order per key."""

    async def open_store() -> IdempotencyStore:
        return idempotency_store(redis_server)

    _check(open_store)


def test_on_postgresql(postgres_schema: str) -> None:
    """PostgreSQL's key store: every resend after the lease replays 201, one order per key."""

    async def open_store() -> IdempotencyStore:
        return idempotency_store(postgres_schema)

    _check(open_store)


def test_on_sqlalchemy(postgres_schema: str) -> None:
    """SQLAlchemy's key store on an async PostgreSQL engine: the same."""
    pytest.importorskip("sqlalchemy")
    from sqlalchemy.ext.asyncio import create_async_engine

    from httpconflict.sqlalchemy import SQLAlchemyIdempotencyStore

    async def open_store() -> Any:
        url = postgres_schema.replace("postgresql://", "postgresql+psycopg://", 1)
        return SQLAlchemyIdempotencyStore(create_async_engine(url))

    _check(open_store)
