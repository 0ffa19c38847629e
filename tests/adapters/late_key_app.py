"""A FastAPI app that counts, recording its Idempotency-Key in one transaction or another.

``POST /{api}/{mode}`` (``api`` ``sync``: a `Session` and `record_answer`;
``async``: an `AsyncSession` and `arecord_answer`) adds 1 to a counter
(``UPDATE late_counter SET n = n + 1``) and answers ``{"n": n}``. Where the
answer is recorded, by ``mode``:

- ``first``: in the increment's own transaction (as the docs ask);
- ``read``: the same, after a transaction that only read, committed first;
- ``other``: the same, after a write committed in another database (a
  SQLite file, LATE_KEY_OTHER);
- ``late``: in a second transaction, after the increment committed: the
  mistake. Between the two, ``X-Between: kill`` SIGKILLs the worker and
  ``X-Between: raise`` raises (a header: the retry's fingerprint is the same);
- ``never``: nowhere: the increment commits and no answer is recorded (the
  mistake of a route that forgot `record_answer`);
- ``peek``: nowhere, and it only reads n (nothing to record with).

Behind `IdempotencyMiddleware` with a transactional policy and
`SQLAlchemyIdempotencyStore` on the app's PostgreSQL database,
LATE_KEY_DATABASE (a ``postgresql+psycopg://`` URL). ``GET /count`` reads n.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy, active_claim
from httpconflict.fastapi import install
from httpconflict.sqlalchemy import (
    SQLAlchemyIdempotencyStore,
    arecord_answer,
    idempotency_keys_table,
    record_answer,
)

metadata = MetaData()
counter = Table(
    "late_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
)
idempotency_keys_table(metadata)
INCREMENT = (
    update(counter).where(counter.c.id == 1).values(n=counter.c.n + 1).returning(counter.c.n)
)


def between(request: Request) -> None:
    """What happens between the increment's commit and the record's transaction, if asked."""
    what = request.headers.get("x-between")
    if what == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if what == "raise":
        raise RuntimeError("the app failed between its two transactions")


def answer(n: int) -> JSONResponse:
    return JSONResponse({"n": n})


def create() -> Any:
    url = os.environ["LATE_KEY_DATABASE"]
    engine = create_engine(url, pool_pre_ping=True)
    async_engine = create_async_engine(url)
    other = create_engine(f"sqlite:///{os.environ['LATE_KEY_OTHER']}")
    metadata.create_all(engine)
    with engine.begin() as conn:
        if conn.execute(select(counter.c.id)).first() is None:
            conn.execute(insert(counter).values(id=1, n=0))
    with other.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS visits (n INTEGER)"))

    app = FastAPI()
    install(app)

    def record(session: Session, request: Request, made: Response) -> None:
        claim = active_claim(request.scope)
        record_answer(session, claim, made.status_code, made.headers.items(), made.body)

    @app.post("/sync/{mode}")
    def sync_count(mode: str, request: Request) -> Response:
        with Session(engine) as session:
            if mode == "peek":
                return answer(session.execute(select(counter.c.n)).scalar_one())
            if mode == "read":
                session.execute(select(counter.c.n)).one()
                session.commit()
            if mode == "other":
                with other.begin() as conn:
                    conn.execute(text("INSERT INTO visits (n) VALUES (1)"))
            n = session.execute(INCREMENT).scalar_one()
            made = answer(n)
            if mode == "never":
                session.commit()
                return made
            if mode == "late":
                session.commit()
                between(request)
            record(session, request, made)
            session.commit()
        return made

    @app.post("/async/{mode}")
    async def async_count(mode: str, request: Request) -> Response:
        async with AsyncSession(async_engine) as session:
            if mode == "peek":
                return answer((await session.execute(select(counter.c.n))).scalar_one())
            if mode == "read":
                (await session.execute(select(counter.c.n))).one()
                await session.commit()
            if mode == "other":
                with other.begin() as conn:
                    conn.execute(text("INSERT INTO visits (n) VALUES (1)"))
            n = (await session.execute(INCREMENT)).scalar_one()
            made = answer(n)
            if mode == "never":
                await session.commit()
                return made
            if mode == "late":
                await session.commit()
                between(request)
            claim = active_claim(request.scope)
            await arecord_answer(session, claim, 200, made.headers.items(), made.body)
            await session.commit()
        return made

    @app.get("/count")
    def count() -> dict[str, int]:
        with engine.connect() as conn:
            return {"n": conn.execute(select(counter.c.n)).scalar_one()}

    store = SQLAlchemyIdempotencyStore(engine)
    return IdempotencyMiddleware(app, store=store, policy=IdempotencyPolicy(transactional=True))
