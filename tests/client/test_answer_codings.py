"""`update`, `create` and `watch` decode an answer's Content-Encoding a bounded piece at a time.

httpx decodes each network read whole, with no bound on what it decodes
to: two layers of gzip of 1.8 KB made 1 GiB, and the client held it all
before `max_answer` was looked at (2 GiB of memory, or a MemoryError
after the write was applied). The client now asks for gzip and deflate
only, decodes them itself 64 KiB at a time per layer, and takes an answer
in another coding for no answer; it follows a redirect without reading
its body. An answer may stack 5 codings at most: 1,200 layers of gzip (a
25 KB body) raised RecursionError, after a create that had been made.
Measured with tracemalloc (the servers' thread allocates little).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, TypeVar

import httpx
import pytest

from httpconflict.httpx import (
    Change,
    ConflictClient,
    ConflictError,
    RetriesExhausted,
    RetryPolicy,
    StoredDocument,
    UnusableAnswer,
    VirtualClock,
)
from tests.client.test_answer_bounds import LIMIT, async_create, increment, sync_create
from tests.hostile_http import KeyedCounter, Request, answer, hostile_server

POLICY = RetryPolicy(attempts=2)
#: What each bomb decodes to: 256 MiB past its JSON.
EXPANDED = 256 << 20
#: Memory a bounded read may take: the limit, a few pieces, the sockets' buffers.
BOUND = 16 * LIMIT

T = TypeVar("T")


@cache
def bomb(prefix: bytes, layers: int) -> bytes:
    """`prefix` and 256 MiB of JSON whitespace, gzipped `layers` times."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    spaces = b" " * (1 << 20)
    body = packer.compress(prefix) + b"".join(
        packer.compress(spaces) for _ in range(EXPANDED >> 20)
    )
    body += packer.flush()
    for _ in range(layers - 1):
        body = gzip.compress(body, 9)
    return body


class Bombed(KeyedCounter):
    """A `KeyedCounter` whose answers to `methods` are gzip bombs (`layers` deep), or come
    labelled with `coding` instead; a GET of /moved is a 307, its body a bomb too."""

    def __init__(self, *methods: str, layers: int = 2, coding: str | None = None) -> None:
        super().__init__()
        self.bombed = set(methods)
        self.layers = layers
        self.coding = coding
        self.accepted: list[str | None] = []

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.methods.append(request.method)
        self.accepted.append(request.headers.get("accept-encoding"))
        if request.target.startswith("/moved"):
            status, fields = 307, {"location": request.target.removeprefix("/moved")}
            body = bomb(b"", self.layers)
        else:
            status, fields, body = self._plain(request)
        if request.method in self.bombed or status == 307:
            body = body if self.coding else bomb(body[:-1], self.layers)
            label = self.coding or ", ".join(["gzip"] * self.layers)
            fields = {**fields, "content-encoding": label}
        fields = {**fields, "content-length": str(len(body))}
        head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
        with contextlib.suppress(ConnectionError):
            writer.write(f"HTTP/1.1 {status} Answer\r\n{head}\r\n".encode() + body)
            await writer.drain()
        return status != 307


def peak(call: Callable[[], T]) -> tuple[T, int]:
    """What `call` returns, and the most memory Python held meanwhile above where it began."""
    tracemalloc.start()
    try:
        return call(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def outcome(call: Callable[[], T]) -> T | ConflictError:
    """What `call` returns, or the client's error it raises."""
    try:
        return call()
    except ConflictError as error:
        return error


def update(url: str, **options: Any) -> StoredDocument:
    with httpx.Client(timeout=10, **options) as http:
        client = ConflictClient(http, policy=POLICY, clock=VirtualClock(), max_answer=LIMIT)
        return client.update(url + "/v1/counters/c", increment)


@contextlib.contextmanager
def server(bombed: Bombed) -> Iterator[Bombed]:
    bomb(b"", bombed.layers)  # made before anything is measured
    with hostile_server(bombed) as running:
        yield running


def test_a_document_in_two_layers_of_gzip_is_read_to_the_bound_only() -> None:
    with server(Bombed("GET")) as bombed:
        unusable, held = peak(lambda: outcome(lambda: update(bombed.url)))
    assert isinstance(unusable, UnusableAnswer)
    assert "longer than the 1,048,576 bytes" in str(unusable)
    assert held < BOUND, f"{held:,} bytes held"
    # The read asks for identity (its ETag is the one If-Match compares with);
    # a server that compresses all the same is decoded within the bound.
    assert (bombed.applied, bombed.accepted[0]) == (0, "identity")


def test_an_applied_write_answered_by_a_bomb_is_the_document_sent() -> None:
    with server(Bombed("PATCH")) as bombed:
        stored, held = peak(lambda: update(bombed.url))
    assert (stored.document, bombed.applied) == ({"n": 1}, 1)
    assert held < BOUND, f"{held:,} bytes held"


def test_an_async_create_answered_by_a_bomb_is_made_once() -> None:
    with server(Bombed("POST", layers=1)) as bombed:
        stored, held = peak(lambda: async_create(bombed.url))
    assert (stored.document, bombed.created) == ({"n": 7}, 1)
    assert held < BOUND, f"{held:,} bytes held"


def test_an_answer_in_a_coding_not_asked_for_is_no_answer() -> None:
    """``br`` (which httpx would decode, unbounded): the GET is tried again, then given up,
    naming the coding; nothing is written."""
    with server(Bombed("GET", coding="br")) as bombed, pytest.raises(RetriesExhausted) as ended:
        update(bombed.url)
    assert "Content-Encoding is 'br', which the client did not ask for" in str(ended.value)
    assert (bombed.methods, bombed.applied) == (["GET"] * POLICY.attempts, 0)


def test_a_redirect_is_followed_without_reading_its_body() -> None:
    """A 307 whose body is a bomb, with a client that follows redirects: followed, unread."""
    with server(Bombed()) as bombed:
        url = bombed.url + "/moved"
        stored, held = peak(lambda: update(url, follow_redirects=True))
    assert (stored.document, bombed.applied) == ({"n": 1}, 1)
    assert bombed.methods == ["GET", "GET", "PATCH", "PATCH"]
    assert held < BOUND, f"{held:,} bytes held"


def test_a_watch_reads_a_bombed_stream_to_its_bounds() -> None:
    """The event stream in two layers of gzip: one event past 1 MiB unfinished is unusable,
    read a piece at a time."""

    class Feed(Bombed):
        async def serve(
            self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> bool:
            body = bomb(b"id: 1\nevent: change\ndata: ", 2)
            fields = "content-type: text/event-stream\r\ncontent-encoding: gzip, gzip\r\n"
            with contextlib.suppress(ConnectionError):
                writer.write(f"HTTP/1.1 200 OK\r\n{fields}\r\n".encode() + body)
                await writer.drain()
            return False

    def watch(url: str) -> list[Change]:
        with httpx.Client(timeout=10) as http:
            client = ConflictClient(http, policy=POLICY, clock=VirtualClock())
            return list(client.watch(url + "/v1/notes"))

    with server(Feed()) as feed:
        unusable, held = peak(lambda: outcome(lambda: watch(feed.url)))
    assert isinstance(unusable, UnusableAnswer)
    assert held < BOUND, f"{held:,} bytes held"


class Stacked(KeyedCounter):
    """A `KeyedCounter` whose answers come in `layers` stacked layers of gzip."""

    def __init__(self, layers: int) -> None:
        super().__init__()
        self.layers = layers

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.methods.append(request.method)
        status, fields, body = self._plain(request)
        for _ in range(self.layers):
            body = gzip.compress(body, 1)
        fields = {**fields, "content-encoding": ", ".join(["gzip"] * self.layers)}
        writer.write(answer(status, fields, body))
        await writer.drain()
        return True


@pytest.mark.parametrize("create", [sync_create, async_create])
def test_a_create_answered_in_1200_codings_is_made_once(
    create: Callable[[str], StoredDocument],
) -> None:
    """The 201 in 1,200 layers of gzip: more than 5 is an unreadable answer, and a 2xx to a
    write says it was applied: the document sent, created once (it was RecursionError)."""
    with hostile_server(Stacked(1200)) as stacked:
        stored = create(stacked.url)
    assert (stored.document, stacked.created, stacked.methods) == ({"n": 7}, 1, ["POST"])


@pytest.mark.parametrize("layers", [5, 1200])
def test_a_document_in_too_many_codings_is_no_answer(layers: int) -> None:
    """A GET answered in 5 layers is read; in 1,200 it is no answer, tried again and given up,
    saying why, nothing written (it was RecursionError)."""
    with hostile_server(Stacked(layers)) as stacked:
        result = outcome(lambda: update(stacked.url))
    if layers == 5:
        assert isinstance(result, StoredDocument)
        assert (result.document, stacked.applied) == ({"n": 1}, 1)
    else:
        assert isinstance(result, RetriesExhausted)
        assert "stacks more than 5 codings" in str(result)
        assert (stacked.methods, stacked.applied) == (["GET"] * POLICY.attempts, 0)
