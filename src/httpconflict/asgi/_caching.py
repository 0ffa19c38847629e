"""Cache-Control on an ASGI app's reads, as the core's `read_cache_control` decides.

`ReadCachingMiddleware` is what `httpconflict.starlette.install` adds: a
GET's or HEAD's 2xx or 304 that carries a validator and no Cache-Control
of the app's says ``no-cache`` (`_read_caching`), and nothing else is
touched. `ConditionalMiddleware` does the same on the answers it lets
through, and decides 304 and 412 besides.
"""

from __future__ import annotations

from .._preconditions import SAFE_METHODS
from .._read_caching import REVALIDATE, read_cache_control
from .types import ASGIApp, Message, Receive, Scope, Send


def with_read_caching(method: str, start: Message, default: str | None) -> Message:
    """The answer's start, with Cache-Control `default` when the core says to add it."""
    headers = start.get("headers", [])
    names = (name.decode("latin-1") for name, _ in headers)
    added = read_cache_control(method, start["status"], names, default)
    if added is None:
        return start
    return {**start, "headers": [*headers, (b"cache-control", added.encode("latin-1"))]}


class ReadCachingMiddleware:
    """Say `cache_control` on a read with a validator whose app says nothing of caching."""

    def __init__(self, app: ASGIApp, *, cache_control: str | None = REVALIDATE) -> None:
        self.app = app
        self.cache_control = cache_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]

        async def caching_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = with_read_caching(method, message, self.cache_control)
            await send(message)

        await self.app(scope, receive, caching_send)
