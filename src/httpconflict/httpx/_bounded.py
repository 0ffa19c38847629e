"""Answers read up to a bound: a server's body never fills the client's memory.

httpx reads a whole answer into memory unless it is streamed, and decodes
its Content-Encoding one network read at a time with no bound on what a
read decodes to (829 bytes of brotli, or two layers of gzip, make a GiB).
The client's flows (`update`, `create`) and its watch therefore ask for
the codings zlib can decode a piece at a time (`ACCEPT_ENCODING`), read
every answer raw and decode it here, `PIECE` bytes at most per step, each
layer of a stacked coding too; an answer in any other coding, or in
more than `MAX_CODINGS` stacked, is no answer (``httpx.DecodingError``,
as httpx raises for one it cannot decode). They read at most a number
of bytes of what that decodes to; the rest is not read, and the
connection is closed. What the first bytes are then worth is the flow's
to decide (``Received.whole``).

Redirects are followed as the httpx client is set to, but without reading
the redirect's body, which httpx reads whole, and only those that keep
the request's method (`send`). An authentication
challenge httpx answers itself (``httpx.DigestAuth``) is still read whole
by httpx. The passthrough methods return answers as httpx reads them.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Final

import httpx

#: The codings the flows and the watch accept: those decoded here, a piece at a time.
ACCEPT_ENCODING: Final = "gzip, deflate"
#: Decoded bytes one step makes at most, per layer.
PIECE: Final = 64 * 1024
#: Codings an answer may stack at most (curl's bound too, since CVE-2022-32206): each layer
#: holds a decoder (a 32 KiB window), and 1,200 layers of gzip once took the client's stack.
MAX_CODINGS: Final = 5

#: Fields of the bytes as they came, which no longer describe them once decoded (and cut).
_FRAMING: Final = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})
_GZIP: Final = frozenset({"gzip", "x-gzip"})


def send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    """`request`'s answer, streamed; redirects followed as `client` is set to, bodies unread.

    Only a redirect that resends the same method is followed (307, 308, and
    301 or 302 to other than a POST): one that httpx would turn into a GET
    (303, or 301 or 302 to a POST) is the answer, since a page's 200 to that
    GET is no answer to the write. A redirect past the client's
    `max_redirects` is the answer too (a loop, answered the same way however
    often it is sent), with the redirects followed to it in its ``history``.

    A hop runs no auth flow of `client`'s, as in httpx, which authenticates
    the first request only: the hop's request carries the first one's
    Authorization where httpx keeps it (the same origin), and nothing of
    `client`'s credentials reaches another origin (each hop once ran the
    auth flow again, and sent ``auth=`` credentials to wherever a 307
    pointed). Cookie and Proxy-Authorization fields are not carried to
    another origin either.
    """
    history: list[httpx.Response] = []
    while True:
        auth = _HOP if history else httpx.USE_CLIENT_DEFAULT
        response = client.send(request, stream=True, follow_redirects=False, auth=auth)
        following = _next(client, response, history)
        if following is None:
            response.history = history
            return response
        request = following
        response.close()
        history.append(response)


async def asend(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """`send`, for an httpx.AsyncClient."""
    history: list[httpx.Response] = []
    while True:
        auth = _HOP if history else httpx.USE_CLIENT_DEFAULT
        response = await client.send(request, stream=True, follow_redirects=False, auth=auth)
        following = _next(client, response, history)
        if following is None:
            response.history = history
            return response
        request = following
        await response.aclose()
        history.append(response)


def _next(
    client: httpx.Client | httpx.AsyncClient,
    response: httpx.Response,
    history: Sequence[httpx.Response],
) -> httpx.Request | None:
    """The redirect of `response` to follow, or None when `response` is the answer."""
    following = response.next_request
    if (
        following is None
        or not client.follow_redirects
        or len(history) >= client.max_redirects
        or following.method != response.request.method
    ):
        return None
    if _origin(following.url) != _origin(response.request.url):
        for name in _CREDENTIALS:
            following.headers.pop(name, None)
    return following


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """RFC 6454 §4: the origin of a URL is its scheme, host and port."""
    return url.scheme, url.host, url.port if url.port is not None else _PORTS.get(url.scheme)


_PORTS: Final = {"http": 80, "https": 443}
#: Fields of credentials httpx may carry to another origin: Cookie is set from
#: the client's jar, whose cookies without a domain match any host.
#: (Authorization: httpx drops it, but on a move from http to https.)
_CREDENTIALS: Final = ("Cookie", "Proxy-Authorization")
#: The auth of a hop: none (see `send`).
_HOP: Final = httpx.Auth()


class _Inflate:
    """One layer of gzip or deflate, decoded `PIECE` bytes at most per step."""

    def __init__(self, coding: str, request: httpx.Request) -> None:
        self._gzip = coding in _GZIP
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)
        self._started = False
        self._request = request

    def pieces(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self._zlib.decompress(data, PIECE)
            except zlib.error as error:
                if not self._gzip and not self._started:
                    # "deflate" sent as a raw stream, without its zlib wrapper
                    # (some servers do): httpx takes it too.
                    self._zlib, self._started = zlib.decompressobj(-zlib.MAX_WBITS), True
                    continue
                raise httpx.DecodingError(str(error), request=self._request) from error
            self._started = True
            data = self._zlib.unconsumed_tail
            if out:
                yield out
            if len(out) < PIECE and (not data or not out):
                return

    def flush(self) -> bytes:
        try:
            return self._zlib.flush()
        except zlib.error as error:
            raise httpx.DecodingError(str(error), request=self._request) from error


def _layers(response: httpx.Response) -> list[_Inflate]:
    """The decoders of the answer's codings, the last applied first."""
    field = response.headers.get("content-encoding", "")
    codings = [c.strip().lower() for c in field.split(",") if c.strip()]
    layers = []
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding not in {*_GZIP, "deflate"}:
            raise httpx.DecodingError(
                f"the answer's Content-Encoding is {coding!r}, which the client did not ask "
                f"for (it takes {ACCEPT_ENCODING})",
                request=response.request,
            )
        layers.append(_Inflate(coding, response.request))
        if len(layers) > MAX_CODINGS:
            raise httpx.DecodingError(
                f"the answer's Content-Encoding stacks more than {MAX_CODINGS} codings",
                request=response.request,
            )
    return layers


def _through(layers: Sequence[_Inflate], data: bytes) -> Iterator[bytes]:
    if not layers:
        if data:
            yield data
        return
    for piece in layers[0].pieces(data):
        yield from _through(layers[1:], piece)


def _end(layers: Sequence[_Inflate]) -> Iterator[bytes]:
    for index, layer in enumerate(layers):
        yield from _through(layers[index + 1 :], layer.flush())


def decoded(response: httpx.Response) -> Iterator[bytes]:
    """A streamed answer's body, decoded a bounded piece at a time.

    An answer a transport made whole (``httpx.MockTransport``, one built
    with ``content=``) was read, and decoded, by httpx: its content is it.
    A network read that decodes to nothing yields an empty piece, so that
    a reader looks at its clock on every read (an empty deflate block a
    second decodes to nothing for ever, each read within httpx's timeout).
    """
    if response.is_stream_consumed:
        yield response.content
        return
    layers = _layers(response)
    for raw in response.iter_raw():
        yield from _each_read(_through(layers, raw))
    yield from _end(layers)


def _each_read(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """The pieces one network read decodes to; one empty piece if none."""
    empty = True
    for piece in pieces:
        empty = False
        yield piece
    if empty:
        yield b""


async def adecoded(response: httpx.Response) -> AsyncIterator[bytes]:
    """`decoded`, for an answer of an httpx.AsyncClient."""
    if response.is_stream_consumed:
        yield response.content
        return
    layers = _layers(response)
    async for raw in response.aiter_raw():
        for piece in _each_read(_through(layers, raw)):
            yield piece
    for piece in _end(layers):
        yield piece


def read_at_most(
    response: httpx.Response, limit: int, late: Callable[[], bool] = lambda: False
) -> tuple[bytes, bool]:
    """Up to `limit` bytes of a streamed answer's body, and whether that is all of it; closed.

    Raises ``httpx.ReadTimeout`` once `late()` says so (looked at after each
    network read: httpx's read timeout restarts with each byte that comes).
    """
    body = bytearray()
    try:
        for chunk in decoded(response):
            if late():
                raise httpx.ReadTimeout(
                    "the answer did not come whole in time", request=response.request
                )
            body += chunk
            if len(body) > limit:
                return bytes(body[:limit]), False
    finally:
        response.close()
    return bytes(body), True


async def aread_at_most(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """`read_at_most`, for an answer of an httpx.AsyncClient."""
    body = bytearray()
    try:
        async for chunk in adecoded(response):
            body += chunk
            if len(body) > limit:
                return bytes(body[:limit]), False
    finally:
        await response.aclose()
    return bytes(body), True


def as_read(response: httpx.Response, body: bytes) -> httpx.Response:
    """`response` with `body` as its content (decoded), for a caller or an error to show."""
    # The fields' bytes as they came (an ETag may hold obs-text, which a str
    # field would be re-encoded from as ASCII).
    headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _FRAMING]
    read = httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request
    )
    read.history = response.history
    return read
