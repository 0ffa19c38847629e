"""Servers written by hand for the client's tests: raw asyncio servers on 127.0.0.1.

Theory of operation: `RawServer` runs an asyncio loop in a thread of its
own, reads each request's head (and a Content-Length body) and hands it to
a subclass, which writes whatever bytes the test wants, the way a server
other than the reference one may: a change feed whose lines end in a lone
CR, an answer whose Content-Encoding lies. `hostile_server` starts one and
stops it.

`HostileFeed` answers 200 ``text/event-stream`` with no length (the body
ends when the connection does) and runs the test's `script` on the
connection: it sends bytes as they are, waits for the test to say it has
seen an event, or holds the stream open until the client hangs up.
Returning from the script closes the connection. With `refusal` set, every
request is answered with that status and problem instead; so is every
request past the `streams` the test allows (one by default), so that a
watch that misses what it should have seen ends at once, saying so.

`KeyedCounter` is one document, ``{"n": ...}``, written by PATCH with
If-Match and an Idempotency-Key (a key seen before gets its recorded
answer again, ``Idempotent-Replayed: true``), created by POST the same
way; it counts what it applied, and sends its first `garbled` answers to
writes with ``Content-Encoding: gzip`` over a body that is not gzip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from tests.loop_thread import LoopServer

#: How long a script waits for the test to see an event before going on.
ACK_TIMEOUT = 10.0
#: How long a stream is held open for a client that does not close it.
HOLD = 10.0


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    #: Field names in lower case.
    headers: dict[str, str]
    body: bytes


def answer(status: int, headers: dict[str, str], body: bytes = b"") -> bytes:
    """An HTTP/1.1 answer with a Content-Length."""
    fields = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head = f"HTTP/1.1 {status} Answer\r\n{fields}content-length: {len(body)}\r\n\r\n"
    return head.encode() + body


def problem_answer(status: int, problem: dict[str, Any], close: bool = True) -> bytes:
    fields = {"content-type": "application/problem+json"}
    if close:
        fields["connection"] = "close"
    return answer(status, fields, json.dumps(problem).encode())


class RawServer(LoopServer):
    """A server on 127.0.0.1 (`url` once started) whose subclass answers each request."""

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                start, *lines = head.split("\r\n")
                method, target, _ = start.split(" ", 2)
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                keep = await self.serve(Request(method, target, headers, body), reader, writer)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer `request`; whether to read another request from the connection."""
        raise NotImplementedError


class Connection:
    """One client connection to the feed, as its script sees it."""

    def __init__(
        self,
        feed: HostileFeed,
        index: int,
        last_event_id: str | None,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.feed = feed
        self.index = index
        self.last_event_id = last_event_id
        self._reader = reader
        self._writer = writer

    async def send(self, data: bytes) -> None:
        """Count `data` as one event sent, then write it (so no reader sees it uncounted)."""
        self.feed.events_sent += 1
        self._writer.write(data)
        await self._writer.drain()

    async def wait_for_ack(self, seq: int) -> None:
        """Until the test has seen `seq` (or `ACK_TIMEOUT` passed)."""
        await asyncio.to_thread(self.feed.acked(seq).wait, ACK_TIMEOUT)

    async def hold(self) -> None:
        """Keep the stream open until the client closes it (or `HOLD` seconds passed)."""
        with contextlib.suppress(ConnectionError, TimeoutError):
            async with asyncio.timeout(HOLD):
                while await self._reader.read(1024):
                    pass


Script = Callable[[Connection], Awaitable[None]]


async def _nothing(connection: Connection) -> None:
    await connection.hold()


class HostileFeed(RawServer):
    """The feed: what it saw in `connections` and `last_event_ids`."""

    def __init__(self) -> None:
        super().__init__()
        self.script: Script = _nothing
        self.content_type = "text/event-stream"
        #: (status, problem) to answer every request with instead of a stream.
        self.refusal: tuple[int, dict[str, Any]] | None = None
        #: A status to answer every request with, its chunked body never ending (up to 64 MiB).
        self.endless_refusal: int | None = None
        #: How many streams to open; past them, every request is refused (400, or `beyond`).
        self.streams = 1
        self.beyond: tuple[int, dict[str, Any]] | None = None
        #: (prefix, location): a request whose target starts with prefix is answered 307 to it.
        self.redirect: tuple[str, str] | None = None
        self.targets: list[str] = []
        self.connections = 0
        #: When each request came (time.monotonic()), to measure the waits between them.
        self.opened: list[float] = []
        self.last_event_ids: list[str | None] = []
        #: The Accept-Encoding of each request (the last field of that name).
        self.accept_encodings: list[str | None] = []
        self.events_sent = 0
        self._acks: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def acked(self, seq: int) -> threading.Event:
        with self._lock:
            return self._acks.setdefault(seq, threading.Event())

    def ack(self, seq: int) -> None:
        """The test has seen the event of `seq`."""
        self.acked(seq).set()

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.targets.append(request.target)
        if self.redirect is not None and request.target.startswith(self.redirect[0]):
            writer.write(answer(307, {"location": self.redirect[1], "connection": "close"}))
            await writer.drain()
            return False
        index = self.connections
        self.connections += 1
        self.opened.append(time.monotonic())
        last_event_id = request.headers.get("last-event-id")
        self.last_event_ids.append(last_event_id)
        self.accept_encodings.append(request.headers.get("accept-encoding"))
        if self.endless_refusal is not None:
            await _endless(writer, self.endless_refusal)
            return False
        refusal = self.refusal
        if refusal is None and index >= self.streams:
            refusal = self.beyond or (
                400,
                {"title": f"this feed opens {self.streams} stream(s) only"},
            )
        if refusal is not None:
            writer.write(problem_answer(*refusal))
            await writer.drain()
            return False
        writer.write(
            f"HTTP/1.1 200 OK\r\ncontent-type: {self.content_type}\r\n"
            "cache-control: no-store\r\nconnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        await self.script(Connection(self, index, last_event_id, reader, writer))
        return False


async def _endless(writer: asyncio.StreamWriter, status: int) -> None:
    """Answer `status` with a chunked body that goes on until the client leaves (or 64 MiB)."""
    writer.write(
        f"HTTP/1.1 {status} Refused\r\ncontent-type: application/problem+json\r\n"
        "retry-after: 1\r\ntransfer-encoding: chunked\r\n\r\n".encode()
    )
    chunk = b"x" * 65536
    with contextlib.suppress(ConnectionError):
        for _ in range(1024):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()


class KeyedCounter(RawServer):
    """``{"n": ...}`` at any path, PATCHed with If-Match and a key; POST creates, keyed too."""

    def __init__(self, garbled: int = 0) -> None:
        super().__init__()
        self.n = 0
        #: Writes applied (not replays), and documents created.
        self.applied = 0
        self.created = 0
        #: Answers to writes still to send garbled.
        self.garbled = garbled
        self.methods: list[str] = []
        self._answers: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def _document(self) -> tuple[dict[str, str], bytes]:
        return {"content-type": "application/json", "etag": f'"v{self.n}"'}, json.dumps(
            {"n": self.n}
        ).encode()

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.methods.append(request.method)
        if request.method == "GET":
            writer.write(answer(200, *self._document()))
            await writer.drain()
            return True
        key = request.headers.get("idempotency-key", "")
        if key in self._answers:
            status, fields, body = self._answers[key]
            fields = {**fields, "idempotent-replayed": "true"}
        else:
            status, fields, body = self._write(request)
            self._answers[key] = (status, fields, body)
        if self.garbled > 0:
            self.garbled -= 1
            fields = {**fields, "content-encoding": "gzip"}
        writer.write(answer(status, fields, body))
        await writer.drain()
        return True

    def _plain(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        """The answer to `request`, keys aside: the document for a GET, else the write's."""
        if request.method == "GET":
            return 200, *self._document()
        return self._write(request)

    def _write(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.method == "POST":
            self.created += 1
            fields, body = self._document()
            return 201, {**fields, "location": f"/v1/counters/c{self.created}"}, body
        if request.headers.get("if-match") != f'"v{self.n}"':
            problem = {"type": "https://httpconflict.dev/problems/precondition-failed"}
            fields = {"content-type": "application/problem+json"}
            return 412, fields, json.dumps(problem | {"status": 412}).encode()
        self.n = json.loads(request.body)["n"]
        self.applied += 1
        return 200, *self._document()


Server = TypeVar("Server", bound=RawServer)


@contextmanager
def hostile_server(server: Server) -> Iterator[Server]:
    """`server`, started, until the block ends."""
    server.start()
    try:
        yield server
    finally:
        server.stop()
