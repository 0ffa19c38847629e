"""ASGI middleware: the commits of each request are watched (`httpconflict._request_writes`).

An outage answered after a transaction of the request committed a write is
then a 504 ``outcome-unknown``, not a 503 ``unavailable`` (which tells the
client that nothing was applied, so that it sends the request again).
`httpconflict.starlette.install` adds it; an `IdempotencyMiddleware`
watches the requests it runs itself.
"""

from __future__ import annotations

from .._request_writes import watching_writes
from .types import ASGIApp, Receive, Scope, Send

__all__ = ["WriteWatchMiddleware"]


class WriteWatchMiddleware:
    """Watch the commits of each HTTP request to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with watching_writes():
            await self.app(scope, receive, send)
