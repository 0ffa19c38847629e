"""A TCP server on 127.0.0.1 whose asyncio loop runs in a thread of its own, for tests.

`LoopServer` starts the loop, listens on a free port (`url` once started),
hands each connection to the subclass's `_connection`, and stops when
told; the test's own thread keeps going meanwhile. `tests.relay` and
`tests.hostile_http` are such servers.
"""

from __future__ import annotations

import asyncio
import threading


class LoopServer:
    """Listens on 127.0.0.1 from `start` to `stop`; a subclass serves each connection."""

    #: What the error says when the server does not start.
    name = "the server"

    def __init__(self) -> None:
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{self.name} did not start within 10 s")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
