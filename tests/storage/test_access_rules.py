"""A collection's access rules in the store, SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from httpconflict._access import AccessRules
from httpconflict.storage import DocumentStore, document_store

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    schema: str = request.getfixturevalue("postgres_schema")
    return schema


@pytest.fixture
async def store(url: str) -> AsyncIterator[DocumentStore]:
    backend = document_store(url)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()


async def test_rules_are_kept_replaced_and_cleared(store: DocumentStore, url: str) -> None:
    """Set, replace and clear a collection's rules; another collection's stay; they persist."""
    first = AccessRules(read=frozenset({"role:staff"}), admin=frozenset({"jwt:alice"}))
    second = AccessRules(write=frozenset({"authenticated"}))
    assert await store.access_rules("orders") is None
    await store.set_access_rules("orders", first)
    await store.set_access_rules("invoices", first)
    assert await store.access_rules("orders") == first
    await store.set_access_rules("orders", second)
    assert await store.access_rules("orders") == second
    await store.set_access_rules("orders", None)
    assert await store.access_rules("orders") is None
    await store.set_access_rules("orders", None)
    again = document_store(url)
    await again.open()
    try:
        assert await again.access_rules("invoices") == first
    finally:
        await again.close()
