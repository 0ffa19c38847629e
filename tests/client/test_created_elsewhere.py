"""A POST's Location on another origin, or no URL at all, teaches the ETag memory nothing.

The memory learned the ETag of a POST's 2xx for whatever its Location
named. A hostile server answered a POST ``201``, ``Location:`` a document
on another host and ``ETag:`` that document's current version (which it
may read as anyone can): the caller's next ``put`` there, made from an
older read, carried that If-Match and overwrote the change it never saw
(a pure counter: 2 writes answered 2xx, n ended at 1). And a Location that
is no URL (``http://[oops``) beside an ETag raised ValueError out of
``create`` and ``post``, after the server had made the document: a caller
that tried again made a second one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from httpconflict.httpx import ConflictClient, VirtualClock
from tests.hostile_http import RawServer, Request, hostile_server


def _answer(status: int, etag: str, body: bytes, location: str = "") -> bytes:
    fields = f"etag: {etag}\r\n" + (f"location: {location}\r\n" if location else "")
    return (
        f"HTTP/1.1 {status} Answer\r\ncontent-type: application/json\r\n{fields}"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body


class Counter(RawServer):
    """``{"n": ...}`` at any path, version ``"v<n>"``: a PUT applies when its If-Match is the
    current version (412 otherwise, 428 without); `applied` counts the 2xx writes."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0
        self.applied = 0

    @property
    def etag(self) -> str:
        return f'"v{self.n}"'

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        status = 200
        if request.method == "PUT":
            if_match = request.headers.get("if-match")
            status = 428 if if_match is None else 200 if if_match == self.etag else 412
            if status == 200:
                self.n = json.loads(request.body)["n"]
                self.applied += 1
        writer.write(_answer(status, self.etag, json.dumps({"n": self.n}).encode()))
        await writer.drain()
        return True


class Elsewhere(RawServer):
    """Every POST answered 201, its Location `location`, its ETag `etag`."""

    def __init__(self, location: str, etag: str) -> None:
        super().__init__()
        self.location, self.etag = location, etag

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(_answer(201, self.etag, b'{"made": true}', self.location))
        await writer.drain()
        return True


@pytest.fixture
def counter() -> Iterator[Counter]:
    with hostile_server(Counter()) as running:
        yield running


def test_a_location_on_another_origin_sets_no_if_match_there(counter: Counter) -> None:
    """A POST answered with another host's document and its current ETag: the caller's stale
    PUT there is refused 412, not applied over the change it never saw."""
    document = f"{counter.url}/v1/notes/a"
    with httpx.Client(timeout=10) as http:
        client = ConflictClient(http, clock=VirtualClock())
        seen = client.get(document).json()["n"]  # n = 0, "v0" remembered
        other = httpx.put(document, json={"n": seen + 1}, headers={"If-Match": counter.etag})
        assert other.status_code == 200  # someone else's increment: n = 1, "v1"
        with hostile_server(Elsewhere(document, counter.etag)) as hostile:
            assert client.post(f"{hostile.url}/v1/things", json={}).status_code == 201
        stale = client.put(document, json={"n": seen + 1})
    assert stale.status_code == 412
    assert (counter.n, counter.applied) == (1, 1)


def test_a_location_of_the_same_origin_is_remembered(counter: Counter) -> None:
    """A POST whose Location is on its own origin: the next PUT there carries its ETag."""
    with httpx.Client(base_url=counter.url, timeout=10) as http:
        client = ConflictClient(http, clock=VirtualClock())
        client.etags.observe(
            "POST", f"{counter.url}/v1/notes", 201, {"location": "/v1/notes/a", "etag": '"v0"'}
        )
        assert client.put("/v1/notes/a", json={"n": 1}).status_code == 200
    assert (counter.n, counter.applied) == (1, 1)


def test_a_create_whose_location_is_no_url_is_made_once() -> None:
    """A 201 with ``Location: http://[oops`` and an ETag: create returns the document made
    (it raised ValueError, and a caller that tried again made a second)."""
    with (
        hostile_server(Elsewhere("http://[oops/c1", '"c1"')) as hostile,
        httpx.Client(base_url=hostile.url, timeout=10) as http,
    ):
        client = ConflictClient(http, clock=VirtualClock())
        stored = client.create("/v1/things", {"item": "tea"})
        answered = client.post("/v1/things", json={"item": "tea"})
    assert (stored.url, stored.document, stored.etag) == ("http://[oops/c1", {"made": True}, '"c1"')
    assert answered.status_code == 201
