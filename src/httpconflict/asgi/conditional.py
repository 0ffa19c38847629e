"""Conditional GET and HEAD for any ASGI app: 304, 412 and 400 from the app's own answer.

    app = ConditionalMiddleware(app)

The app answers as if the request had no preconditions. The middleware
hands that answer's status and header fields, with the request's
If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since, to the
core's `read_decision`, and sends what it decides: the app's answer as it
is, a 304 carrying only the header fields RFC 9110 §15.4.5 lists, a 412
problem naming the current ETag, or a 400 naming a malformed field. Any
answer but a 2xx goes through untouched: preconditions are ignored then
(§13.2.1), so a 404 stays a 404.

A GET's or HEAD's 2xx that carries a validator (ETag, Last-Modified) and
no Cache-Control is sent with ``Cache-Control: no-cache``, and so is the
304 made in its place: a shared cache keeps such an answer (RFC 9111
§4.2.2) and drops nothing when a PUT through it changes the resource, so
it must ask before each use (`_read_caching`). The app's own
Cache-Control is never changed; ``cache_control=None`` adds nothing.

The app still builds the body a 304 discards. Skipping that work needs the
validators before the body, which only the handler knows: see
``conditions.check(current)`` of the FastAPI dependency
(`httpconflict.fastapi.Preconditions`).
"""

from __future__ import annotations

from typing import Final

from .._conditional_read import NOT_MODIFIED_FIELDS, ReadOutcome, read_decision
from .._preconditions import SAFE_METHODS
from .._read_caching import REVALIDATE
from ._caching import with_read_caching
from .problems import send_problem
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "NOT_MODIFIED_HEADERS",
    "ConditionalMiddleware",
]

#: The fields a 304 repeats from the 200 (RFC 9110 §15.4.5; Last-Modified too without an ETag).
NOT_MODIFIED_HEADERS: Final = NOT_MODIFIED_FIELDS

_CONDITIONAL: Final = frozenset(
    {b"if-match", b"if-none-match", b"if-modified-since", b"if-unmodified-since"}
)


class ConditionalMiddleware:
    """Turn an app's 2xx into 304 or 412 when the request's preconditions say so.

    `keep` names the header fields a 304 repeats (lower case). Last-Modified
    is repeated too when there is no ETag, since it is then what a cache
    revalidates with (§15.4.5 allows metadata "for the purpose of guiding
    cache updates"). `lenient_dates` ignores malformed dates instead of
    answering 400. `cache_control` is what a read with a validator says
    of caching when the app says nothing (None: nothing).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        keep: frozenset[str] = NOT_MODIFIED_HEADERS,
        lenient_dates: bool = False,
        cache_control: str | None = REVALIDATE,
    ) -> None:
        self.app = app
        self.keep = frozenset(name.lower() for name in keep)
        self.lenient_dates = lenient_dates
        self.cache_control = cache_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        # Only GET and HEAD with a conditional field can be answered other
        # than as the app answers (`read_decision`); the rest may only need
        # Cache-Control, or nothing.
        conditional = any(name in _CONDITIONAL for name, _ in scope["headers"])
        if not conditional and self.cache_control is None:
            await self.app(scope, receive, send)
            return
        replaced = False

        async def conditional_send(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start":
                message = with_read_caching(scope["method"], message, self.cache_control)
                if conditional:
                    replaced = await self._replace(scope, send, message)
                if not replaced:
                    await send(message)
            elif not replaced:
                await send(message)
            # Else the body (and trailers) of an answer already replaced: dropped.

        await self.app(scope, receive, conditional_send)

    async def _replace(self, scope: Scope, send: Send, start: Message) -> bool:
        """Answer in place of the app when the core decides so; say if it did."""
        decision = read_decision(
            scope["method"],
            lambda name: _lines(scope["headers"], name.encode()),
            [(n.decode("latin-1"), v.decode("latin-1")) for n, v in start.get("headers", [])],
            status=start["status"],
            keep=self.keep,
            lenient_dates=self.lenient_dates,
        )
        if decision.outcome is ReadOutcome.PROCEED:
            return False
        if decision.outcome is ReadOutcome.NOT_MODIFIED:
            kept = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in decision.fields]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return True
        assert decision.error is not None
        await send_problem(scope, send, decision.error.problem)
        return True


def _lines(headers: list[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [v.decode("latin-1") for n, v in headers if n.lower() == name]
