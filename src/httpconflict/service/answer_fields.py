"""The header fields every answer of the service gets, set in one pass as it starts.

Three rules, each decided where it is written down, applied by one ASGI
layer instead of three (each layer wraps the request and every message of
its answer: about a microsecond apiece, on every request):

- coded entity-tags (`asgi.coded_etags`): a coded tag in If-Match or
  If-None-Match is read back as the plain one before the app sees it; a
  gzip answer gets its own tag, a 304 the tag the client named, every
  answer Vary: Accept-Encoding;
- caching (`caching.with_default`): an answer that says nothing of caching
  is ``no-store``;
- Date (`asgi.dates.stamped`): the moment the answer starts, replacing any
  the app set, with Last-Modified never later.

It sits outside the compression layer (whose gzip answers it retags).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..asgi.coded_etags import CodedETags
from ..asgi.dates import stamped
from ..asgi.types import ASGIApp, Message, Receive, Scope, Send
from .caching import with_default


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
                headers = self.tags.answer_fields(
                    message["status"], message.get("headers", ()), coded
                )
                message["headers"] = stamped(with_default(headers), self.clock())
            await send(message)

        await self.app(scope, receive, fields)
