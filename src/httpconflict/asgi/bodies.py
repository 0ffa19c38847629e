"""Request bodies an app can read: sent as they are, and of a bounded size.

    app = RequestBodyMiddleware(app, max_bytes=1 << 20)

Theory of operation. A framework that reads a body itself (FastAPI's
pydantic models, Starlette's ``request.json()``) reads all of it, whatever
its size, and takes a gzip body for the document (a 400 "not UTF-8" at
best). This middleware answers such a request before the app reads it:

- a body sent with a content coding is a 415 with ``Accept-Encoding:
  identity`` (the core's `require_identity_coding`), the app not called;
- a JSON or form body (`read_whole`: what a framework parses whole in
  memory; a file upload or a raw stream is the app's to bound) whose
  declared Content-Length passes `max_bytes` is a 413 naming the limit,
  the app not called and the body not read;
- a body without a length (chunked) is counted as it arrives. The chunk
  that passes the limit is not handed over: the app is told the client
  went away (``http.disconnect``), which ends its read; whatever it answers
  then is dropped and the 413 sent instead. So no more than `max_bytes` of
  body is ever handed to the app, and the server, answered, stops reading.

An app that began its answer before the limit was passed (a stream that
echoes as it reads) keeps that answer: it can no longer be replaced.
"""

from __future__ import annotations

from .._errors import ProblemError
from .._media import DEFAULT_MAX_BODY, check_body_size, read_whole, require_identity_coding
from .problems import send_error
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestBodyMiddleware"]


class RequestBodyMiddleware:
    """Refuse a content-coded request body (415) and one past `max_bytes` (413), before the app.

    `max_bytes` None sets no limit (the content coding is still refused).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int | None = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        codings: list[str] = []
        declared: int | None = None
        chunked = False
        content_type: str | None = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-encoding":
                codings.append(value.decode("latin-1"))
            elif name == b"content-length" and value.isdigit():
                declared = int(value)
            elif name == b"transfer-encoding":
                chunked = True
        limit = self.max_bytes if read_whole(content_type) else None
        try:
            if declared or chunked:
                require_identity_coding(codings)
            check_body_size(declared, limit)
        except ProblemError as error:
            await send_error(scope, send, error)
            return
        if limit is None:
            await self.app(scope, receive, send)
            return
        await _Bounded(limit, receive, send).run(self.app, scope)


class _Bounded:
    """One request whose body is counted as the app reads it."""

    def __init__(self, limit: int, receive: Receive, send: Send) -> None:
        self.limit = limit
        self.receive = receive
        self.send = send
        self.size = 0
        self.refused: ProblemError | None = None
        self.started = False

    async def run(self, app: ASGIApp, scope: Scope) -> None:
        try:
            await app(scope, self.counted_receive, self.guarded_send)
        except Exception:
            # What the app raised after its read was cut short is its
            # reaction to the disconnect it was shown, not an error of its own.
            if self.refused is None or self.started:
                raise
        if self.refused is not None and not self.started:
            self.started = True
            await send_error(scope, self.send, self.refused)

    async def counted_receive(self) -> Message:
        if self.refused is not None:
            return {"type": "http.disconnect"}
        message = await self.receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            try:
                check_body_size(self.size, self.limit)
            except ProblemError as error:
                self.refused = error
                return {"type": "http.disconnect"}
        return message

    async def guarded_send(self, message: Message) -> None:
        if self.refused is not None and not self.started:
            return  # the app's answer to a read cut short: the 413 goes instead
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)
