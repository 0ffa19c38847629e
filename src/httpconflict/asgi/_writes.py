"""ASGI middleware: the commits of each request are watched (`httpconflict._request_writes`).

An outage answered after a transaction of the request committed a write is
then a 504 ``outcome-unknown``, not a 503 ``unavailable`` (which tells the
client that nothing was applied, so that it sends the request again).
A request that raised after one is marked (`RAISED_AFTER_COMMIT`), so
that the 500 it gets says part of it was applied. `httpconflict.starlette.install`
adds it; an `IdempotencyMiddleware` watches the requests it runs itself.
"""

from __future__ import annotations

from .._request_writes import watching_writes
from .types import ASGIApp, Receive, Scope, Send

__all__ = ["RAISED_AFTER_COMMIT", "WriteWatchMiddleware"]

#: In the scope of a request that raised after a transaction of it committed a write.
RAISED_AFTER_COMMIT = "httpconflict.raised_after_commit"


class WriteWatchMiddleware:
    """Watch the commits of each HTTP request to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with watching_writes() as writes:
            try:
                await self.app(scope, receive, send)
            except Exception:
                if writes.committed > 0:
                    # For the 500 handler, which runs outside (Starlette's ServerErrorMiddleware).
                    scope[RAISED_AFTER_COMMIT] = True
                raise
