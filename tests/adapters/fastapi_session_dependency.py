"""A FastAPI app whose SQLAlchemy session is a ``yield`` dependency, as FastAPI's docs show.

FastAPI runs the exit of a ``yield`` dependency (its default scope,
"request") after the answer was sent: the session's close, or its COMMIT
when the dependency commits (``async with session.begin(): yield
session``), comes after the client has the answer. ``Depends(...,
scope="function")`` runs it before.

- ``GET /count``: the counter, read through the session;
- ``POST /increment``: one increment, answered 200 with the count;
- ``POST /increment-then-end`` and ``GET /count-then-end``: the same, after which the
  view ends its own PostgreSQL connection (``pg_terminate_backend``), as a
  restart or a failover does between a view and its dependency's exit;
- ``POST /names``: inserts the name ``taken`` again, which a deferred unique constraint
  refuses at COMMIT (in the dependency's exit, when it commits there);
- ``GET /counter`` and ``PUT /counter``: a pure counter, ``{"n": n}`` with its row's ETag,
  written with If-Match (`httpconflict.sqlalchemy.aversioned_update`), the PUT's answer
  read back after its commit, as ``session.refresh(row)`` does;
- ``GET /healthz`` touches no database.

A POST with an Idempotency-Key is run once per key (`IdempotencyMiddleware`, keys in
memory): added after ``install``, as the docs show (outside its middleware), or, with
``KEYS_INSIDE=1``, given to ``FastAPI(middleware=[...])`` (inside it).

Served by ``create`` from the environment: ``SESSION_DATABASE`` (a
``postgresql://`` URL, served through asyncpg), ``COMMIT_IN_EXIT=1`` (the
dependency commits as it exits; otherwise the view commits),
``DEPENDENCY_SCOPE`` ("request" or "function"; "function" needs FastAPI 0.121,
`SCOPES_TAKEN`), ``SESSION_KIND`` ("async", the
default, or "sync": the same app with a sync ``Session`` in a sync dependency and sync
views, `fastapi_sync_session`).
"""

# (No `from __future__ import annotations`: FastAPI reads the views' annotations, which
# name the local `Session`.)
import inspect
import os
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal, cast

import psycopg
from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from starlette.middleware import Middleware

import httpconflict.sqlalchemy  # noqa: F401  # the hooks that count commits
from httpconflict.asgi.idempotency import IdempotencyMiddleware
from httpconflict.fastapi import Preconditions, install
from httpconflict.sqlalchemy import aversioned_update, version_etag
from httpconflict.storage.idempotency import idempotency_store

TABLE = "session_counter"

#: The pure counter written with If-Match: one row, its version the ETag.
counters = Table(
    "session_counters",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    Column("version", Integer, nullable=False),
)


#: Whether this FastAPI takes ``Depends(..., scope=)`` (0.121 on). Before it, a ``yield``
#: dependency has the default scope alone; it exited before the answer from 0.106 to 0.117.
SCOPES_TAKEN = "scope" in inspect.signature(Depends).parameters


def session_dependency(session: Callable[..., Any], scope: str) -> Any:
    """``Depends(session)`` in `scope`: the default one ("request") is named only where taken."""
    if scope == "request" and not SCOPES_TAKEN:
        return Depends(session)
    return Depends(session, scope=cast(Literal["function", "request"], scope))


class CounterIn(BaseModel):
    n: int


def create() -> FastAPI:
    """The app as the environment says (for a server process)."""
    if os.environ.get("SESSION_KIND") == "sync":
        from tests.adapters.fastapi_sync_session import create_sync_app

        return create_sync_app(
            os.environ["SESSION_DATABASE"],
            commit_in_exit=os.environ.get("COMMIT_IN_EXIT") == "1",
            scope=os.environ.get("DEPENDENCY_SCOPE", "request"),
            keys_inside=os.environ.get("KEYS_INSIDE") == "1",
        )
    return create_app(
        os.environ["SESSION_DATABASE"],
        commit_in_exit=os.environ.get("COMMIT_IN_EXIT") == "1",
        scope=os.environ.get("DEPENDENCY_SCOPE", "request"),
        keys_inside=os.environ.get("KEYS_INSIDE") == "1",
    )


def create_app(url: str, *, commit_in_exit: bool, scope: str, keys_inside: bool) -> FastAPI:
    """The app on the PostgreSQL database at `url` (whose table `prepare` made)."""
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    keys = Middleware(IdempotencyMiddleware, store=idempotency_store("memory"))
    app = FastAPI(middleware=[keys] if keys_inside else None)
    install(app)
    if not keys_inside:
        app.add_middleware(keys.cls, *keys.args, **keys.kwargs)

    async def session() -> AsyncIterator[AsyncSession]:
        async with sessions() as db:
            if commit_in_exit:
                async with db.begin():
                    yield db
            else:
                yield db

    Session = Annotated[AsyncSession, session_dependency(session, scope)]

    async def end_own_connection(db: AsyncSession) -> None:
        raw = await (await db.connection()).get_raw_connection()
        pid = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))

    async def increment(db: AsyncSession) -> dict[str, Any]:
        await db.execute(text(f"UPDATE {TABLE} SET count = count + 1 WHERE id = 1"))
        if not commit_in_exit:
            await db.commit()
        # Read again (after the commit: a transaction left for the dependency's exit).
        return {"count": await db.scalar(text(f"SELECT count FROM {TABLE} WHERE id = 1"))}

    @app.get("/healthz")
    async def healthz() -> str:
        return "ok"

    @app.get("/count")
    async def count(db: Session) -> dict[str, Any]:
        return {"count": await db.scalar(text(f"SELECT count FROM {TABLE} WHERE id = 1"))}

    @app.get("/count-then-end")
    async def count_then_end(db: Session) -> dict[str, Any]:
        answer = await count(db)
        await end_own_connection(db)
        return answer

    @app.post("/increment")
    async def post_increment(db: Session) -> dict[str, Any]:
        return await increment(db)

    @app.post("/names")
    async def add_taken(db: Session) -> dict[str, Any]:
        await db.execute(text("INSERT INTO session_names VALUES ('taken')"))
        if not commit_in_exit:
            await db.commit()
        return {"name": "taken"}

    @app.post("/increment-then-end")
    async def increment_then_end(db: Session) -> dict[str, Any]:
        answer = await increment(db)
        await end_own_connection(db)
        return answer

    @app.get("/counter")
    async def get_counter(db: Session, response: Response) -> dict[str, Any]:
        row = (await db.execute(select(counters).where(counters.c.id == 1))).one()
        response.headers["ETag"] = version_etag(row.version).to_header()
        return {"n": row.n}

    @app.put("/counter")
    async def put_counter(
        db: Session, conditions: Preconditions, counter: CounterIn, response: Response
    ) -> dict[str, Any]:
        written = await aversioned_update(db, counters, 1, {"n": counter.n}, conditions)
        if not commit_in_exit:
            await db.commit()
        response.headers["ETag"] = written.etag.to_header()
        # The row as stored, read back (after the commit: a transaction left for the close).
        return {"n": await db.scalar(select(counters.c.n).where(counters.c.id == 1))}

    return app


def prepare(url: str) -> None:
    """The counter's table, its one row at 0."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {TABLE} (id int PRIMARY KEY, count int NOT NULL)")
        conn.execute(f"INSERT INTO {TABLE} VALUES (1, 0)")
        conn.execute(
            "CREATE TABLE session_names (name text, UNIQUE (name) DEFERRABLE INITIALLY DEFERRED)"
        )
        conn.execute("INSERT INTO session_names VALUES ('taken')")
        conn.execute(
            "CREATE TABLE session_counters "
            "(id int PRIMARY KEY, n int NOT NULL, version int NOT NULL)"
        )
        conn.execute("INSERT INTO session_counters VALUES (1, 0, 1)")


def reset(url: str) -> None:
    """The rows as `prepare` made them (for the next test on the same database)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"UPDATE {TABLE} SET count = 0 WHERE id = 1")
        conn.execute("DELETE FROM session_names WHERE name <> 'taken'")
        conn.execute("UPDATE session_counters SET n = 0, version = 1 WHERE id = 1")


def final_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count FROM {TABLE} WHERE id = 1").fetchone()
    assert row is not None
    return int(row[0])


def stored(url: str) -> tuple[int, int, int]:
    """(names stored, the pure counter's n, its version)."""
    with psycopg.connect(url) as conn:
        names = conn.execute("SELECT count(*) FROM session_names").fetchone()
        counter = conn.execute("SELECT n, version FROM session_counters WHERE id = 1").fetchone()
    assert names is not None
    assert counter is not None
    return int(names[0]), int(counter[0]), int(counter[1])
