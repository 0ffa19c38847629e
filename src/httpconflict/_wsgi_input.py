"""Reading a WSGI request body: whole, or not at all.

Theory of operation. PEP 3333 hands an app ``wsgi.input`` and the
Content-Length, and has no way to say that the client went away in the
middle of its body. Servers show it in one of two ways: a read that
returns fewer bytes than asked, at the end of the stream (werkzeug's
development server and gunicorn, for a body with a Content-Length), or an
`OSError` (their readers of chunked bodies, uWSGI, mod_wsgi; werkzeug's
own `LimitedStream` raises `ClientDisconnected`). Waitress reads the whole
body before it calls the app, so there an app never sees a cut one.

What arrived is not the request the client made. Running the app on it
applies a truncated write and records it under the request's
Idempotency-Key, and the client's real retry is then refused as another
request under the same key (422). So both ways are one error here,
`IncompleteBody` (400, and an `OSError`, as a failed read is):
`read_body` reads a keyed request's body before anything runs, and
`WholeInput` stands in for ``wsgi.input`` when the app reads the body
itself, returning what the server's stream returns and raising where it
would read short. An app that trusts a read of Content-Length bytes (PEP
3333 lets it) then never takes a part of a body for all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ._errors import ContentTooLarge, IncompleteBody

if TYPE_CHECKING:
    from wsgiref.types import InputStream, WSGIEnvironment
else:
    InputStream = WSGIEnvironment = Any


def content_length(environ: WSGIEnvironment) -> int | None:
    """The body's declared length, or None when it has none."""
    raw = environ.get("CONTENT_LENGTH", "")
    # Servers refuse a malformed Content-Length before the app runs.
    return int(raw) if raw.isascii() and raw.isdigit() else None


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """The whole body: 413 above `limit`, `IncompleteBody` if it ends early."""
    too_large = ContentTooLarge(f"the body exceeds the limit of {limit} bytes", max_bytes=limit)
    stream: InputStream = environ["wsgi.input"]
    length = content_length(environ)
    if length is not None:
        if length > limit:
            raise too_large
        return WholeInput(stream, length).read()
    if not environ.get("wsgi.input_terminated"):
        return b""  # PEP 3333: without a Content-Length, no body
    # Chunked: the server ends the stream with the body's last chunk, and
    # raises if the connection ends before it.
    body = bytearray()
    while len(body) <= limit:
        chunk = _reading(stream.read, limit + 1 - len(body), received=len(body))
        if not chunk:
            return bytes(body)
        body += chunk
    raise too_large


class WholeInput:
    """A ``wsgi.input`` that raises `IncompleteBody` where the server's would read short or fail.

    `length` is the Content-Length, or None for a body whose end the server
    finds itself (chunked, ``wsgi.input_terminated``): a read may return
    less only once it has the whole body.
    """

    def __init__(self, stream: InputStream, length: int | None) -> None:
        self._stream = stream
        self._length = length
        self._received = 0

    def read(self, size: int | None = -1, /) -> bytes:
        wanted = self._wanted(size)
        if self._length is None:
            return self._took(_reading(self._stream.read, wanted, self._received))
        data = bytearray()
        # PEP 3333 lets a read return less than asked before the end.
        while len(data) < wanted:
            chunk = _reading(self._stream.read, wanted - len(data), self._received + len(data))
            if not chunk:
                break
            data += chunk
        return self._took(bytes(data), complete=len(data) == wanted)

    def readline(self, size: int | None = -1, /) -> bytes:
        wanted = self._wanted(size)
        if wanted == 0:
            return b""
        line = _reading(self._stream.readline, wanted, self._received)
        return self._took(line, complete=len(line) == wanted or line.endswith(b"\n"))

    def readlines(self, hint: int | None = -1, /) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def _wanted(self, size: int | None) -> int:
        """How many bytes to ask the stream for; -1 for all of a body of unknown length."""
        left = -1 if self._length is None else self._length - self._received
        if size is None or size < 0:
            return left
        return size if left < 0 else min(size, left)

    def _took(self, data: bytes, *, complete: bool = True) -> bytes:
        self._received += len(data)
        if not complete:
            raise IncompleteBody(
                f"the body ended after {self._received} of its {self._length} bytes "
                "(Content-Length): the connection ended first",
                received=self._received,
            )
        return data


def _reading(read: Callable[[int], bytes], size: int, received: int) -> bytes:
    """``read(size)``, a failure of the stream being an incomplete body."""
    try:
        return read(size)
    except (IncompleteBody, MemoryError):
        raise
    # OSError: the connection failed; ValueError: a read from a stream the
    # server already closed; any other: the server's own refusal of what the
    # client sent (gunicorn's InvalidChunkSize and ChunkMissingTerminator
    # derive from Exception alone).
    except Exception as error:
        raise IncompleteBody(
            f"the body could not be read after {received} bytes: {error or type(error).__name__}",
            received=received,
        ) from error
