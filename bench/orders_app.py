"""The middleware scenario: a minimal FastAPI orders API behind an idempotency middleware.

POST /orders inserts one row into SQLite (the side effect a duplicate must
not repeat) and answers 201; GET /orders/count counts the rows. The
environment picks the middleware, so both run on the very same app:

    ORDERS_DB=path.db ORDERS_MIDDLEWARE=none|httpconflict|peer uvicorn bench.orders_app:app

`peer` is fastapi-idempotency (its MemoryStore); `httpconflict` is
httpconflict.asgi.IdempotencyMiddleware (its memory store). Both wait for
an in-flight duplicate (up to 15 s), as fastapi-idempotency does by default.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Body, FastAPI, Request
from fastapi.responses import JSONResponse


def connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    db.commit()
    return db


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.db = connect(os.environ.get("ORDERS_DB", "orders.db"))
    yield
    app.state.db.close()


app = FastAPI(lifespan=lifespan)


@app.post("/orders", status_code=201)
async def create_order(order: Annotated[dict[str, Any], Body()], request: Request) -> JSONResponse:
    db: sqlite3.Connection = request.app.state.db
    cursor = db.execute("INSERT INTO orders (body) VALUES (?)", (str(order),))
    db.commit()
    return JSONResponse(
        {"id": cursor.lastrowid, **order},
        status_code=201,
        headers={"Location": f"/orders/{cursor.lastrowid}"},
    )


@app.get("/orders/count")
async def count(request: Request) -> dict[str, int]:
    db: sqlite3.Connection = request.app.state.db
    return {"count": db.execute("SELECT count(*) FROM orders").fetchone()[0]}


_middleware = os.environ.get("ORDERS_MIDDLEWARE", "none")
if _middleware == "httpconflict":
    from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy
    from httpconflict.storage.idempotency import idempotency_store

    app.add_middleware(
        IdempotencyMiddleware,
        store=idempotency_store("memory"),
        policy=IdempotencyPolicy(methods=frozenset({"POST"}), wait=15),
    )
elif _middleware == "peer":
    from fastapi_idempotency import IdempotencyMiddleware as PeerMiddleware
    from fastapi_idempotency import MemoryStore

    app.add_middleware(PeerMiddleware, store=MemoryStore())
elif _middleware != "none":
    raise SystemExit(f"ORDERS_MIDDLEWARE must be none, httpconflict or peer, not {_middleware!r}")
