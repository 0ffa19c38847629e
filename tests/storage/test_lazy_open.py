"""Every idempotency store opens itself on its first call: no start-up hook is needed."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from httpconflict import Unavailable
from httpconflict.storage.idempotency import IdempotencyStore, idempotency_store

pytestmark = pytest.mark.anyio

FP = "a" * 64


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", "sqlite", "postgres", "redis"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite":
        return str(tmp_path / "keys.db")
    fixture = {"postgres": "postgres_schema", "redis": "redis_server"}[request.param]
    return str(request.getfixturevalue(fixture))


def token() -> str:
    return uuid.uuid4().hex


async def claim_all(store: IdempotencyStore, who: str, n: int) -> list[bool]:
    claims = [
        store.claim(who, f"k{i % 5}", FP, token(), now=time.time(), lease=30) for i in range(n)
    ]
    return [found is None for found in await asyncio.gather(*claims)]


async def test_concurrent_first_calls_work_without_open(url: str) -> None:
    """20 first calls at once on a store nobody opened: each key is claimed exactly once."""
    store = idempotency_store(url)
    try:
        won = await claim_all(store, f"p-{uuid.uuid4().hex}", 20)
        assert sum(won) == 5
    finally:
        await store.close()


async def test_open_is_optional_and_idempotent(url: str) -> None:
    """open() twice, then calls: the same store, opened once."""
    store = idempotency_store(url)
    try:
        await store.open()
        await store.open()
        who = f"p-{uuid.uuid4().hex}"
        assert await store.claim(who, "k", FP, token(), now=time.time(), lease=30) is None
        await store.ping()
    finally:
        await store.close()


async def test_a_closed_store_opens_again_on_its_next_call(url: str) -> None:
    """After close() (a lifespan that ended), the next call reopens; the keys are still there."""
    store = idempotency_store(url)
    who = f"p-{uuid.uuid4().hex}"
    mine = token()
    await store.claim(who, "k", FP, mine, now=time.time(), lease=30)
    await store.close()
    try:
        live = await store.get(who, "k", now=time.time())
        assert url == "memory" or live is not None  # memory forgets on close, as it always did
    finally:
        await store.close()


async def test_an_unreachable_postgres_is_a_503_and_tried_again() -> None:
    """A database that refuses at the first call: Unavailable (a 503), not a driver error."""
    store = idempotency_store("postgresql://postgres@127.0.0.1:1/test")
    for _ in range(2):  # the failure is not remembered: each call tries again
        with pytest.raises(Unavailable):
            await store.claim("p", "k", FP, token(), now=time.time(), lease=30)
    await store.close()
