"""A SQLite COMMIT that fails leaves its transaction open: the pool must not hand it on.

SQLite keeps the transaction active when its COMMIT fails for SQLITE_BUSY
(a reader holds the file: "the COMMIT can be retried later") or a deferred
foreign key. SQLAlchemy counts the COMMIT as the transaction's end and
pools the connection without a ROLLBACK, so the next session on it went on
inside that transaction and committed the failed write with its own: a
write whose request was answered an error (503 or 504) applied by another
request later. With ``httpconflict.sqlalchemy``'s hooks (added by its
import, or for every watched request by the key middlewares) the pool
rolls such a transaction back as the connection returns to it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import httpconflict.sqlalchemy  # noqa: F401  # the hooks


def _table(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (n INTEGER NOT NULL)")


def _reader(path: Path) -> sqlite3.Connection:
    """A connection reading in a transaction: its SHARED lock keeps any COMMIT out (no WAL)."""
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM t").fetchall()
    return reader


def _rows(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [n for (n,) in conn.execute("SELECT n FROM t ORDER BY rowid")]


def test_a_busy_commit_is_not_committed_by_the_next_session(tmp_path: Path) -> None:
    """COMMIT busy, the session closed; the next session's COMMIT is its own write alone.

    Before: [1, 2], the failed write committed by the next session.
    """
    path = tmp_path / "busy.db"
    _table(path)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.2}, pool_size=1)
    try:
        reader = _reader(path)
        failed = Session(engine)
        failed.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(OperationalError, match="locked"):
            failed.commit()
        failed.close()  # as a request's teardown does, without a rollback of its own
        reader.execute("COMMIT")
        reader.close()
        with Session(engine) as next_one:  # the same pooled connection (pool_size=1)
            next_one.execute(text("INSERT INTO t VALUES (2)"))
            next_one.commit()
    finally:
        engine.dispose()
    assert _rows(path) == [2]


def test_a_busy_commit_on_aiosqlite_is_not_committed_by_the_next_session(tmp_path: Path) -> None:
    """The same with an AsyncEngine on aiosqlite. Before: [1, 2]."""
    pytest.importorskip("aiosqlite")
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    path = tmp_path / "busy-async.db"
    _table(path)

    async def run() -> None:
        engine = create_async_engine(
            f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.2}, pool_size=1
        )
        try:
            reader = _reader(path)
            failed = AsyncSession(engine)
            await failed.execute(text("INSERT INTO t VALUES (1)"))
            with pytest.raises(OperationalError, match="locked"):
                await failed.commit()
            await failed.close()
            reader.execute("COMMIT")
            reader.close()
            async with AsyncSession(engine) as next_one:
                await next_one.execute(text("INSERT INTO t VALUES (2)"))
                await next_one.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())
    assert _rows(path) == [2]


def test_a_transaction_ended_in_the_session_is_left_alone(tmp_path: Path) -> None:
    """A COMMIT that worked, a ROLLBACK the app made: nothing more is rolled back."""
    path = tmp_path / "fine.db"
    _table(path)
    engine = create_engine(f"sqlite:///{path}", pool_size=1)
    try:
        with Session(engine) as kept:
            kept.execute(text("INSERT INTO t VALUES (1)"))
            kept.commit()
        with Session(engine) as dropped:
            dropped.execute(text("INSERT INTO t VALUES (2)"))
            dropped.rollback()
        with engine.connect() as conn, conn.begin():  # committed as the block ends
            conn.execute(text("INSERT INTO t VALUES (3)"))
    finally:
        engine.dispose()
    assert _rows(path) == [1, 3]
