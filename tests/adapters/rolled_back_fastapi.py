"""A FastAPI app on `conflict_ledger` whose session is a ``yield`` dependency that commits.

``async with session.begin(): yield session``, as FastAPI's docs show: the
views read and add rows, and the dependency's exit commits (the INSERTs go
at that flush) after the view formed its answer. Keys: the ASGI
`IdempotencyMiddleware` (in memory) outside ``install``'s. Served by
``create`` from ``CONFLICT_DATABASE`` (``postgresql://`` through asyncpg,
``mysql://`` through aiomysql, or an SQLite file's path through aiosqlite).
"""

# (No `from __future__ import annotations`: FastAPI reads the views' annotations.)
import os
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI, Header, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import httpconflict.sqlalchemy  # noqa: F401  # the hooks that count commits
from httpconflict import PreconditionFailed, PreconditionRequired
from httpconflict.asgi.idempotency import IdempotencyMiddleware
from httpconflict.fastapi import install
from httpconflict.storage.idempotency import idempotency_store
from tests.adapters import conflict_ledger as ledger

_DRIVERS = {"postgresql": "asyncpg", "mysql": "aiomysql"}


def create() -> FastAPI:
    url = os.environ["CONFLICT_DATABASE"]
    driver = _DRIVERS.get(url.partition(":")[0], "aiosqlite")
    address, options = ledger.engine_arguments(url, driver=driver)
    engine = create_async_engine(address, **options)
    if engine.dialect.name == "sqlite":
        ledger.sqlite_transactions(engine.sync_engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    app = FastAPI()
    install(app)
    app.add_middleware(IdempotencyMiddleware, store=idempotency_store("memory"))

    async def session() -> AsyncIterator[AsyncSession]:
        async with sessions() as db, db.begin():
            yield db

    Session = Annotated[AsyncSession, Depends(session)]

    @app.get("/healthz")
    async def healthz() -> str:
        return "ok"

    @app.get("/counter")
    async def get_counter(db: Session, response: Response) -> dict[str, int]:
        version, n = (await db.execute(text(ledger.LAST_ROW))).one()
        response.headers["ETag"] = f'"{version}"'
        return {"n": n}

    @app.put("/counter")
    async def put_counter(
        db: Session,
        body: dict[str, int],
        response: Response,
        if_match: Annotated[str, Header()] = "",
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> dict[str, int]:
        tag = if_match.strip('"')
        if not tag.isdigit():
            raise PreconditionRequired("send If-Match with the counter's ETag")
        current = await db.scalar(text(ledger.LAST_VERSION))
        if current != int(tag):
            raise PreconditionFailed("the counter changed", current_etag=f'"{current}"')
        db.add(ledger.LedgerRow(version=int(tag) + 1, n=body["n"], request_key=idempotency_key))
        response.headers["ETag"] = f'"{int(tag) + 1}"'
        return {"n": body["n"]}

    @app.post("/orders", status_code=201)
    async def post_order(db: Session, idempotency_key: Annotated[str, Header()]) -> dict[str, int]:
        number = int(await db.scalar(text(ledger.LAST_NUMBER)) or 0) + 1
        db.add(ledger.Order(number=number, request_key=idempotency_key))
        return {"number": number}

    return app
