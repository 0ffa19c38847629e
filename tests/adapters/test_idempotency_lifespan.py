"""The ASGI IdempotencyMiddleware opens its store with the app, or on the first keyed request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from httpconflict.asgi import ASGIApp, IdempotencyMiddleware, Message, Receive, Scope, Send
from httpconflict.storage.idempotency import idempotency_store

KEY = {"Idempotency-Key": '"order-1"'}
T = TypeVar("T")


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run `app`'s ASGI lifespan as a server does: start-up, the block, shutdown."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    running = asyncio.ensure_future(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] == "lifespan.startup.failed":
        running.cancel()
        raise RuntimeError(started["message"])
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        await running


def serve(app: ASGIApp, requests: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """`requests` made to `app` between its start-up and its shutdown."""

    async def main() -> T:
        async with lifespan(app):
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await requests(client)

    return asyncio.run(main())


async def post_twice(client: httpx.AsyncClient) -> list[int]:
    answers = [await client.post("/orders", json={"item": "tea"}, headers=KEY) for _ in "12"]
    return [answer.status_code for answer in answers]


def orders_app(keys_url: str) -> tuple[Starlette, list[object]]:
    orders: list[object] = []

    async def create(request: Request) -> JSONResponse:
        orders.append(await request.json())
        return JSONResponse({"id": len(orders)}, status_code=201)

    app = Starlette(routes=[Route("/orders", create, methods=["POST"])])
    app.add_middleware(IdempotencyMiddleware, store=idempotency_store(keys_url))
    return app, orders


def test_no_start_up_code_is_needed(tmp_path: Path) -> None:
    """Without a lifespan (httpx's ASGI transport runs none), the first keyed POST opens it."""
    app, orders = orders_app(str(tmp_path / "keys.db"))

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [await client.post("/orders", json={"item": "tea"}, headers=KEY) for _ in "12"]

    first, again = asyncio.run(main())
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(orders) == 1


def test_the_lifespan_opens_the_store_at_start_up(tmp_path: Path) -> None:
    """Under a lifespan, the keys' file exists before the first request; requests work after."""
    keys = tmp_path / "keys.db"
    app, orders = orders_app(str(keys))

    async def requests(client: httpx.AsyncClient) -> list[int]:
        assert keys.exists()
        return await post_twice(client)

    for _ in range(2):  # started, stopped (the store closed), started again: it reopens
        assert serve(app, requests) == [201, 201]
    assert len(orders) == 1


def test_a_store_that_cannot_be_opened_fails_the_start_up(tmp_path: Path) -> None:
    """A SQLite file in a directory that does not exist: the server does not start."""
    app, _ = orders_app(str(tmp_path / "missing" / "keys.db"))
    with pytest.raises(RuntimeError, match="idempotency-key store could not be opened"):
        serve(app, post_twice)


def test_a_store_that_does_not_answer_yet_is_tried_by_the_first_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PostgreSQL down at start-up: the app starts, says so, and a keyed request gets a 503."""
    app, orders = orders_app("postgresql://postgres@127.0.0.1:1/test")

    async def requests(client: httpx.AsyncClient) -> httpx.Response:
        assert "does not answer yet" in caplog.text
        return await client.post("/orders", json={"item": "tea"}, headers=KEY)

    with caplog.at_level(logging.WARNING, "httpconflict"):
        refused = serve(app, requests)
    assert (refused.status_code, refused.headers["Retry-After"]) == (503, "1")
    assert orders == []


def test_an_app_without_a_lifespan_gets_the_store_opened_at_start_up(tmp_path: Path) -> None:
    """Django's ASGI handler raises on the lifespan scope: the middleware answers it alone."""
    keys = tmp_path / "keys.db"
    orders: list[bytes] = []

    async def django_like(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError("Django can only handle ASGI/HTTP connections, not lifespan.")
        orders.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = IdempotencyMiddleware(django_like, store=idempotency_store(str(keys)))

    async def requests(client: httpx.AsyncClient) -> list[int]:
        assert keys.exists()  # opened by the start-up, before any request
        return await post_twice(client)

    assert serve(app, requests) == [201, 201]
    assert len(orders) == 1
