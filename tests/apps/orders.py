"""A small orders API, written twice (plain ASGI, FastAPI), behind IdempotencyMiddleware.

POST /orders creates an order (counted in memory) and answers 201 with
Location and a Set-Cookie; the body steers the test cases: {"fail": true}
raises, {"fail_once": id} raises the first time only, {"status": 503}
answers 503, {"sleep": s} takes s seconds first.
GET /orders/count says how many orders were created. The policy comes
from the environment: ORDERS_WAIT, ORDERS_REQUIRED, ORDERS_STORE_5XX.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from httpconflict.asgi import (
    ASGIApp,
    IdempotencyMiddleware,
    IdempotencyPolicy,
    Receive,
    Scope,
    Send,
)
from httpconflict.storage.idempotency import idempotency_store


def _policy() -> IdempotencyPolicy:
    return IdempotencyPolicy(
        wait=float(os.environ.get("ORDERS_WAIT", "0")),
        required=os.environ.get("ORDERS_REQUIRED") == "1",
        store_server_errors=os.environ.get("ORDERS_STORE_5XX") == "1",
        lease=5,
    )


class Orders:
    def __init__(self) -> None:
        self.count = 0
        self.failed_once: set[str] = set()

    async def create(self, order: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        await asyncio.sleep(float(order.get("sleep", 0)))
        if order.get("fail"):
            raise RuntimeError("the order service failed")
        once = order.get("fail_once")
        if once is not None and once not in self.failed_once:
            self.failed_once.add(once)
            raise RuntimeError("the order service failed, this once")
        if "status" in order:
            return int(order["status"]), {"error": "unavailable"}
        self.count += 1
        return 201, {"order": self.count, **order}


def plain_app() -> ASGIApp:
    """The orders API as a bare ASGI callable."""
    orders = Orders()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["method"] == "GET":
            status, payload, extra = 200, {"count": orders.count}, []
        else:
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            status, payload = await orders.create(json.loads(body))
            extra = [
                (b"location", f"/orders/{orders.count}".encode()),
                (b"set-cookie", b"session=secret"),
            ]
        content = json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json"), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return IdempotencyMiddleware(app, store=idempotency_store("memory"), policy=_policy())


def fastapi_app() -> FastAPI:
    """The same API in FastAPI, with the middleware added the FastAPI way."""
    api = FastAPI()
    orders = Orders()

    @api.post("/orders", status_code=201)
    async def create(request: Request) -> JSONResponse:
        status, payload = await orders.create(await request.json())
        response = JSONResponse(payload, status_code=status)
        if status == 201:
            response.headers["Location"] = f"/orders/{orders.count}"
            response.set_cookie("session", "secret")
        return response

    @api.get("/orders/count")
    async def count() -> dict[str, int]:
        return {"count": orders.count}

    api.add_middleware(IdempotencyMiddleware, store=idempotency_store("memory"), policy=_policy())
    return api
