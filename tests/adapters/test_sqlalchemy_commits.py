"""SQLAlchemy's commits reach the request that made them (`httpconflict.sqlalchemy._commits`).

Against a real PostgreSQL, through a proxy that can cut the answer to a
COMMIT: a transaction that only read is no write; one that wrote counts
once it committed; one whose COMMIT's answer was lost does not (its
outcome is the lost connection's: a 504 already). The same through an
`AsyncEngine`, whose events run in the awaiting task's context.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

sa = pytest.importorskip("sqlalchemy")
pytest.importorskip("psycopg")

import httpconflict.sqlalchemy  # noqa: E402, F401  # its import installs the listeners
from httpconflict._request_writes import watching_writes  # noqa: E402
from tests.pg_proxy import PgProxy, pg_proxy  # noqa: E402


@pytest.fixture
def proxied(postgres_server: str) -> Iterator[tuple[PgProxy, str, str]]:
    """The proxy, the SQLAlchemy URL through it, and a table of the test's own."""
    table = f"hc_exactly6_{uuid.uuid4().hex[:8]}"
    with pg_proxy(postgres_server) as proxy:
        url = proxy.url(postgres_server).replace("postgresql://", "postgresql+psycopg://")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {table} (n int)"))
        try:
            yield proxy, url, table
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP TABLE {table}"))
            engine.dispose()


def test_reads_writes_and_a_lost_commit(proxied: tuple[PgProxy, str, str]) -> None:
    """A read commits nothing; a write counts once committed; a COMMIT lost does not count."""
    proxy, url, table = proxied
    engine = sa.create_engine(url)
    insert = sa.text(f"INSERT INTO {table} VALUES (1)")
    try:
        with watching_writes() as request:
            with engine.begin() as conn:
                conn.execute(sa.text(f"SELECT n FROM {table}"))
            assert request.committed == 0
            with engine.begin() as conn:
                conn.execute(insert)
            with engine.begin() as conn:
                conn.execute(sa.text("SELECT 1"))
            assert request.committed == 1
        with watching_writes() as request:
            proxy.cut_answer_to(b"COMMIT")
            with pytest.raises(sa.exc.OperationalError), engine.begin() as conn:
                conn.execute(insert)
            assert (proxy.cuts, request.committed) == (1, 0)
        with engine.begin() as conn:  # outside a request: counted nowhere, and no error
            conn.execute(insert)
    finally:
        engine.dispose()


def test_an_async_engine_counts_for_the_awaiting_task(proxied: tuple[PgProxy, str, str]) -> None:
    """An AsyncEngine's commit counts for the request whose task awaited it, not another's."""
    from sqlalchemy.ext.asyncio import create_async_engine

    _, url, table = proxied

    async def main() -> tuple[int, int]:
        engine = create_async_engine(url)

        async def request(write: bool) -> int:
            with watching_writes() as record:
                async with engine.begin() as conn:
                    sql = f"INSERT INTO {table} VALUES (2)" if write else "SELECT 1"
                    await conn.execute(sa.text(sql))
                return record.committed

        try:
            wrote, read = await asyncio.gather(request(True), request(False))
        finally:
            await engine.dispose()
        return wrote, read

    assert asyncio.run(main()) == (1, 0)
