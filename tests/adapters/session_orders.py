"""Keyed orders and a pure counter on SQLAlchemy sessions: Flask (a sync `Session`), FastAPI
(an `AsyncSession`), both on PostgreSQL (or MariaDB for Flask).

Served by ``create_flask`` (WSGI) or ``create_fastapi`` (ASGI) from the
environment: ``ORDERS_DATABASE``, a SQLAlchemy URL whose tables the test
made (``keyed_orders``: id, request_key; ``counter``: one row ``id = 1``
with ``n`` and ``version``); ``ORDERS_AUTOCOMMIT=1`` for an engine whose
every statement commits itself (``isolation_level="AUTOCOMMIT"``).
Each unsafe request needs an Idempotency-Key (the IdempotencyMiddleware,
keys in memory); ``install`` watches each request.

- ``POST /orders``: reads the orders of its key, inserts one holding the
  key, commits: 201 (no unique index: a second apply shows);
- ``POST /orders/commit-as-text``: inserts, sends ``COMMIT`` as text, then
  reads (``SELECT 'after the insert'``, a statement a proxy can cut);
- ``POST /orders/raw-commit`` (Flask): inserts, commits through the
  driver's connection itself (no hook sees it), then reads the same way;
- ``GET /counter``: ``{"n": n}`` with the row's version as its ETag;
  ``PUT /counter`` with ``If-Match``: stores the body's ``n`` when that
  version is current (one UPDATE), 200 with the new ETag, else 412.
"""

# (No `from __future__ import annotations`: FastAPI reads the views' annotations, which
# name the local `Request`.)
import os
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update

import httpconflict.sqlalchemy  # noqa: F401  # the commit hooks
from httpconflict.storage.idempotency import idempotency_store

metadata = MetaData()
orders = Table(
    "keyed_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("request_key", String(255), nullable=False),
)
counter = Table(
    "counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("n", Integer, nullable=False),
    Column("version", Integer, nullable=False),
)
AFTER_THE_INSERT = text("SELECT 'after the insert'")


def _engine_options() -> dict[str, Any]:
    if os.environ.get("ORDERS_AUTOCOMMIT") == "1":
        return {"isolation_level": "AUTOCOMMIT"}
    return {}


def create_flask() -> Any:
    from flask import Flask, request
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from httpconflict.flask import install
    from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy

    engine = create_engine(os.environ["ORDERS_DATABASE"], pool_size=4, **_engine_options())
    app = Flask(__name__)
    install(app)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"ok": True}

    @app.post("/orders")
    def create() -> Any:
        key = request.headers["Idempotency-Key"]
        with Session(engine) as session:
            session.execute(select(orders.c.id).where(orders.c.request_key == key))
            session.execute(insert(orders).values(request_key=key))
            session.commit()
        return {"created": True}, 201

    @app.post("/orders/commit-as-text")
    def commit_as_text() -> Any:
        with Session(engine) as session:
            session.execute(insert(orders).values(request_key=request.headers["Idempotency-Key"]))
            session.execute(text("COMMIT"))
            session.execute(AFTER_THE_INSERT)
            session.commit()
        return {"created": True}, 201

    @app.post("/orders/raw-commit")
    def raw_commit() -> Any:
        with Session(engine) as session:
            session.execute(insert(orders).values(request_key=request.headers["Idempotency-Key"]))
            session.connection().connection.driver_connection.commit()  # type: ignore[union-attr]
            session.execute(AFTER_THE_INSERT)
            session.commit()
        return {"created": True}, 201

    @app.get("/counter")
    def read_counter() -> Any:
        with Session(engine) as session:
            n, version = session.execute(select(counter.c.n, counter.c.version)).one()
        return {"n": n}, 200, {"ETag": f'"{version}"'}

    @app.put("/counter")
    def write_counter() -> Any:
        expected = int(request.headers["If-Match"].strip('"'))
        n = request.get_json()["n"]
        with Session(engine) as session:
            changed = session.execute(_increment(n, expected)).rowcount  # type: ignore[attr-defined]
            session.commit()
        if changed != 1:
            return {"stale": True}, 412
        return {"n": n}, 200, {"ETag": f'"{expected + 1}"'}

    keys = idempotency_store("memory")
    policy = IdempotencyPolicy(required=True)
    app.wsgi_app = IdempotencyMiddleware(app.wsgi_app, store=keys, policy=policy)  # type: ignore[method-assign]
    return app


def _increment(n: int, expected: int) -> Any:
    return (
        update(counter)
        .where(counter.c.id == 1, counter.c.version == expected)
        .values(n=n, version=counter.c.version + 1)
    )


def create_fastapi() -> Any:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy
    from httpconflict.fastapi import install

    engine = create_async_engine(os.environ["ORDERS_DATABASE"], pool_size=4, **_engine_options())
    sessions = async_sessionmaker(engine)
    app = FastAPI()
    install(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/orders", status_code=201)
    async def create(request: Request) -> dict[str, bool]:
        key = request.headers["Idempotency-Key"]
        async with sessions() as session:
            await session.execute(select(orders.c.id).where(orders.c.request_key == key))
            await session.execute(insert(orders).values(request_key=key))
            await session.commit()
        return {"created": True}

    @app.post("/orders/commit-as-text", status_code=201)
    async def commit_as_text(request: Request) -> dict[str, bool]:
        async with sessions() as session:
            key = request.headers["Idempotency-Key"]
            await session.execute(insert(orders).values(request_key=key))
            await session.execute(text("COMMIT"))
            await session.execute(AFTER_THE_INSERT)
            await session.commit()
        return {"created": True}

    @app.get("/counter")
    async def read_counter() -> Any:
        async with sessions() as session:
            n, version = (await session.execute(select(counter.c.n, counter.c.version))).one()
        return JSONResponse({"n": n}, headers={"ETag": f'"{version}"'})

    @app.put("/counter")
    async def write_counter(request: Request) -> Any:
        expected = int(request.headers["If-Match"].strip('"'))
        n = (await request.json())["n"]
        async with sessions() as session:
            result = await session.execute(_increment(n, expected))
            await session.commit()
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return JSONResponse({"stale": True}, status_code=412)
        return JSONResponse({"n": n}, headers={"ETag": f'"{expected + 1}"'})

    keys = idempotency_store("memory")
    app.add_middleware(IdempotencyMiddleware, store=keys, policy=IdempotencyPolicy(required=True))
    return app
