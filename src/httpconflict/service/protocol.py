"""The service's HTTP/1.1 connections: uvicorn's httptools protocol, with limits and problems.

Theory of operation. uvicorn reads requests with httptools, which has no
limit on the size of a request's head and no clock: a client that sends
a 50 MiB header, or a head one byte a second (slowloris), or half a body
and then nothing, holds a connection and its memory for as long as it
likes. This subclass adds the guards, each on the connection, before the
app sees a request:

- the head (request line and header fields) is counted as it arrives; past
  `max_header_bytes` the answer is 431, without reading further; so are the
  bytes that come after a body's last piece and before its end (a chunked
  body's framing and trailer fields), which httptools would otherwise hold
  without limit;
- trailer fields (after a chunked body, RFC 9110 §6.5) are discarded:
  uvicorn appends them to the header list the app already holds, where a
  trailer ``If-Match`` or ``Host`` acted as a field of the request's head;
- a head must arrive whole within `header_timeout` of its first byte (of
  the connection's start, for the first request), else 408; a connection
  that sent nothing is just closed, as an idle one is after uvicorn's
  keep-alive timeout;
- a body must arrive whole within `body_timeout` of its head, else 408
  (its clock stops while the app has not read what came, or has not yet
  asked for a body sent with ``Expect: 100-continue``); the rest of a body
  answered before its end is read and dropped for `LINGER` seconds, then
  the connection closes: each chunk of it costs a parser callback;
- answers the client does not take are bounded in time and in memory, and
  a request pipelined behind one waits to run (`answer_flow`, the class
  this one extends);
- a connection accepted beyond `max_connections` (per worker) gets 503
  with Retry-After for its first request;
- a body that would take the request body bytes a worker holds past
  `max_body_memory` (`body_budget`) is refused part-way with 503 and
  Retry-After, nothing applied.

A refusal of a request whose body was being read while a request ahead of
it (pipelined) still has its answer to send waits for that answer: HTTP/1.1
answers go in the order of their requests.

An answer to an HTTP/1.0 request whose length is not known is sent
close-delimited, not chunked (`http10`).

An absolute-form target (``GET http://host/path``) names the request's
host instead of its Host field: the field is replaced with it, so that the
app's Host allow-list judges the host the request asks for.

Each refusal is an RFC 9457 problem, as is the 400 for a request the
parser rejects (uvicorn answers plain text); the connection is then
closed "lingering" (RFC 9112 §9.6): half-closed after the answer, with
what the client still sends read and dropped for a moment, so that it can
read the answer instead of a reset. The guards cost the hot path two
timers and a sum of lengths per request (bench/put_get.py measures it).
"""

from __future__ import annotations

import asyncio
import logging
import select
import time
from itertools import chain
from typing import Any, Final

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle
from uvicorn.server import ServerState

from .. import ProblemDetails
from ..asgi import PROBLEM_SCOPE_KEY
from ..hosts import target_authority
from ..problem_types import (
    BODY_MEMORY_LIMIT,
    CONNECTION_LIMIT,
    HEADER_FIELDS_TOO_LARGE,
    REQUEST_TIMEOUT,
)
from .accesslog import SERVER_ANSWER_KEY
from .answer_flow import AnswerFlowProtocol
from .body_budget import ConnectionBodies, WorkerBodies
from .http10 import CloseDelimitedCycle
from .refusals import coding_not_implemented, head_too_large, refusal_bytes, transfer_codings

#: How long a refused connection keeps reading (and dropping) what the client still sends.
LINGER: Final = 2.0
#: Seconds between two warnings that the connection limit was reached.
_WARN_EVERY: Final = 60.0
_CONNECTION_RETRY_AFTER: Final = 1

log = logging.getLogger("httpconflict")


class _Refusal(Exception):
    """Raised in a parser callback to stop parsing and answer `problem` instead."""

    def __init__(self, problem: ProblemDetails, headers: tuple[tuple[bytes, bytes], ...] = ()):
        super().__init__(problem.detail)
        self.problem = problem
        self.headers = headers


class _TrailerTooLarge(Exception):
    """Raised in `on_header` to stop parsing a body whose trailer fields pass the head's limit."""


class _OverBodyMemory(Exception):
    """Raised in `on_body` to stop parsing a body that would pass `max_body_memory`."""


class ProblemHttpToolsProtocol(AnswerFlowProtocol):
    """uvicorn's httptools protocol, with limits on heads, time and connections."""

    _last_limit_warning = 0.0

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_bytes = 0  # received since the head in progress began (an upper bound)
        self._head_started = False  # a head has begun and is not complete
        self._in_body = False  # a head is complete and its message is not
        self._trailer_bytes = 0  # the current message's trailer fields, as parsed
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._rest_timer: asyncio.TimerHandle | None = None  # of a body answered before its end
        self._over_limit = False
        self._refused = False
        self._bodies = ConnectionBodies(self.limits.max_body_memory)
        # A refusal of a request pipelined behind one not yet answered: sent after that answer.
        self._deferred: tuple[ProblemDetails, tuple[tuple[bytes, bytes], ...]] | None = None
        self._unanswered: list[RequestResponseCycle] = []  # requests read, not yet answered

    # Connection events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn's signature: a Transport, not asyncio's BaseTransport
        super().connection_made(transport)
        self._over_limit = len(self.connections) > self.limits.max_connections
        if self._over_limit:
            self._warn_connection_limit()
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        self._bodies.give_back_all()
        for cycle in self._unanswered:
            if cycle is not self.cycle and not cycle.response_complete:
                # uvicorn tells only the last request read (`self.cycle`) that
                # the client is gone. With requests pipelined behind it, the
                # one running went on answering into the closed transport:
                # uvloop raised, and every client that pipelined requests and
                # hung up logged an error incident.
                cycle.disconnected = True
                cycle.message_event.set()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: what a refused client still sends is dropped
        self._unset_keepalive_if_required()
        self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            if isinstance(error.__context__, _TrailerTooLarge):
                self._refuse_trailer()
            elif isinstance(error.__context__, _OverBodyMemory):
                self._refuse_body_memory()
            elif isinstance(error.__context__, _Refusal):
                self._refuse(error.__context__.problem, error.__context__.headers)
            else:
                self._refuse_malformed(str(error))
            return
        except httptools.HttpParserError as error:
            self._refuse_malformed(str(error))
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        # The clocks start only when a head or a body is left incomplete by
        # a read, so the usual request (its head, and any body, in one read)
        # costs no timer.
        if self._head_started:
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse(head_too_large(self.limits.max_header_bytes))
            elif self._head_timer is None:
                self._head_timer = self.loop.call_later(
                    self.limits.header_timeout, self._head_timed_out
                )
        elif self._in_body:
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse_trailer()
            elif self._body_timer is None:
                self._body_timer = self.loop.call_later(
                    self.limits.body_timeout, self._body_timed_out
                )
        elif self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            # Bytes that began no request (blank lines) on an idle connection.
            self._head_timer = self.loop.call_later(
                self.limits.header_timeout, self._head_timed_out
            )

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._in_body:
            # A trailer field, after a chunked body: dropped (RFC 9110 §6.5.1
            # forbids merging one into the header section). Its bytes are
            # counted in data_received, as the head's are, but only from the
            # read after the body's last piece: those parsed in that same read
            # (a request sent whole, as a proxy forwards it) are counted here.
            self._trailer_bytes += len(name) + len(value) + 4
            if self._trailer_bytes > self.limits.max_header_bytes:
                raise _TrailerTooLarge
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._head_started = False
        # Each field counted as "name: value" CRLF.
        size = len(self.url) + sum(map(len, chain.from_iterable(self.headers)))
        size += 4 * len(self.headers)
        if size > self.limits.max_header_bytes:
            raise _Refusal(head_too_large(self.limits.max_header_bytes))
        if self._over_limit:
            raise _Refusal(
                CONNECTION_LIMIT.problem(
                    "the server has as many connections as it accepts; retry after Retry-After "
                    "seconds",
                    retry_after=_CONNECTION_RETRY_AFTER,
                ),
                ((b"retry-after", str(_CONNECTION_RETRY_AFTER).encode()),),
            )
        if self.url[:1] != b"/":
            self._host_from_target()
        if coded := transfer_codings(self.headers):
            raise _Refusal(coding_not_implemented(coded))
        if self.parser.get_http_version() == "1.0":
            # RFC 9110 §10.1.1: an HTTP/1.0 request's 100-continue expectation
            # is ignored (its client knows no 1xx: it would take the 100 for
            # the answer).
            self.expect_100_continue = False
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:
            self._unanswered = [c for c in self._unanswered if not c.response_complete]
            self._unanswered.append(cycle)
            if self.scope["http_version"] == "1.0":
                cycle.__class__ = CloseDelimitedCycle  # made by uvicorn, its task not yet run
        self._in_body = True
        self._trailer_bytes = 0
        self._head_bytes = 0  # from here, the bytes since the body's last piece
        self._bodies.begin()

    def on_body(self, body: bytes) -> None:
        self._head_bytes = 0
        if not self._bodies.take(self.cycle, len(body)):
            raise _OverBodyMemory
        super().on_body(body)

    def on_response_complete(self) -> None:
        self._bodies.answered()
        super().on_response_complete()
        cycle = self.cycle
        if (
            self._in_body
            and cycle is not None
            and cycle.response_complete
            and not self._refused
            and not self.transport.is_closing()
        ):
            # Answered before its body came whole (a 404, a 413 on its
            # Content-Length): the rest is read, and dropped, for `LINGER`
            # seconds, so that a client whose body was about to end keeps
            # its connection; then the connection ends. Read until the body
            # timeout (60 s), each of its chunks cost a parser callback: one
            # connection sending 1-byte chunks kept a worker busy, others'
            # GETs waiting 1.6 s.
            self._rest_timer = self.loop.call_later(LINGER, self._rest_not_read)
            return
        if self._deferred is not None and not self._answer_pending():
            problem, headers = self._deferred
            self._deferred = None
            if not self.transport.is_closing():  # that answer closed it (Connection: close)
                self._send_refusal(problem, headers)

    def _answer_pending(self) -> bool:
        """Whether a request read before the current one still has its answer to send."""
        return any(
            c is not self.cycle and not c.response_complete and not c.disconnected
            for c in self._unanswered
        )

    def _host_from_target(self) -> None:
        """Make an absolute-form target's host the request's Host (uvicorn drops it).

        RFC 9112 §3.2.2: the origin server "MUST ignore the received Host
        header field (if any) and instead use the host information of the
        request-target", so the Host allow-list checks the host asked for.
        """
        authority = target_authority(self.url)
        if authority is not None:
            self.headers[:] = [(n, v) for n, v in self.headers if n != b"host"]
            self.headers.append((b"host", authority))

    def on_message_complete(self) -> None:
        self._in_body = False
        for timer in (self._body_timer, self._rest_timer):
            if timer is not None:
                timer.cancel()
        self._body_timer = self._rest_timer = None
        # Bytes of the next request in this same chunk go uncounted: at most one read's worth.
        self._head_bytes = 0
        super().on_message_complete()

    # Timeouts

    def timeout_keep_alive_handler(self) -> None:
        if not self._input_waiting():
            super().timeout_keep_alive_handler()

    def _input_waiting(self) -> bool:
        """Whether the client has sent something this worker has not read yet.

        uvloop runs the timers that are due before it reads the sockets: a
        worker that stalled past the keep-alive timeout (a long CPU-bound
        request, a paused process) finds both the timeout and a request that
        arrived meanwhile. Closing then would discard that request with a
        reset; the read that follows in the same turn of the loop serves it.
        """
        sock = self.transport.get_extra_info("socket")
        # Without poll() (Windows) there is no uvloop either: asyncio reads first.
        if sock is None or not hasattr(select, "poll") or self.transport.is_closing():
            return False
        fileno = sock.fileno()
        if fileno < 0:  # the client closed it already: nothing more will come
            return False
        poller = select.poll()
        poller.register(fileno, select.POLLIN)
        return bool(poller.poll(0))

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._refused or self.transport.is_closing():
            return
        if not self._head_started and (self.cycle is None or self.cycle.response_complete):
            if not self._input_waiting():
                self.transport.close()  # nothing was asked: nothing to answer
            return
        timeout = self.limits.header_timeout
        self._refuse(
            REQUEST_TIMEOUT.problem(
                f"the request's head (request line and header fields) did not arrive whole "
                f"within {timeout:g} s",
                timeout=timeout,
            )
        )

    def _rest_not_read(self) -> None:
        """End the connection of a request answered `LINGER` seconds ago whose body goes on."""
        self._rest_timer = None
        if self._refused or self.transport.is_closing() or not self._in_body:
            return
        self._refused = True
        self._cancel_timers()
        self._unset_keepalive_if_required()
        self._linger()  # RFC 9112 §9.6: half-closed, what still comes read and dropped

    def _body_timed_out(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if self._refused or self.transport.is_closing() or cycle is None or not cycle.more_body:
            return
        if self.flow.read_paused or cycle.waiting_for_100_continue:
            # The app has not read what came, or not asked for the body yet: not the client's delay.
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)
            return
        if cycle.response_started:
            # Answered before the body was read (a 413, a 404): the rest never came.
            self.transport.close()
            return
        timeout = self.limits.body_timeout
        problem = REQUEST_TIMEOUT.problem(
            f"the request's body did not arrive whole within {timeout:g} s of its head",
            timeout=timeout,
        )
        self._abandon_body(problem, "request-timeout")
        self._refuse(problem)

    # Refusals

    def send_400_response(self, msg: str) -> None:
        self._refuse_malformed(msg)

    def _refuse_malformed(self, reason: str) -> None:
        problem = ProblemDetails(
            type="about:blank",
            title="Bad Request",
            status=400,
            detail=f"the HTTP parser refused the request: {reason}",
        )
        cycle = self.cycle
        if self._in_body and cycle is not None and not cycle.response_started:
            # A body refused mid-way (a chunk size that is not one): the app
            # is waiting for the rest, which will never be read.
            self._abandon_body(problem, None)
        self._refuse(problem)

    def _refuse_trailer(self) -> None:
        """431 for framing or trailer fields after a body past the head's limit; nothing written."""
        cycle = self.cycle
        if cycle is not None and cycle.response_started:
            # Answered before the body was read (a 413, a 404): that is its answer.
            self.transport.close()
            return
        limit = self.limits.max_header_bytes
        problem = HEADER_FIELDS_TOO_LARGE.problem(
            f"the request's trailer fields (or chunk framing) after its body's last bytes are "
            f"larger than {limit} bytes",
            max_bytes=limit,
        )
        if cycle is not None:
            self._abandon_body(problem, "header-fields-too-large")
        self._refuse(problem)

    def _refuse_body_memory(self) -> None:
        """503 for a body that would pass `max_body_memory`; nothing written."""
        cycle = self.cycle
        if cycle is not None:
            self._bodies.give_back(cycle)  # the app is told its client is gone: it drops them
        if cycle is not None and cycle.response_started:
            self.transport.close()  # answered before its body was read: that is its answer
            return
        limit = self.limits.max_body_memory
        WorkerBodies.warn(limit)
        problem = BODY_MEMORY_LIMIT.problem(
            f"the server holds as many request body bytes at once as it accepts ({limit}); "
            "retry after Retry-After seconds",
            retry_after=_CONNECTION_RETRY_AFTER,
        )
        if cycle is not None:
            self._abandon_body(problem, "body-memory-limit")
        self._refuse(problem, ((b"retry-after", str(_CONNECTION_RETRY_AFTER).encode()),))

    def _abandon_body(self, problem: ProblemDetails, slug: str | None) -> None:
        """Tell the app, waiting for the current request's body, that none will come.

        It learns that the client is gone and answers nothing (nothing
        written, no key recorded); `problem` is answered by `_refuse`, and
        the access log records its status.
        """
        cycle = self.cycle
        assert cycle is not None
        scope: dict[str, Any] = cycle.scope  # type: ignore[assignment]  # keys of our own
        scope[SERVER_ANSWER_KEY] = problem.status
        if slug is not None:
            scope[PROBLEM_SCOPE_KEY] = slug
        cycle.disconnected = True
        cycle.message_event.set()

    def _refuse(
        self, problem: ProblemDetails, headers: tuple[tuple[bytes, bytes], ...] = ()
    ) -> None:
        """Answer `problem` and close the connection, lingering."""
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self._cancel_timers()
        self._unset_keepalive_if_required()
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.disconnected:
            # The answer to an earlier request (pipelined before this one) is
            # still to come: it goes out whole, then the connection closes,
            # and this request, which was never read, goes unanswered.
            cycle.keep_alive = False
            return
        if self._answer_pending():
            # The refused request's body was being read while a request ahead
            # of it is still to be answered: its refusal goes after that
            # answer. Sent now, it was read as the answer of that request
            # (applied, yet "503, nothing written"), whose own answer then
            # failed on the closed connection.
            self._deferred = (problem, headers)
            return
        self._send_refusal(problem, headers)

    def _send_refusal(
        self, problem: ProblemDetails, headers: tuple[tuple[bytes, bytes], ...]
    ) -> None:
        """Write `problem` as the connection's last answer and close it, lingering."""
        self.transport.write(refusal_bytes(problem, headers, self.server_state.default_headers))
        self._linger()

    def _linger(self) -> None:
        """Close the connection after what was written: half-closed, what comes read and dropped."""
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.flow.resume_reading()
            self.loop.call_later(LINGER, self.transport.close)
        else:
            self.transport.close()

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer, self._rest_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = self._rest_timer = None

    def _warn_connection_limit(self) -> None:
        now = time.monotonic()
        if now - ProblemHttpToolsProtocol._last_limit_warning >= _WARN_EVERY:
            ProblemHttpToolsProtocol._last_limit_warning = now
            log.warning(
                "%d connections open, the limit (--max-connections): new ones get 503",
                self.limits.max_connections,
            )
