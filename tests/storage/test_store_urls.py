"""`idempotency_store` takes the URL an app already has for its database, SQLAlchemy's too.

A Flask-SQLAlchemy app's ``SQLALCHEMY_DATABASE_URI`` (the RealWorld Flask
app's, many others') names its driver: ``postgresql+psycopg2://...``, an
async app's ``postgresql+asyncpg://...``. Given to `idempotency_store` as
the key store beside the app's rows, it was "unsupported idempotency store
URL", and a MySQL one said no more. The driver part is now dropped (the
store uses its own), and MySQL names the store that serves it.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from httpconflict.storage.idempotency import idempotency_store

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg", "asyncpg", "pg8000"])
async def test_a_sqlalchemy_postgres_url_names_the_database(
    postgres_schema: str, driver: str
) -> None:
    url = postgres_schema.replace("postgresql://", f"postgresql+{driver}://", 1)
    assert url != postgres_schema
    store = idempotency_store(url)
    try:
        key, who = uuid.uuid4().hex, f"p-{uuid.uuid4().hex}"
        first = await store.claim(who, key, "a" * 64, "t1", now=time.time(), lease=30)
        second = await store.claim(who, key, "a" * 64, "t2", now=time.time(), lease=30)
        assert first is None  # one claim: the same table
        assert second is not None
    finally:
        await store.close()


async def test_a_sqlalchemy_sqlite_url_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    store = idempotency_store(f"sqlite+pysqlite:///{path}")
    try:
        assert await store.claim("p", "k", "a" * 64, "t", now=time.time(), lease=30) is None
    finally:
        await store.close()
    assert path.exists()


@pytest.mark.parametrize("url", ["mysql+pymysql://root@127.0.0.1/test", "mariadb://h/db"])
def test_a_mysql_url_names_the_store_that_serves_it(url: str) -> None:
    with pytest.raises(ValueError, match="SQLAlchemyIdempotencyStore"):
        idempotency_store(url)
