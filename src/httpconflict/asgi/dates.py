"""Date on every answer, stamped as the answer starts, with Last-Modified never later.

A server's own Date may lag: uvicorn refreshes its Date once a second from
a timer, so an answer to a write made in the same second says it was
modified after it was sent (RFC 9110 §8.8.2.1 forbids it). Here each answer
gets the time it starts at, and the core (`date_fields`) decides the two
fields. Turn the server's own Date off (uvicorn: ``date_header=False``,
``--no-date-header``), or the answer carries two.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from .._origination import date_fields
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DateMiddleware",
]


class DateMiddleware:
    """Pure ASGI middleware: Date (replacing any the app set), and Last-Modified <= Date."""

    def __init__(self, app: ASGIApp, *, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamp(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = stamped(message.get("headers", ()), self.clock())
            await send(message)

        await self.app(scope, receive, stamp)


def stamped(headers: Iterable[tuple[bytes, bytes]], now: float) -> list[tuple[bytes, bytes]]:
    """`headers` (ASGI's) with the Date of an answer made at `now`, Last-Modified no later."""
    kept: list[tuple[bytes, bytes]] = []
    last_modified: str | None = None
    for name, value in headers:
        lower = name.lower()
        if lower == b"last-modified":
            last_modified = value.decode("latin-1")
        elif lower != b"date":
            kept.append((name, value))
    date, modified = date_fields(now, last_modified)
    kept.append((b"date", date.encode("latin-1")))
    if modified is not None:
        kept.append((b"last-modified", modified.encode("latin-1")))
    return kept
