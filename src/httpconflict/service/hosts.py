"""The Host allow-list, as the service's outermost guard (see `httpconflict._hosts`).

A request naming a host the service does not answer for is refused before
anything else reads it: no authentication, no database, no document. The
access log (outside it) still records the refusal, so an operator sees a
rebinding attempt or a misconfigured proxy.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from ..asgi import send_problem
from ..hosts import AllowedHosts, HostDecision
from ..problem_types import HOST_NOT_ALLOWED, MALFORMED_HEADER

# A Host header is quoted back to the client, cut to this many characters.
_QUOTED: Final = 100


class AllowedHostsGuard:
    """Pure ASGI middleware: 421 for a host not on the list, 400 for a missing or bad Host."""

    def __init__(self, app: ASGIApp, *, allowed: AllowedHosts) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.allowed.any:
            await self.app(scope, receive, send)
            return
        check = self.allowed.check([value for name, value in scope["headers"] if name == b"host"])
        if check.decision is HostDecision.ALLOWED:
            await self.app(scope, receive, send)
            return
        quoted = None if check.value is None else check.value[:_QUOTED]
        if check.decision is HostDecision.MISDIRECTED:
            problem = HOST_NOT_ALLOWED.problem(
                f"this service does not answer for the host {quoted!r}", host=quoted
            )
        elif quoted is None:
            problem = MALFORMED_HEADER.problem(
                "a request names its host in exactly one Host header field", header="Host"
            )
        else:
            problem = MALFORMED_HEADER.problem(
                "the Host header is not a host, nor a host and a port", header="Host", value=quoted
            )
        await send_problem(scope, send, problem)
