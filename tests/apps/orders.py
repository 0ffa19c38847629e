"""A small orders API behind IdempotencyMiddleware: plain ASGI and FastAPI here, WSGI beside.

Every version (tests/adapters/orders_wsgi.py has the plain WSGI and Flask
ones) keeps one contract, checked by tests/adapters/test_idempotency_middleware.py:
POST /orders creates an order (counted in memory) and answers 201 with
Location and a Set-Cookie; the body steers the test cases: {"fail": true}
raises, {"fail_once": id} raises the first time only, {"status": 503}
answers 503, {"sleep": s} takes s seconds first. GET /orders/count says how
many orders were created. A store error is a 503 problem. From the
environment: ORDERS_STORE (``memory``, a SQLite path, ``postgresql://``,
``redis://``), ORDERS_WAIT, ORDERS_REQUIRED, ORDERS_STORE_5XX.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from httpconflict import Unavailable
from httpconflict.asgi import (
    ASGIApp,
    IdempotencyMiddleware,
    IdempotencyPolicy,
    ProblemMiddleware,
    Receive,
    Scope,
    Send,
)
from httpconflict.storage.idempotency import IdempotencyStore, idempotency_store


def policy() -> IdempotencyPolicy:
    """The policy every version takes, from the environment."""
    return IdempotencyPolicy(
        wait=float(os.environ.get("ORDERS_WAIT", "0")),
        required=os.environ.get("ORDERS_REQUIRED") == "1",
        store_server_errors=os.environ.get("ORDERS_STORE_5XX") == "1",
        lease=5,
        retention=120,  # keys left in a shared Redis vanish soon after the run
        max_body=1024,
    )


def store() -> IdempotencyStore:
    return idempotency_store(os.environ.get("ORDERS_STORE", "memory"))


class Orders:
    """The orders made; `create` decides the answer, after the caller slept `delay(order)`."""

    def __init__(self) -> None:
        self.count = 0
        self.failed_once: set[str] = set()
        self.lock = threading.Lock()  # WSGI servers create orders from many threads

    @staticmethod
    def delay(order: dict[str, Any]) -> float:
        return float(order.get("sleep", 0))

    def create(self, order: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The status and body of the answer (201: an order was made)."""
        if order.get("fail"):
            raise RuntimeError("the order service failed")
        with self.lock:
            once = order.get("fail_once")
            if once is not None and once not in self.failed_once:
                self.failed_once.add(once)
                raise RuntimeError("the order service failed, this once")
            if "status" in order:
                return int(order["status"]), {"error": "unavailable"}
            self.count += 1
            return 201, {"order": self.count, **order}


async def _open(keys: IdempotencyStore) -> None:
    # As under WSGI, an unreachable store does not stop the server: keyed
    # requests answer 503 until it is back.
    with contextlib.suppress(Unavailable):
        await keys.open()


def plain_app() -> ASGIApp:
    """The orders API as a bare ASGI callable, errors answered by ProblemMiddleware."""
    orders = Orders()
    keys = store()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await receive()  # lifespan.startup
            await _open(keys)
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            await keys.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers = [(b"content-type", b"application/json")]
        if scope["method"] == "GET":
            status, payload = 200, {"count": orders.count}
        else:
            body = b""
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the body ended early: run nothing, and nobody to answer
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            order = json.loads(body)
            await asyncio.sleep(orders.delay(order))
            status, payload = orders.create(order)
            if status == 201:
                headers.append((b"location", f"/orders/{payload['order']}".encode()))
                headers.append((b"set-cookie", b"session=secret"))
        content = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return ProblemMiddleware(IdempotencyMiddleware(app, store=keys, policy=policy()))


def fastapi_app() -> FastAPI:
    """The same API in FastAPI, the middlewares added the FastAPI way."""
    orders = Orders()
    keys = store()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await _open(keys)
        yield
        await keys.close()

    api = FastAPI(lifespan=lifespan)

    @api.post("/orders", status_code=201)
    async def create(request: Request) -> JSONResponse:
        order = await request.json()
        await asyncio.sleep(orders.delay(order))
        status, payload = orders.create(order)
        response = JSONResponse(payload, status_code=status)
        if status == 201:
            response.headers["Location"] = f"/orders/{payload['order']}"
            response.set_cookie("session", "secret")
        return response

    @api.get("/orders/count")
    async def count() -> dict[str, int]:
        return {"count": orders.count}

    api.add_middleware(IdempotencyMiddleware, store=keys, policy=policy())
    api.add_middleware(ProblemMiddleware)  # added last: outside the idempotency middleware
    return api
