"""`update` and `create` read at most `max_answer` bytes of an answer, whatever the server sends.

A server (written by hand, on 127.0.0.1) answers with a body that goes on
until the client leaves (or 64 MiB): the document to a GET, the answer to
an applied PATCH or POST, a 412. httpx read every answer whole, so such a
server grew the client's memory without bound. Now the client reads
`max_answer` bytes (here 1 MiB) and closes the connection, and what it
makes of it is safe: a document it could not read is an `UnusableAnswer`
and nothing is written; a write answered 2xx was applied, and the result
is the document sent, once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from httpconflict.httpx import (
    AsyncConflictClient,
    ConflictClient,
    RetriesExhausted,
    RetryPolicy,
    StoredDocument,
    UnusableAnswer,
    VirtualClock,
)
from tests.hostile_http import KeyedCounter, Request, hostile_server

LIMIT = 1 << 20
#: What the server sends of an endless body at most: the old client read it all.
ENDLESS = 64 << 20
POLICY = RetryPolicy(attempts=3)


class EndlessCounter(KeyedCounter):
    """A `KeyedCounter` whose answers named in `endless` go on past their JSON."""

    def __init__(self, *endless: str) -> None:
        super().__init__()
        self.endless = set(endless)
        #: Bytes of endless bodies sent before the client left.
        self.sent = 0

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.methods.append(request.method)
        if request.method == "GET":
            status, fields, body = 200, *self._document()
        else:
            status, fields, body = self._write(request)
        if request.method not in self.endless and str(status) not in self.endless:
            head = {**fields, "content-length": str(len(body))}
            writer.write(_head(status, head) + body)
            await writer.drain()
            return True
        writer.write(_head(status, {**fields, "transfer-encoding": "chunked"}))
        padding = b" " * 65536  # JSON whitespace: the body is JSON until it ends
        with contextlib.suppress(ConnectionError):
            for chunk in [body[:-1], *[padding] * (ENDLESS // len(padding))]:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
                self.sent += len(chunk)
        return False


def _head(status: int, fields: dict[str, str]) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return f"HTTP/1.1 {status} Answer\r\n{lines}\r\n".encode()


def increment(doc: dict[str, Any]) -> None:
    doc["n"] += 1


def sync_update(url: str) -> StoredDocument:
    with httpx.Client(timeout=10) as http:
        client = ConflictClient(http, policy=POLICY, clock=VirtualClock(), max_answer=LIMIT)
        return client.update(url + "/v1/counters/c", increment)


def async_update(url: str) -> StoredDocument:
    async def main() -> StoredDocument:
        async with httpx.AsyncClient(timeout=10) as http:
            client = AsyncConflictClient(
                http, policy=POLICY, clock=VirtualClock(), max_answer=LIMIT
            )
            return await client.update(url + "/v1/counters/c", increment)

    return asyncio.run(main())


def sync_create(url: str) -> StoredDocument:
    with httpx.Client(timeout=10) as http:
        client = ConflictClient(http, policy=POLICY, clock=VirtualClock(), max_answer=LIMIT)
        return client.create(url + "/v1/counters", {"n": 7})


def async_create(url: str) -> StoredDocument:
    async def main() -> StoredDocument:
        async with httpx.AsyncClient(timeout=10) as http:
            client = AsyncConflictClient(
                http, policy=POLICY, clock=VirtualClock(), max_answer=LIMIT
            )
            return await client.create(url + "/v1/counters", {"n": 7})

    return asyncio.run(main())


UPDATES = [pytest.param(sync_update, id="sync"), pytest.param(async_update, id="async")]
CREATES = [pytest.param(sync_create, id="sync"), pytest.param(async_create, id="async")]


@contextlib.contextmanager
def endless(*answers: str) -> Iterator[EndlessCounter]:
    with hostile_server(EndlessCounter(*answers)) as server:
        yield server
    # What was sent is what the client read, plus the sockets' buffers.
    assert server.sent < 16 * LIMIT, f"the client read {server.sent:,} bytes"


@pytest.mark.parametrize("update", UPDATES)
def test_a_document_past_the_bound_is_unusable_and_nothing_is_written(
    update: Callable[[str], StoredDocument],
) -> None:
    with endless("GET") as server, pytest.raises(UnusableAnswer) as unusable:
        update(server.url)
    said = "the document read is longer than the 1,048,576 bytes the client reads (max_answer)"
    assert said in str(unusable.value)
    assert (server.n, server.applied, server.methods) == (0, 0, ["GET"])


@pytest.mark.parametrize("update", UPDATES)
def test_an_applied_write_answered_past_the_bound_is_the_document_sent(
    update: Callable[[str], StoredDocument],
) -> None:
    with endless("PATCH") as server:
        stored = update(server.url)
    assert (stored.document, stored.etag) == ({"n": 1}, '"v1"')
    assert (server.n, server.applied, server.methods) == (1, 1, ["GET", "PATCH"])


@pytest.mark.parametrize("create", CREATES)
def test_a_create_answered_past_the_bound_is_the_document_sent_once(
    create: Callable[[str], StoredDocument],
) -> None:
    with endless("POST") as server:
        stored = create(server.url)
    assert stored.url == server.url + "/v1/counters/c1"
    assert stored.document == {"n": 7}
    assert (server.created, server.methods) == (1, ["POST"])


class Stale(EndlessCounter):
    """Every write refused 412 (the document changed meanwhile), its problem with no end."""

    def _write(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        return 412, {"content-type": "application/problem+json"}, b'{"status": 412}'


@pytest.mark.parametrize("update", UPDATES)
def test_a_refusal_past_the_bound_is_judged_by_its_status(
    update: Callable[[str], StoredDocument],
) -> None:
    """Each PATCH answered 412 with no end: read again and retried, by its status, to the last."""
    with hostile_server(Stale("412")) as server, pytest.raises(RetriesExhausted) as exhausted:
        update(server.url)
    assert "last: PATCH answered 412" in str(exhausted.value)
    assert server.methods == ["GET", "PATCH"] * POLICY.attempts
    assert server.sent < 16 * LIMIT * POLICY.attempts, f"the client read {server.sent:,} bytes"


def test_max_answer_is_a_number_of_bytes() -> None:
    with pytest.raises(ValueError, match="max_answer must be"):
        ConflictClient(max_answer=-1)
