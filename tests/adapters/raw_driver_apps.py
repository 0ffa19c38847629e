"""A FastAPI app whose writes go through psycopg used directly: commits no hook can see.

Each route inserts an order with its own psycopg connection (autocommit),
which SQLAlchemy's and Django's hooks never see, then fails:

- ``POST /orders/failing``: commits the order, raises (an app's bug after it);
- ``POST /orders/marked``: the same, calling `httpconflict.mark_applied` after the commit
  (and ``POST /labelled/{label}``, under a path of the client's choosing);
- ``POST /orders/refused``: raises before it writes anything;
- ``POST /orders/outage``: commits the order, marks it, then its second
  database is down (a psycopg ``OperationalError``: `install`'s outage answer).

``GET /orders/count`` counts the orders of one mount. The app is mounted
twice, each behind an `IdempotencyMiddleware` with PostgreSQL keys
(RAW_KEYS): ``/default`` under the default policy, ``/recorded`` under
``store_server_errors=True``. RAW_DATABASE is the orders' database.
"""

import os
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from starlette.applications import Starlette
from starlette.routing import Mount

import httpconflict
from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy
from httpconflict.fastapi import install
from httpconflict.storage.idempotency import idempotency_store

#: What the failing routes raise.
FAILED = "the raw-driver app failed"
#: No server listens here: a second database that is down.
DOWN = "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2"
SCHEMA = "CREATE TABLE IF NOT EXISTS raw_orders (id serial PRIMARY KEY, mount text, item text)"


def _mount(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/").rsplit("/", 1)[-1]


async def _insert(request: Request, body: dict[str, str]) -> None:
    async with await psycopg.AsyncConnection.connect(
        os.environ["RAW_DATABASE"], autocommit=True
    ) as conn:
        await conn.execute(
            "INSERT INTO raw_orders (mount, item) VALUES (%s, %s)", (_mount(request), body["item"])
        )


def _inner() -> FastAPI:
    app = FastAPI()
    install(app)

    @app.post("/orders/failing", status_code=201)
    async def failing(body: dict[str, str], request: Request) -> dict[str, Any]:
        await _insert(request, body)
        raise RuntimeError(FAILED)

    @app.post("/orders/marked", status_code=201)
    async def marked(body: dict[str, str], request: Request) -> dict[str, Any]:
        await _insert(request, body)
        httpconflict.mark_applied()
        raise RuntimeError(FAILED)

    @app.post("/labelled/{label}", status_code=201)
    async def labelled(label: str, body: dict[str, str], request: Request) -> dict[str, Any]:
        """`marked` under a path of the client's choosing (its label is logged)."""
        await _insert(request, body)
        httpconflict.mark_applied()
        raise RuntimeError(FAILED)

    @app.post("/orders/refused", status_code=201)
    async def refused(body: dict[str, str], request: Request) -> dict[str, Any]:
        raise RuntimeError(FAILED)

    @app.post("/orders/outage", status_code=201)
    async def outage(body: dict[str, str], request: Request) -> dict[str, Any]:
        await _insert(request, body)
        httpconflict.mark_applied()
        async with await psycopg.AsyncConnection.connect(DOWN) as conn:
            await conn.execute("SELECT 1")
        return {"item": body["item"]}

    @app.get("/orders/count")
    async def count(request: Request) -> dict[str, int]:
        async with await psycopg.AsyncConnection.connect(os.environ["RAW_DATABASE"]) as conn:
            cursor = await conn.execute(
                "SELECT count(*) FROM raw_orders WHERE mount = %s", (_mount(request),)
            )
            row = await cursor.fetchone()
        assert row is not None
        return {"orders": int(row[0])}

    return app


def create() -> Starlette:
    with psycopg.connect(os.environ["RAW_DATABASE"], autocommit=True) as conn:
        conn.execute(SCHEMA)
    inner = _inner()
    policies = {
        "default": IdempotencyPolicy(lease=5.0),
        "recorded": IdempotencyPolicy(lease=5.0, store_server_errors=True),
    }
    return Starlette(
        routes=[
            Mount(
                f"/{name}",
                app=IdempotencyMiddleware(
                    inner, store=idempotency_store(os.environ["RAW_KEYS"]), policy=policy
                ),
            )
            for name, policy in policies.items()
        ]
    )
