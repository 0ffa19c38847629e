"""The orders API of tests/apps/orders.py in FastAPI: one FastAPI app a prefix, side by side.

Apart from the plain versions so that they, and the WSGI ones, start
without importing FastAPI.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from httpconflict.asgi import ASGIApp, IdempotencyMiddleware, ProblemMiddleware
from httpconflict.storage.idempotency import IdempotencyStore
from tests.apps.orders import COUNTER, Orders, policy, side_by_side, stores


def fastapi_app() -> ASGIApp:
    """The same API in FastAPI apps, one a prefix, the middlewares added the FastAPI way."""
    keys = stores()
    return side_by_side(
        {prefix: _fastapi_orders(prefix, store) for prefix, store in keys.items()}, keys
    )


def _fastapi_orders(prefix: str, keys: IdempotencyStore) -> FastAPI:
    orders = Orders()
    api = FastAPI()

    @api.post(f"{prefix}/orders", status_code=201)
    async def create(request: Request) -> JSONResponse:
        order = await request.json()
        with orders.making():
            await asyncio.sleep(orders.delay(order))
            status, payload = orders.create(order)
        response = JSONResponse(payload, status_code=status)
        if status == 201:
            response.headers["Location"] = f"/orders/{payload['order']}"
            response.set_cookie("session", "secret")
        return response

    @api.get(f"{prefix}/orders/count")
    async def count() -> dict[str, int]:
        return orders.tally()

    @api.api_route(f"{prefix}{COUNTER}", methods=["GET", "PUT", "PATCH"])
    async def counter(request: Request) -> JSONResponse:
        if_match = request.headers.get("if-match")
        status, payload, etag = orders.counter(request.method, if_match, await request.body())
        return JSONResponse(payload, status_code=status, headers={"ETag": etag})

    api.add_middleware(IdempotencyMiddleware, store=keys, policy=policy(prefix))
    api.add_middleware(ProblemMiddleware)  # added last: outside the idempotency middleware
    return api
