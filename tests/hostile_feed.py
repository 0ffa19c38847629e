"""A change feed written by hand: a raw asyncio server that sends the bytes a test scripts.

Theory of operation: every connection's request head is read (its
``Last-Event-ID`` kept), then the feed answers 200 ``text/event-stream``
with no length (the body ends when the connection does) and runs the test's
`script` on the connection: it sends bytes as they are (whatever line ends,
byte order marks or half events the test wants), waits for the test to say
it has seen an event, or holds the stream open until the client hangs up.
Returning from the script closes the connection. With `refusal` set, every
request is answered with that status and problem instead; so is every
request past the `streams` the test allows (one by default), so that a
watch that misses what it should have seen ends at once, saying so.

The loop runs in a thread of its own; `hostile_feed` starts and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: How long a script waits for the test to see an event before going on.
ACK_TIMEOUT = 10.0
#: How long a stream is held open for a client that does not close it.
HOLD = 10.0


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


class HostileFeed:
    """The feed: `url` once started; what it saw in `connections` and `last_event_ids`."""

    def __init__(self) -> None:
        self.url = ""
        self.script: Script = _nothing
        self.content_type = "text/event-stream"
        #: (status, problem) to answer every request with instead of a stream.
        self.refusal: tuple[int, dict[str, Any]] | None = None
        #: How many streams to open; past them, every request is refused (a
        #: watch that reconnects when it should not then ends, and says so).
        self.streams = 1
        self.connections = 0
        self.last_event_ids: list[str | None] = []
        self.events_sent = 0
        self._acks: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    def acked(self, seq: int) -> threading.Event:
        with self._lock:
            return self._acks.setdefault(seq, threading.Event())

    def ack(self, seq: int) -> None:
        """The test has seen the event of `seq`."""
        self.acked(seq).set()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the feed did not start within 10 s")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            last_event_id = None
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "last-event-id":
                    last_event_id = value.strip()
            index = self.connections
            self.connections += 1
            self.last_event_ids.append(last_event_id)
            refusal = self.refusal
            if refusal is None and index >= self.streams:
                refusal = (400, {"title": f"this feed opens {self.streams} stream(s) only"})
            if refusal is not None:
                status, problem = refusal
                body = json.dumps(problem).encode()
                writer.write(
                    f"HTTP/1.1 {status} Refused\r\ncontent-type: application/problem+json\r\n"
                    f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                return
            writer.write(
                f"HTTP/1.1 200 OK\r\ncontent-type: {self.content_type}\r\n"
                "cache-control: no-store\r\nconnection: close\r\n\r\n".encode()
            )
            await writer.drain()
            await self.script(Connection(self, index, last_event_id, reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@contextmanager
def hostile_feed() -> Iterator[HostileFeed]:
    feed = HostileFeed()
    feed.start()
    try:
        yield feed
    finally:
        feed.stop()
