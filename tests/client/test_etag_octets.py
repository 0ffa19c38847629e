"""An ETag holding obs-text goes back in If-Match byte for byte.

RFC 9110 §8.8.3 lets an entity tag hold any octet from 0x80 (obs-text):
``"café"``. httpx decodes such a field as UTF-8 or ISO 8859-1 and encodes
the str sent back as ASCII, so `update` raised UnicodeEncodeError after
its GET, and `get()` then `put()` (If-Match from the ETag memory) did too;
nothing was written. The client now reads fields each byte one character
(ISO 8859-1) and sends them the same way (``httpx/_fields.py``): the
server gets its own bytes back, and the write lands once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from httpconflict.httpx import AsyncConflictClient, ConflictClient, VirtualClock
from tests.hostile_http import RawServer, Request, hostile_server

LATIN_1 = b'"caf\xe9"'
UTF_8 = '"café"'.encode()
ETAGS = [pytest.param(LATIN_1, id="latin-1"), pytest.param(UTF_8, id="utf-8")]


class Octets(RawServer):
    """``{"n": ...}`` whose ETag is `etag`'s bytes; a PUT or PATCH with them in If-Match
    applies (its answer's ETag is plain), any other If-Match is 412."""

    def __init__(self, etag: bytes) -> None:
        super().__init__()
        self.etag = etag
        self.n = 0
        self.if_matches: list[bytes] = []

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        status, etag = 200, self.etag
        if request.method != "GET":
            # The server reads each byte as one character: these are the bytes that came.
            if_match = request.headers.get("if-match", "").encode("latin-1")
            self.if_matches.append(if_match)
            if if_match == self.etag:
                self.n = json.loads(request.body)["n"]
                etag = b'"v2"'
            else:
                status = 412
        body = json.dumps({"n": self.n}).encode()
        writer.write(
            b"HTTP/1.1 %d Answer\r\ncontent-type: application/json\r\netag: %s\r\n"
            b"content-length: %d\r\n\r\n%s" % (status, etag, len(body), body)
        )
        await writer.drain()
        return True


@pytest.fixture(params=ETAGS)
def server(request: pytest.FixtureRequest) -> Iterator[Octets]:
    with hostile_server(Octets(request.param)) as running:
        yield running


def increment(doc: dict[str, Any]) -> None:
    doc["n"] += 1


def test_update_sends_the_etag_back_byte_for_byte(server: Octets) -> None:
    """GET's ETag ``"café"`` (in either encoding): the PATCH's If-Match is its bytes, applied
    once (it raised UnicodeEncodeError)."""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        stored = ConflictClient(http, clock=VirtualClock()).update("/v1/notes/a", increment)
    assert (stored.document, stored.etag) == ({"n": 1}, '"v2"')
    assert (server.n, server.if_matches) == (1, [server.etag])


def test_async_update_sends_the_etag_back_byte_for_byte(server: Octets) -> None:
    """As `update`, awaited."""

    async def main() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            client = AsyncConflictClient(http, clock=VirtualClock())
            await client.update("/v1/notes/a", increment)

    asyncio.run(main())
    assert (server.n, server.if_matches) == (1, [server.etag])


def test_put_after_get_sends_the_remembered_etag_byte_for_byte(server: Octets) -> None:
    """get() then put() with no precondition: the ETag memory's If-Match is the bytes the GET
    answered; the answer reads as httpx reads it."""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        client = ConflictClient(http)
        read = client.get("/v1/notes/a")
        written = client.put("/v1/notes/a", json={"n": 5})
    assert read.headers.raw[1] == (b"etag", server.etag)
    assert (written.status_code, server.n, server.if_matches) == (200, 5, [server.etag])


def test_async_put_after_get_sends_the_remembered_etag_byte_for_byte(server: Octets) -> None:
    """As get() then put(), awaited."""

    async def main() -> int:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            client = AsyncConflictClient(http)
            await client.get("/v1/notes/a")
            return (await client.put("/v1/notes/a", json={"n": 5})).status_code

    assert asyncio.run(main()) == 200
    assert (server.n, server.if_matches) == (5, [server.etag])
