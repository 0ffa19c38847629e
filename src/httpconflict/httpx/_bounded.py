"""Answers read up to a bound: a server's body never fills the client's memory.

httpx reads a whole answer into memory unless it is streamed. The client's
flows (`update`, `create`) and its watch stream every answer and read at
most a number of bytes of its body (after its Content-Encoding is
decoded, so a compressed bomb is bounded too); the rest is not read, and
the connection is closed. What the first bytes are then worth is the
flow's to decide (``Received.whole``). The passthrough methods return
answers as httpx reads them.
"""

from __future__ import annotations

from typing import Final

import httpx

#: Fields of the bytes as they came, which no longer describe them once decoded (and cut).
_FRAMING: Final = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def read_at_most(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of a streamed answer's body, and whether that is all of it; closed."""
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
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
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                return bytes(body[:limit]), False
    finally:
        await response.aclose()
    return bytes(body), True


def as_read(response: httpx.Response, body: bytes) -> httpx.Response:
    """`response` with `body` as its content (decoded), for a caller or an error to show."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _FRAMING]
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request
    )
