"""Starlette's gzip coding, for exactly the requests whose Accept-Encoding takes gzip.

Whether a request takes gzip is the core's decision (`accepts_coding`,
RFC 9110 §12.5.3): Starlette's own test is the word "gzip" anywhere in the
first Accept-Encoding line, which sent a gzip body to ``gzip;q=0`` ("not
acceptable") and a plain one to ``GZIP``. A request that does not take it
skips Starlette's middleware altogether (its identity responder holds the
start of every answer back to add Vary, which `AnswerFields` adds to every
answer anyway: about 8 µs a request for nothing); one that does is handed
straight to its gzip responder. Most requests name no coding, or "gzip"
without a weight: the bytes test keeps them from parsing anything twice.

A body large enough to be compressed in a thread counts against the
worker's answer budget (``--max-answer-memory``) while it waits for one and
is compressed: 40 threads a worker, and the bodies queued behind them were
held uncounted (see `answer_budget`).
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware, GZipResponder
from starlette.types import Receive, Scope, Send

from ..asgi import accepts_coding
from .answer_budget import WorkerAnswers

__all__ = ["Compression"]


class Compression(GZipMiddleware):
    """`GZipMiddleware`, entered only by a request whose Accept-Encoding takes gzip."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _takes_gzip(scope["headers"]):
            await self.app(scope, receive, send)
            return
        responder = _CountedGZipResponder(
            self.app,
            self.minimum_size,
            compresslevel=self.compresslevel,
            thread_minimum_size=self.thread_minimum_size,
            exclude_content_types=self.exclude_content_types,
        )
        await responder(scope, receive, send)


class _CountedGZipResponder(GZipResponder):
    """Starlette's gzip responder, its bodies counted while a thread compresses them."""

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if len(body) < self.thread_minimum_size:  # compressed at once, in the loop
            return await super().apply_compression(body, more_body=more_body)
        with WorkerAnswers.compressed(len(body)):
            return await super().apply_compression(body, more_body=more_body)


def _takes_gzip(headers: list[tuple[bytes, bytes]]) -> bool:
    lines = [value for name, value in headers if name == b"accept-encoding"]
    if not lines:
        return False
    if len(lines) == 1:  # the usual: one line, its answer found without a generator
        line = lines[0]
        if line == b"gzip":
            return True
        if b"gzip" not in line.lower() and b"*" not in line:
            return False
    elif not any(b"gzip" in line.lower() or b"*" in line for line in lines):
        return False
    return accepts_coding((line.decode("latin-1") for line in lines), "gzip")
