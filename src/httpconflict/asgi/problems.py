"""Answering with an RFC 9457 problem from any ASGI app.

    await send_error(scope, send, PreconditionFailed("...", current_etag='"7"'))

    app = ProblemMiddleware(app)   # a ProblemError raised by `app` becomes its answer

Every answer notes its problem type in ``scope[PROBLEM_SCOPE_KEY]`` (the
slug), so an access log can say why a request failed without parsing the
body.
"""

from __future__ import annotations

from typing import Final

from .._errors import ProblemError, problem_headers, with_problem_caching
from .._problem import MEDIA_TYPE, PROBLEM_TYPE_BASE, ProblemDetails
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "PROBLEM_SCOPE_KEY",
    "ProblemMiddleware",
    "send_error",
    "send_problem",
    "send_response",
]

#: Where answers note their problem type (the slug), for access logs.
PROBLEM_SCOPE_KEY: Final = "httpconflict.problem"


async def send_response(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    """Send a whole answer, with a Content-Length that matches `body`."""
    headers = [(n, v) for n, v in headers if n.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_problem(
    scope: Scope, send: Send, problem: ProblemDetails, headers: dict[str, str] | None = None
) -> None:
    """Answer with an RFC 9457 problem, and note its type for access logs."""
    scope[PROBLEM_SCOPE_KEY] = problem.type.removeprefix(PROBLEM_TYPE_BASE)
    raw = [(b"content-type", MEDIA_TYPE.encode())]
    fields = with_problem_caching(headers).items()
    raw += [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in fields]
    await send_response(send, problem.status or 500, raw, problem.to_json())


async def send_error(scope: Scope, send: Send, error: ProblemError) -> None:
    """Answer with the problem `error` carries (and its Retry-After)."""
    await send_problem(scope, send, error.problem, problem_headers(error))


class ProblemMiddleware:
    """Answer a `ProblemError` the app raises with its problem.

    An error raised after the app began its answer cannot change it, and is
    re-raised.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ProblemError as error:
            if started:
                raise
            await send_error(scope, send, error)
