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
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from httpconflict.httpx import (
    AsyncConflictClient,
    ConflictClient,
    ConflictError,
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
        status, fields, body = self._plain(request)
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


class Trickle(KeyedCounter):
    """A `KeyedCounter` whose answers to `method` come a byte every 0.2 s, for up to 30 s:
    each byte restarts httpx's read timeout, so only the client's own deadline ends them."""

    def __init__(self, method: str) -> None:
        super().__init__()
        self.method = method

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if request.method != self.method:
            return await super().serve(request, reader, writer)
        self.methods.append(request.method)
        status, fields, _ = self._plain(request)
        writer.write(_head(status, {**fields, "transfer-encoding": "chunked"}))
        with contextlib.suppress(ConnectionError):
            for _ in range(150):
                writer.write(b"1\r\n \r\n")
                await writer.drain()
                await asyncio.sleep(0.2)
        return False


TRICKLED = RetryPolicy(attempts=3, budget=1.0)


def trickled_update(url: str, mode: str) -> tuple[StoredDocument | Exception, float]:
    """update() with a 1 s budget and httpx's 2 s read timeout; what it ended with, and when."""

    async def main() -> StoredDocument:
        async with httpx.AsyncClient(timeout=2) as http:
            client = AsyncConflictClient(http, policy=TRICKLED)
            return await client.update(url + "/v1/counters/c", increment)

    def sync() -> StoredDocument:
        with httpx.Client(timeout=2) as http:
            return ConflictClient(http, policy=TRICKLED).update(url + "/v1/counters/c", increment)

    began = time.monotonic()
    try:
        outcome: StoredDocument | Exception = asyncio.run(main()) if mode == "async" else sync()
    except ConflictError as error:
        outcome = error
    return outcome, time.monotonic() - began


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_trickled_answer_to_an_applied_write_ends_at_the_deadline(mode: str) -> None:
    """The PATCH applied, its 200 trickling for 30 s: cut one read timeout (2 s) after it began,
    the result the document sent (it went on for the 30 s)."""
    with hostile_server(Trickle("PATCH")) as server:
        outcome, took = trickled_update(server.url, mode)
    assert isinstance(outcome, StoredDocument), outcome
    assert (outcome.document, outcome.etag, server.applied) == ({"n": 1}, '"v1"', 1)
    assert took < 6, f"{took:.1f} s"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_trickled_document_ends_the_update_with_the_budget(mode: str) -> None:
    """The GET's 200 trickling: cut, tried again, and given up as the budget ends; none written."""
    with hostile_server(Trickle("GET")) as server:
        outcome, took = trickled_update(server.url, mode)
    assert isinstance(outcome, RetriesExhausted), outcome
    assert "did not come whole" in str(outcome)
    assert server.applied == 0
    assert took < 8, f"{took:.1f} s"
