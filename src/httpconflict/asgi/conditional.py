"""Conditional GET and HEAD for any ASGI app: 304 and 412 from the app's own validators.

    app = ConditionalMiddleware(app)

The app answers as if the request had no preconditions. When that answer
is a 200, the middleware takes its validators (ETag, Last-Modified), lets
the core `evaluate` the request's If-Match, If-Unmodified-Since,
If-None-Match and If-Modified-Since in RFC 9110 §13.2.2 order, and, when
the client already has the representation, replaces the answer with a 304
carrying only the header fields §15.4.5 lists; a failed If-Match or
If-Unmodified-Since becomes a 412 problem naming the current ETag. Any
other status goes through untouched: preconditions are ignored when the
answer without them would not be a 2xx (§13.2.1), so a 404 stays a 404.

The app still builds the body a 304 discards. Skipping that work needs the
validators before the body, which only the handler knows: see
``conditions.check(current)`` of the FastAPI dependency
(`httpconflict.fastapi.Preconditions`).
"""

from __future__ import annotations

import contextlib
from typing import Final

from .._errors import MalformedHeader
from .._etag import ETag
from .._httpdate import parse_http_date
from .._preconditions import (
    NOT_MODIFIED_FIELDS,
    SAFE_METHODS,
    Conditions,
    Decision,
    Validators,
    evaluate,
)
from .._refusals import precondition_failed
from .problems import send_problem
from .types import ASGIApp, Message, Receive, Scope, Send

#: The fields a 304 repeats from the 200 (RFC 9110 §15.4.5; see `kept_in_304`).
NOT_MODIFIED_HEADERS: Final = NOT_MODIFIED_FIELDS

_CONDITIONAL: Final = frozenset(
    {b"if-match", b"if-none-match", b"if-modified-since", b"if-unmodified-since"}
)


class ConditionalMiddleware:
    """Turn an app's 200 into 304 or 412 when the request's preconditions say so.

    `keep` names the header fields a 304 repeats (lower case). Last-Modified
    is repeated too when there is no ETag, since it is then what a cache
    revalidates with (§15.4.5 allows metadata "for the purpose of guiding
    cache updates"). `lenient_dates` ignores malformed dates instead of
    answering 400.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        keep: frozenset[str] = NOT_MODIFIED_HEADERS,
        lenient_dates: bool = False,
    ) -> None:
        self.app = app
        self.keep = frozenset(name.lower().encode("latin-1") for name in keep)
        self.lenient_dates = lenient_dates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in SAFE_METHODS
            or not any(name in _CONDITIONAL for name, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        replaced = False

        async def conditional_send(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start":
                replaced = await self._replace(scope, send, message)
                if not replaced:
                    await send(message)
            elif not replaced:
                await send(message)
            # Else the body (and trailers) of an answer already replaced: dropped.

        await self.app(scope, receive, conditional_send)

    async def _replace(self, scope: Scope, send: Send, start: Message) -> bool:
        """Answer in place of the app when its 200 meets the preconditions; say if it did."""
        if start["status"] != 200:
            return False
        headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))
        try:
            conditions = Conditions.from_headers(
                lambda name: _lines(scope["headers"], name.encode()),
                lenient_dates=self.lenient_dates,
            )
        except MalformedHeader as error:
            await send_problem(scope, send, error.problem)
            return True
        current = _validators(headers)
        decision = evaluate(scope["method"], conditions, current)
        if decision is Decision.NOT_MODIFIED:
            kept = [(n, v) for n, v in headers if n.lower() in self.keep]
            if current.etag is None:
                kept += [(n, v) for n, v in headers if n.lower() == b"last-modified"]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return True
        if decision is Decision.PRECONDITION_FAILED:
            await send_problem(scope, send, precondition_failed(current).problem)
            return True
        return False


def _lines(headers: list[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [v.decode("latin-1") for n, v in headers if n.lower() == name]


def _validators(headers: list[tuple[bytes, bytes]]) -> Validators:
    """The validators of the app's answer; a malformed one is as good as none."""
    etag = last_modified = None
    for value in _lines(headers, b"etag")[:1]:
        with contextlib.suppress(MalformedHeader):
            etag = ETag.parse(value)
    for value in _lines(headers, b"last-modified")[:1]:
        with contextlib.suppress(MalformedHeader):
            last_modified = parse_http_date(value)
    return Validators(etag, last_modified)
