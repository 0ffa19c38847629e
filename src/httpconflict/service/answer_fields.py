"""The header fields every answer of the service gets, set in one pass as it starts.

Three rules, each decided where it is written down, applied by one ASGI
layer instead of three (each layer wraps the request and every message of
its answer: about a microsecond apiece, on every request), over one scan
of the answer's fields instead of three:

- coded entity-tags (`asgi.coded_etags`): a coded tag in If-Match or
  If-None-Match is read back as the plain one before the app sees it; a
  gzip answer gets its own tag, a 304 the tag the client named, every
  answer Vary: Accept-Encoding;
- caching (`caching.DEFAULT_FIELD`): an answer that says nothing of caching
  is ``no-store``;
- Date (`httpconflict.date_fields`): the moment the answer starts,
  replacing any the app set, with Last-Modified never later.

It sits outside the compression layer (whose gzip answers it retags).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Final

from .. import date_fields
from ..asgi.coded_etags import CodedETags, content_coding, vary_field
from ..asgi.types import ASGIApp, Message, Receive, Scope, Send
from .caching import DEFAULT_FIELD

_ETAG, _VARY, _CODING, _CACHING, _DATE, _MODIFIED = range(6)
#: The fields the three rules read, by lower-case name; every other field passes as it is.
_KINDS: Final = {
    b"etag": _ETAG,
    b"vary": _VARY,
    b"content-encoding": _CODING,
    b"cache-control": _CACHING,
    b"date": _DATE,
    b"last-modified": _MODIFIED,
}


class AnswerFields:
    """Pure ASGI middleware: coded ETags read back and set, Cache-Control's default, Date."""

    def __init__(self, app: ASGIApp, *, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.clock = clock
        self.tags = CodedETags()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope, coded = self.tags.read_back(scope)

        async def fields(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self.answer_fields(
                    message["status"], message.get("headers", ()), coded
                )
            await send(message)

        await self.app(scope, receive, fields)

    def answer_fields(
        self, status: int, headers: Iterable[tuple[bytes, bytes]], coded: dict[str, str]
    ) -> list[tuple[bytes, bytes]]:
        """The answer's fields as sent: [its own..., Vary, Cache-Control?, Date, Last-Modified?]."""
        fields: list[tuple[bytes, bytes]] = []
        vary: list[str] = []
        etag_at: int | None = None
        coding: str | None = None
        caching = False
        last_modified: str | None = None
        for name, value in headers:
            kind = _KINDS.get(name.lower())
            if kind is None:
                fields.append((name, value))
            elif kind == _ETAG:
                etag_at = len(fields)
                fields.append((name, value))
            elif kind == _VARY:
                vary.append(value.decode("latin-1"))
            elif kind == _CODING:
                coding = content_coding(value)
                fields.append((name, value))
            elif kind == _CACHING:
                caching = True
                fields.append((name, value))
            elif kind == _MODIFIED:
                last_modified = value.decode("latin-1")
            # _DATE: replaced by the answer's own, below.
        if etag_at is not None:
            name, value = fields[etag_at]
            fields[etag_at] = (name, self.tags.answer_etag(status, value, coding, coded))
        fields.append(vary_field(vary))
        if not caching:
            fields.append(DEFAULT_FIELD)
        date, modified = date_fields(self.clock(), last_modified)
        fields.append((b"date", date.encode("latin-1")))
        if modified is not None:
            fields.append((b"last-modified", modified.encode("latin-1")))
        return fields
