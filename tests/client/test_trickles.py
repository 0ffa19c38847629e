"""Answers that come a few bytes at a time, for ever, end within their bound (on the real clock).

Each read restarts httpx's read timeout, so the client keeps its own
clock. It looked at it only when a read decoded to something: a gzip
answer sending an empty deflate block (5 bytes, which decode to nothing)
every half second hung the blocking `update` and `create` and both
watches for as long as the server went on (killed at 40 s). And a watch
put no bound on opening its stream: interim 103 answers without end, a
head a byte at a time, or a 503 whose body trickles hung it, sync and
async (what remains: the blocking client cannot cut a head or 1xx
answers that never end, docs/client.md). Each case must end within its
bound plus 10 s (to prove "did not hang", not to time the client).
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
    OutcomeUnknown,
    RetriesExhausted,
    RetryPolicy,
)
from tests.hostile_http import RawServer, Request, hostile_server

#: The client's budget, and httpx's timeouts (each longer than a trickle's period).
BUDGET = 1.0
TIMEOUT = 1.0
POLICY = RetryPolicy(budget=BUDGET, attempts=3)
#: Seconds between two of a trickle's pieces, and how long a server goes on at most.
PERIOD = 0.25
FOR_EVER = 60.0
#: What a watch with heartbeat=1 takes at most: a few opens of a read timeout (3 s), the
#: connect timeout each, and the budget; "did not hang" is that plus 10 s.
WATCH_BOUND = 3 * (3 + TIMEOUT) + BUDGET + 10
UPDATE_BOUND = BUDGET + TIMEOUT + 10

#: A gzip header, then an empty stored deflate block, not final (it decodes to nothing).
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
EMPTY_BLOCK = b"\x00\x00\x00\xff\xff"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Trickle(RawServer):
    """Every request answered by `kind`, a piece every `PERIOD` s until the client leaves:

    ``gzip-200`` and ``gzip-503``: a chunked gzip body of empty deflate blocks (``200`` as a
    JSON document, or an event stream for a watch's GET); ``103``: interim answers; ``head``:
    a status line, then a field a byte at a time; ``refusal``: a 503 whose body trickles.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.requests = 0

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.requests += 1
        if self.kind.startswith("gzip"):
            status = 503 if self.kind == "gzip-503" else 200
            media = "text/event-stream" if "_changes" in request.target else "application/json"
            writer.write(
                f'HTTP/1.1 {status} Answer\r\ncontent-type: {media}\r\netag: "v1"\r\n'
                "content-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n".encode()
                + chunk(GZIP_HEADER)
            )
            piece = chunk(EMPTY_BLOCK)
        elif self.kind == "103":
            piece = b"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n"
        elif self.kind == "head":
            writer.write(b"HTTP/1.1 200 OK\r\nx-slow: ")
            piece = b"a"
        else:
            writer.write(
                b"HTTP/1.1 503 Answer\r\ncontent-type: application/problem+json\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            piece = chunk(b" ")
        with contextlib.suppress(ConnectionError):
            ends = time.monotonic() + FOR_EVER
            while time.monotonic() < ends:
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(PERIOD)
        return False


def increment(doc: dict[str, Any]) -> None:
    doc["n"] += 1


def timed(call: Callable[[], object]) -> tuple[BaseException, float]:
    """The error `call` ends with, and how long it took."""
    began = time.monotonic()
    with pytest.raises(ConflictError) as error:
        call()
    return error.value, time.monotonic() - began


@contextlib.contextmanager
def trickle(kind: str) -> Iterator[Trickle]:
    with hostile_server(Trickle(kind)) as running:
        yield running


def sync_watch(url: str) -> None:
    with httpx.Client(timeout=TIMEOUT) as http:
        for _ in ConflictClient(http, policy=POLICY).watch(url + "/v1/notes", heartbeat=1):
            pass


def async_watch(url: str) -> None:
    async def main() -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            client = AsyncConflictClient(http, policy=POLICY)
            async for _ in client.watch(url + "/v1/notes", heartbeat=1):
                pass

    asyncio.run(main())


def test_a_gzip_answer_of_empty_blocks_ends_the_update_within_budget() -> None:
    """GET answered by empty deflate blocks for ever: `RetriesExhausted` within the budget (it
    hung past 40 s)."""
    with trickle("gzip-200") as server:

        def update() -> None:
            with httpx.Client(timeout=TIMEOUT) as http:
                ConflictClient(http, policy=POLICY).update(server.url + "/v1/a", increment)

        error, took = timed(update)
    assert isinstance(error, RetriesExhausted), error
    assert "did not come whole in time" in str(error)
    assert took < UPDATE_BOUND


def test_a_gzip_refusal_of_empty_blocks_ends_the_create_within_budget() -> None:
    """POST answered 503 whose gzip body is empty blocks for ever: `OutcomeUnknown` within the
    budget (it hung past 40 s)."""
    with trickle("gzip-503") as server:

        def create() -> None:
            with httpx.Client(timeout=TIMEOUT) as http:
                ConflictClient(http, policy=POLICY).create(server.url + "/v1", {"n": 0})

        error, took = timed(create)
    assert isinstance(error, OutcomeUnknown), error
    assert took < UPDATE_BOUND


@pytest.mark.parametrize("watch", [sync_watch, async_watch])
def test_a_gzip_stream_of_empty_blocks_is_dropped_as_silent(
    watch: Callable[[str], None],
) -> None:
    """A feed sending empty deflate blocks for ever completes no event: dropped after three
    heartbeats, reopened, given up (it hung past 40 s, sync and async)."""
    with trickle("gzip-200") as server:
        error, took = timed(lambda: watch(server.url))
    assert isinstance(error, RetriesExhausted), error
    assert "sent no whole event within 3 s" in str(error)
    assert took < WATCH_BOUND
    assert server.requests >= 2


@pytest.mark.parametrize(
    ("kind", "watch"),
    [
        pytest.param("103", async_watch, id="1xx-async"),
        pytest.param("head", async_watch, id="head-async"),
        pytest.param("refusal", async_watch, id="refusal-async"),
        pytest.param("refusal", sync_watch, id="refusal-sync"),
    ],
)
def test_a_stream_that_never_opens_is_given_up(kind: str, watch: Callable[[str], None]) -> None:
    """103 answers without end, a head a byte at a time, a 503 whose body trickles: each open
    is cut after a read timeout and the connect timeout, reopened, given up (each hung)."""
    with trickle(kind) as server:
        error, took = timed(lambda: watch(server.url))
    assert isinstance(error, RetriesExhausted), error
    assert took < WATCH_BOUND
    assert server.requests >= 2
