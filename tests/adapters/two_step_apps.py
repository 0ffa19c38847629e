"""An app whose writes commit in two transactions, behind each kind of key store.

Each write commits its side effect first (an order inserted; the counter's
If-Match ``UPDATE``), then, in a second transaction, touches a ledger row
(``UPDATE two_step_ledger ... /* two-step-ledger */``). A transactional
store's answer is recorded in the first, with the side effect, as it must
be (the second's failure then leaves an order and its record). A test
makes the database
fail between the two: it holds the ledger row's lock (the second
transaction gives up after ``lock_timeout``: a 55P03), or cuts the
connection carrying the ledger statement (tests/pg_proxy.py). The first
transaction is then applied, and the request fails. ``POST /orders/failing``
commits an order, records nothing, and raises: an app's bug after its
commit.

The same FastAPI app is mounted under ``/{store}`` once per key store, each
behind its own `IdempotencyMiddleware`: ``memory``, ``redis``
(TWO_STEP_REDIS), ``postgres`` (TWO_STEP_KEYS, a database of the keys' own),
``sqlalchemy`` (transactional keys beside the orders), and ``none`` (no
middleware: keys are ignored).
TWO_STEP_DATABASE is the app's SQLAlchemy URL (psycopg).
"""

import os
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select, text
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.routing import Mount

from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy, active_claim
from httpconflict.fastapi import Preconditions, install
from httpconflict.sqlalchemy import (
    SQLAlchemyIdempotencyStore,
    idempotency_keys_table,
    record_answer,
    version_etag,
    versioned_update,
)
from httpconflict.storage.idempotency import idempotency_store

STORES = ("memory", "redis", "postgres", "sqlalchemy", "none")

metadata = MetaData()
orders = Table(
    "two_step_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("store", String(16), nullable=False),
    Column("item", String(64), nullable=False),
)
counters = Table(
    "two_step_counters",
    metadata,
    Column("store", String(16), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("version", Integer, nullable=False),
)
ledger = Table(
    "two_step_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
)
idempotency_keys_table(metadata)

#: What ``POST /orders/background``'s background task raises, its 201 sent.
FAILED_IN_BACKGROUND = "the app's background task failed after its 201"
#: What ``POST /orders/failing`` raises once its order is committed.
FAILED_AFTER_COMMIT = "the app failed after its order committed"
LEDGER = "UPDATE two_step_ledger SET n = n + 1 WHERE id = 1 /* two-step-ledger */"


def _record(session: Session, request: Request, answer: Response) -> None:
    """A transactional store's record of `answer`, in the side effect's transaction."""
    claim = active_claim(request.scope)
    record_answer(session, claim, answer.status_code, answer.headers.items(), answer.body)


def _second(engine: Any) -> None:
    """The second transaction: the ledger."""
    with Session(engine) as session:
        session.execute(text("SET LOCAL lock_timeout = '200ms'"))
        session.execute(text(LEDGER))
        session.commit()


def _store_name(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/").rsplit("/", 1)[-1]


def _commit_order(engine: Any, request: Request, item: str) -> int:
    """An order of the request's store, committed on its own (no answer recorded); its id."""
    with Session(engine) as session:
        new: int = session.execute(
            insert(orders).values(store=_store_name(request), item=item).returning(orders.c.id)
        ).scalar_one()
        session.commit()
    return new


def _inner(engine: Any) -> FastAPI:
    app = FastAPI()
    install(app)

    @app.post("/orders", status_code=201)
    def create_order(body: dict[str, str], request: Request) -> Response:
        store = _store_name(request)
        with Session(engine) as session:
            new = session.execute(
                insert(orders).values(store=store, item=body["item"]).returning(orders.c.id)
            ).scalar_one()
            answer = JSONResponse({"id": new, "item": body["item"]}, status_code=201)
            _record(session, request, answer)
            session.commit()
        _second(engine)
        return answer

    @app.post("/orders/failing", status_code=201)
    def create_then_fail(body: dict[str, str], request: Request) -> Response:
        """Commits an order, records no answer, then raises: a bug after the commit."""
        _commit_order(engine, request, body["item"])
        raise RuntimeError(FAILED_AFTER_COMMIT)

    @app.post("/orders/exiting", status_code=201)
    def create_then_exit(body: dict[str, str], request: Request) -> Response:
        """Commits an order, then raises a BaseException (SystemExit): no Exception at all."""
        _commit_order(engine, request, body["item"])
        raise SystemExit(3)

    @app.post("/orders/background", status_code=201)
    def create_then_fail_in_background(body: dict[str, str], request: Request) -> Response:
        """Commits an order and answers 201; a background task then raises."""
        new = _commit_order(engine, request, body["item"])

        def notify() -> None:
            raise RuntimeError(FAILED_IN_BACKGROUND)

        return JSONResponse({"id": new}, status_code=201, background=BackgroundTask(notify))

    @app.get("/orders/count")
    def count(request: Request) -> dict[str, int]:
        store = _store_name(request)
        with Session(engine) as session:
            rows = session.execute(select(orders.c.id).where(orders.c.store == store)).all()
        return {"orders": len(rows)}

    @app.get("/counter")
    def read(request: Request, response: Response) -> dict[str, int]:
        store = _store_name(request)
        with Session(engine) as session:
            row = session.execute(select(counters).where(counters.c.store == store)).one()
        response.headers["ETag"] = version_etag(row.version).to_header()
        return {"n": row.n}

    @app.put("/counter")
    def write(body: dict[str, int], conditions: Preconditions, request: Request) -> Response:
        store = _store_name(request)
        with Session(engine) as session:
            written = versioned_update(session, counters, store, {"n": int(body["n"])}, conditions)
            answer = JSONResponse({"n": body["n"]}, headers={"ETag": written.etag.to_header()})
            _record(session, request, answer)
            session.commit()
        _second(engine)
        return answer

    return app


def create() -> Starlette:
    engine = create_engine(os.environ["TWO_STEP_DATABASE"], pool_pre_ping=True)
    metadata.create_all(engine)
    with engine.begin() as conn:
        if conn.execute(select(ledger.c.id)).first() is None:
            conn.execute(insert(ledger).values(id=1, n=0))
        for store in STORES:
            conn.execute(insert(counters).values(store=store, n=0, version=1))
    inner = _inner(engine)
    generic = IdempotencyPolicy(lease=5.0)
    stores: dict[str, Any] = {
        "memory": (idempotency_store("memory"), generic),
        "redis": (idempotency_store(os.environ["TWO_STEP_REDIS"]), generic),
        "postgres": (idempotency_store(os.environ["TWO_STEP_KEYS"]), generic),
        "sqlalchemy": (SQLAlchemyIdempotencyStore(engine), IdempotencyPolicy(transactional=True)),
    }
    mounts = [
        Mount(f"/{name}", app=IdempotencyMiddleware(inner, store=store, policy=policy))
        for name, (store, policy) in stores.items()
    ]
    mounts.append(Mount("/none", app=inner))
    return Starlette(routes=mounts)
