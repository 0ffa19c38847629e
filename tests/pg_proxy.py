"""A TCP proxy in front of PostgreSQL that breaks one connection at a chosen moment.

Theory of operation: each client connection gets its own connection to the
server, and bytes are passed along both ways as they come. A test arms a
cut with a marker, bytes of SQL text (psycopg sends a statement's text the
first times it runs it on a connection, before preparing it):

- `cut_answer_to(marker)`: the message carrying the marker is passed on,
  and when the server's answer to it begins, both connections are closed
  without a byte of it passed back. The server has run the statement (in
  autocommit, committed it); the client sees its connection lost.
- `cut_request_with(marker)`: both connections are closed instead of
  passing the message on. Nothing ran; the client sees the very same.
- `hold(marker)`: the message is swallowed and the connection left open:
  a server that went silent (frozen, or cut off without a reset).
- `delay(marker, seconds)`: the message is passed on that late: a server
  slow to answer (a loaded machine).

`go_down()` closes every connection and stops listening (a new one is
refused, as by a server that stopped); `come_back()` listens again on the
same port.

A cut happens once, on the first connection that carries the marker.
`count(marker)` counts the messages carrying it from then on (`counted`),
and `connections` the connections accepted. The
proxy's loop runs in a thread of its own; `pg_proxy` starts and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

Cut = Literal["answer", "request", "hold", "delay"]


@dataclass
class PgProxy:
    """A proxy to `upstream` (host, port), listening on `port` once started."""

    upstream: tuple[str, int]
    port: int = 0
    #: Cuts made so far.
    cuts: int = 0
    #: Connections accepted so far.
    connections: int = 0
    _delay: float = 0.0
    _counts: dict[bytes, int] = field(default_factory=dict)
    _armed: tuple[Cut, bytes] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    #: Connections being relayed, closed when the proxy stops.
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _server: asyncio.Server | None = None

    def url(self, database_url: str) -> str:
        """`database_url` with its host and port replaced by the proxy's."""
        parts = urlsplit(database_url)
        netloc = parts.netloc.rpartition("@")
        userinfo = netloc[0] + "@" if netloc[1] else ""
        return urlunsplit(parts._replace(netloc=f"{userinfo}127.0.0.1:{self.port}"))

    def cut_answer_to(self, marker: bytes) -> None:
        with self._lock:
            self._armed = ("answer", marker)

    def cut_request_with(self, marker: bytes) -> None:
        with self._lock:
            self._armed = ("request", marker)

    def hold(self, marker: bytes) -> None:
        with self._lock:
            self._armed = ("hold", marker)

    def delay(self, marker: bytes, seconds: float) -> None:
        with self._lock:
            self._armed, self._delay = ("delay", marker), seconds

    def count(self, marker: bytes) -> None:
        with self._lock:
            self._counts[marker] = 0

    def counted(self, marker: bytes) -> int:
        with self._lock:
            return self._counts[marker]

    def _take(self, data: bytes) -> Cut | None:
        """The cut armed for a message holding `data`, disarmed once taken."""
        with self._lock:
            for marker in self._counts:
                self._counts[marker] += data.count(marker)
            if self._armed is None or self._armed[1] not in data:
                return None
            kind, self._armed = self._armed[0], None
            self.cuts += 1
            return kind

    def go_down(self) -> None:
        """Close every connection and stop listening: a connection is refused."""
        self._in_loop(self._go_down())

    def come_back(self) -> None:
        """Listen again, on the same port."""
        self._in_loop(self._listen(self.port))

    def _in_loop(self, work: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None, "the proxy is not started"
        asyncio.run_coroutine_threadsafe(work, self._loop).result(10)

    async def _listen(self, port: int) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _go_down(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def start(self) -> None:
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the proxy did not start within 10 s")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await self._listen(0)
        self._ready.set()
        await self._stop.wait()
        # Connections still open (an engine's pool) end with the proxy, not after its loop.
        await self._go_down()

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        self._writers.update((client_writer, server_writer))
        doomed = asyncio.Event()  # the server's next bytes end the connection

        async def to_server() -> None:
            while data := await client_reader.read(65536):
                cut = self._take(data)
                if cut == "request":
                    return
                if cut == "answer":
                    doomed.set()
                if cut == "hold":
                    continue
                if cut == "delay":
                    await asyncio.sleep(self._delay)
                server_writer.write(data)
                await server_writer.drain()

        async def to_client() -> None:
            while data := await server_reader.read(65536):
                if doomed.is_set():
                    return
                client_writer.write(data)
                await client_writer.drain()

        pumps = [asyncio.ensure_future(to_server()), asyncio.ensure_future(to_client())]
        with contextlib.suppress(OSError):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for writer in (client_writer, server_writer):
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


@contextmanager
def pg_proxy(database_url: str) -> Iterator[PgProxy]:
    """A proxy in front of the server `database_url` names, running until the block ends."""
    parts = urlsplit(database_url)
    proxy = PgProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
