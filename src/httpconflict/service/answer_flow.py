"""The answers of a connection whose client takes them more slowly than they come.

Theory of operation. uvicorn's transport pauses the connection's writing
when its buffer passes the high-water mark (64 KiB), and resumes it below
the low-water mark. This layer of the service's protocol (see `protocol`)
adds, on those two events:

- an answer the client takes nothing of (the transport's buffer does not
  go down to its low-water mark) for `body_timeout` seconds has its
  connection cut, its buffer dropped;
- what the transports of paused connections hold counts against
  `max_answer_memory` (`answer_budget`), which cuts the stalled ones past
  it: a connection tells the budget what it holds (`buffered`), what its
  client has not taken yet, the kernel's send queue included (`untaken`),
  and whether cutting it loses nothing (`cuttable`: no write that may have
  applied something ran on it);
- a request pipelined behind an answer its client is not taking waits to
  run until the client takes it, so that its answer is not made and held
  meanwhile: `on_response_complete` keeps uvicorn's pipeline back,
  `resume_writing` runs the next request of it.

It uses uvicorn's `HttpToolsProtocol` internals (`app`, `pipeline`, `flow`,
`tasks`, `timeout_keep_alive_task`, and `_start_asgi_task` where there is
one: uvicorn 0.45 on), as they are from uvicorn 0.30 to 0.54 (the service needs 0.53:
`make test-floors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
from collections import deque
from typing import Any, Final

from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .answer_budget import WorkerAnswers
from .connection_limits import ConnectionLimits, connection_limits

#: SO_LINGER on, for 0 seconds: closing the socket resets the connection.
_RESET_ON_CLOSE: Final = struct.pack("ii", 1, 0)
#: Methods whose answers a connection may be cut in the middle of without loss.
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class AnswerFlowProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, its answers' flow bounded in time and memory."""

    # Each connection's own, once set.
    _send_timer: asyncio.TimerHandle | None = None  # of answers the client does not take
    _writes = 0  # writes run here whose answers may tell of something applied
    _held_back = False  # pipelined requests wait for the answer ahead to be taken

    @property
    def limits(self) -> ConnectionLimits:
        """The worker's guards' settings (read once a worker)."""
        return connection_limits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn's signature: a Transport, not asyncio's BaseTransport
        super().connection_made(transport)
        WorkerAnswers.limit = self.limits.max_answer_memory
        self.app = self._counting_writes(self.app)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        WorkerAnswers.resumed(self)
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        if self.flow.write_paused and self.pipeline and not self.transport.is_closing():
            # The client has not taken this answer: the requests pipelined
            # behind it wait for it to, unrun (`resume_writing` runs them).
            # Run at once, the next one's answer was made and held in the
            # worker, uncounted, until the client read.
            waiting, self.pipeline = self.pipeline, deque()
            super().on_response_complete()
            self.pipeline = waiting
            self._held_back = True
            self.flow.pause_reading()
            if self.timeout_keep_alive_task is not None:
                self.timeout_keep_alive_task.cancel()
                self.timeout_keep_alive_task = None
        else:
            super().on_response_complete()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self.limits.body_timeout, self._send_timed_out)
        WorkerAnswers.paused(self)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        WorkerAnswers.resumed(self)
        if self._held_back:
            self._held_back = False
            if self.pipeline and not self.transport.is_closing():
                self._run_next()

    def _run_next(self) -> None:
        """Run the next request of the pipeline, as uvicorn's `on_response_complete` does."""
        cycle, app = self.pipeline.pop()
        start = getattr(self, "_start_asgi_task", None)
        if start is not None:
            start(cycle, app)
            return
        # uvicorn before 0.45 starts a request's task inline: calling its
        # `_start_asgi_task` there raised, and the request held back was never run.
        task = self.loop.create_task(cycle.run_asgi(app))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    # What `WorkerAnswers` asks of a connection

    def buffered(self) -> int:
        return self.transport.get_write_buffer_size()

    def untaken(self) -> int:
        return self.transport.get_write_buffer_size() + _kernel_unsent(self.transport)

    def cuttable(self) -> bool:
        return self._writes == 0

    def _counting_writes(self, app: ASGI3Application) -> ASGI3Application:
        """`app`, each write counted in `_writes` as it runs, until its answer is a 4xx.

        A write counted from its head on made its connection uncuttable: one
        pipelined behind a page and never run, or one answered 412 (nothing
        applied), and the page's stalled reader held the answer budget, and
        every large GET with it, until the body timeout.
        """

        async def noted(scope: Any, receive: Any, send: Any) -> None:
            if scope.get("method") in _SAFE_METHODS:
                await app(scope, receive, send)
                return
            self._writes += 1
            counted = True

            async def noting(message: Any) -> None:
                nonlocal counted
                if counted and message["type"] == "http.response.start":
                    counted = False
                    if 400 <= message["status"] < 500:
                        self._writes -= 1
                await send(message)

            await app(scope, receive, noting)

        return noted

    def cut(self) -> None:
        """Drop a stalled connection's answers (it ran no write that may have applied something).

        Reset, not closed: closed, the kernel kept what it held of the
        answers (up to 4 MiB a connection) for a client that reads nothing,
        and the client learned nothing.
        """
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
        self.transport.abort()

    def _send_timed_out(self) -> None:
        """Cut a connection whose client took nothing of its answers for `body_timeout` seconds.

        What the kernel's buffers did not hold of them stayed in the worker
        (the transport's buffer) for as long as the client kept the
        connection open: 100 connections of 8 GETs of a 1 MiB document each,
        none read, held 201 MiB, 15 s on as at 1 s.
        Closing would wait for the buffer to be sent; aborting drops it.
        """
        self._send_timer = None
        self.transport.abort()


if sys.platform == "linux":
    import fcntl
    import termios

    def _kernel_unsent(transport: asyncio.Transport) -> int:
        """The bytes the kernel holds of a connection's answers, not acknowledged by the client.

        Linux's SIOCOUTQ (TIOCOUTQ). Elsewhere 0: a slow reader's progress is
        seen only as the worker's buffer goes down.
        """
        sock = transport.get_extra_info("socket")
        if sock is None:
            return 0
        try:
            answer = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        except (OSError, ValueError):  # closed meanwhile
            return 0
        unsent: int = struct.unpack("i", answer)[0]
        return unsent

else:

    def _kernel_unsent(transport: asyncio.Transport) -> int:
        return 0
