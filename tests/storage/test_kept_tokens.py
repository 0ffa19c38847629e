"""KeptTokens beside a real document store (SQLite, PostgreSQL): what a worker keeps, how long.

The operator's commands run on a store of their own (another connection),
as `httpconflict token` does; the clock is the test's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from httpconflict.storage import document_store
from httpconflict.storage.tokens import (
    ApiToken,
    TokenStore,
    new_token,
    token_hash,
    token_hint,
    token_store,
)
from httpconflict.storage.tokens.kept import KeptTokens

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Stores:
    kept: KeptTokens
    operator: TokenStore
    clock: Clock


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "service.db")
    schema: str = request.getfixturevalue("postgres_schema")
    return schema


@pytest.fixture
async def stores(url: str) -> AsyncIterator[Stores]:
    documents = document_store(url)
    await documents.open()
    clock = Clock()
    kept = KeptTokens(token_store(url, documents=documents), lifetime=1.0, clock=clock)
    await kept.open()
    operator = token_store(url)
    await operator.open()
    try:
        yield Stores(kept, operator, clock)
    finally:
        await operator.close()
        await kept.close()
        await documents.close()


async def _create(store: TokenStore, name: str) -> str:
    secret = new_token()
    await store.create(ApiToken(name, ("writer",), 1.0, token_hint(secret)), token_hash(secret))
    return token_hash(secret)


async def test_a_valid_token_is_kept_for_its_lifetime_and_no_longer(stores: Stores) -> None:
    """Revoked elsewhere: still taken 0.9 s after the lookup that kept it, refused at 1.0 s."""
    hashed = await _create(stores.operator, "ci")
    found = await stores.kept.find(hashed)
    assert found is not None
    assert (found.name, found.roles) == ("ci", ("writer",))
    assert await stores.operator.revoke("ci", now=2.0)
    stores.clock.now += 0.9
    assert await stores.kept.find(hashed) == found
    stores.clock.now += 0.1
    assert await stores.kept.find(hashed) is None
    # And it stays refused: nothing refused is kept or comes back.
    stores.clock.now += 5
    assert await stores.kept.find(hashed) is None


async def test_a_refusal_is_never_kept(stores: Stores) -> None:
    """A hash unknown a moment ago is found as soon as the token is made, without waiting."""
    secret = new_token()
    assert await stores.kept.find(token_hash(secret)) is None
    await stores.operator.create(ApiToken("late", (), 1.0, token_hint(secret)), token_hash(secret))
    found = await stores.kept.find(token_hash(secret))
    assert found is not None
    assert found.name == "late"


async def test_revoking_through_the_worker_forgets_at_once(stores: Stores) -> None:
    """A revoke made through the kept store itself holds on its very next lookup."""
    hashed = await _create(stores.operator, "own")
    assert await stores.kept.find(hashed) is not None
    assert await stores.kept.revoke("own", now=2.0)
    assert await stores.kept.find(hashed) is None


async def test_the_memory_is_bounded(url: str, stores: Stores) -> None:
    """Past `size` tokens the least recently used is forgotten: a revoke holds for it at once."""
    small = KeptTokens(token_store(url), lifetime=1.0, size=2, clock=stores.clock)
    await small.open()
    try:
        hashes = [await _create(stores.operator, f"t{n}") for n in range(3)]
        for hashed in hashes:
            assert await small.find(hashed) is not None
        for n in range(3):
            assert await stores.operator.revoke(f"t{n}", now=2.0)
        # t0 left the memory when t2 came; t1 and t2 are still kept.
        assert [await small.find(hashed) is not None for hashed in hashes] == [False, True, True]
    finally:
        await small.close()
