"""A TCP relay in front of a server that cuts its connections in the middle of a stream.

Theory of operation: each client connection gets its own connection to the
server, and bytes pass both ways as they come (an event stream flows
through unbuffered, which the answer-at-a-time `tests.proxy` cannot do).
`cut_midway()` arms a cut: the next bytes the server sends on any
connection are passed on only in part (the first half, so the client holds
an event it cannot finish), then both of that connection's sides are closed,
as a dropped link or a killed instance would leave them. `open` counts the
connections still relayed, so a test can see a client close its stream.

The relay's loop runs in a thread of its own; `relay` starts and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from tests.loop_thread import LoopServer


class Relay(LoopServer):
    """A relay to `upstream` (host, port); `url` once started."""

    name = "the relay"

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        super().__init__()
        #: Connections being relayed now.
        self.open = 0
        #: Cuts made so far.
        self.cuts = 0
        self._armed = False
        self._lock = threading.Lock()

    def cut_midway(self) -> None:
        """Cut the next connection the server sends bytes on, in the middle of those bytes."""
        with self._lock:
            self._armed = True

    def _take(self) -> bool:
        with self._lock:
            armed, self._armed = self._armed, False
            self.cuts += armed
            return armed

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()  # no server: the client sees its connection refused
            return
        self.open += 1

        async def to_server() -> None:
            while data := await client_reader.read(65536):
                server_writer.write(data)
                await server_writer.drain()

        async def to_client() -> None:
            while data := await server_reader.read(65536):
                if self._take():
                    client_writer.write(data[: max(1, len(data) // 2)])
                    await client_writer.drain()
                    return
                client_writer.write(data)
                await client_writer.drain()

        pumps = [asyncio.ensure_future(to_server()), asyncio.ensure_future(to_client())]
        with contextlib.suppress(OSError):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for writer in (client_writer, server_writer):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self.open -= 1


@contextmanager
def relay(url: str) -> Iterator[Relay]:
    """A relay in front of the server at `url`, running until the block ends."""
    parts = urlsplit(url)
    running = Relay((parts.hostname or "127.0.0.1", parts.port or 80))
    running.start()
    try:
        yield running
    finally:
        running.stop()
