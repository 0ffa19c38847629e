"""Watching a change feed over httpx: `watch_flow` driven, blocking and async.

The flow (``_client_watch``) decides everything: where to resume, when to
wait, when to give up. A driver only opens the stream it is told to (the
request's read timeout is the flow's: a few heartbeats of silence), reads
its bytes into the core's `EventStreamDecoder`, hands each change to its caller and sleeps on
the clock. A stream is closed before the next one is opened, and when the
caller stops iterating (a ``break`` closes the generator, which closes the
stream) or the flow gives up, which raises the client's `ConflictError` for
it (`ChangesExpired` for a 410). Closing the httpx client (from another
thread or task) ends the watch: the stream's read fails at its next bytes,
and instead of waiting and opening another on a closed client (httpx's
RuntimeError) the watch returns; one waiting to reconnect (up to the
feed's reconnection time plus the backoff) returns within `CLOSED_LOOK`.

A stream that sends bytes but completes no event (not even a heartbeat)
for as long as the read timeout is as dead as a silent one: each byte
would reset httpx's read timeout, so the driver ends it itself
(`httpx.ReadTimeout`, and the flow reconnects). A refusal's body is read
up to `REFUSAL_LIMIT` bytes: a problem document is small, and a body that
never ends must not fill the client's memory (the status still decides).
Opening a stream, and reading a refusal, has one read timeout (and the
connect timeout) in all (`_open`): each byte of a trickled head or body,
and each interim 1xx answer, restarts httpx's. The async watch cuts all
of it; the blocking one cuts the refusal's body, but not a head or 1xx
answers sent without end, which httpx reads in one call (as for
`update`: see docs/client.md).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from functools import partial
from typing import Final, TypeAlias

import anyio
import httpx

from .._client_commands import Received, Sleep, TransportFailure
from .._client_watch import (
    Change,
    Deliver,
    Event,
    NextEvent,
    Open,
    ReconnectionTime,
    StreamEnded,
    Unreadable,
    WatchFlow,
    WatchReply,
    stream_replies,
)
from .._event_stream import EventStreamDecoder
from ._bounded import (
    adecoded,
    aread_at_most,
    as_read,
    asend,
    decoded,
    read_at_most,
    send,
)
from ._clock import Clock, VirtualClock
from ._errors import conflict_error

#: Bytes of a refusal's body read at most.
REFUSAL_LIMIT: Final = 256 * 1024
#: Seconds between two looks, while a watch waits to reconnect, at whether its client was closed.
CLOSED_LOOK: Final = 0.1

StreamReply: TypeAlias = Event | ReconnectionTime | Unreadable


def feed_url(client: httpx.Client | httpx.AsyncClient, collection: str) -> str:
    """The change feed of the collection at `collection` (absolute, without a query)."""
    url = client.build_request("GET", collection).url.copy_with(query=None, fragment=None)
    return str(url.copy_with(raw_path=url.raw_path.rstrip(b"/") + b"/_changes"))


def _request(client: httpx.Client | httpx.AsyncClient, command: Open) -> httpx.Request:
    timeout = client.timeout
    return client.build_request(
        command.send.method,
        command.send.url,
        # The flow's own Accept-Encoding (identity: compressing a stream would
        # hold its events back) replaces httpx's; a coding sent anyway is decoded.
        headers=list(command.send.headers),
        timeout=httpx.Timeout(
            connect=timeout.connect,
            read=command.read_timeout,
            write=timeout.write,
            pool=timeout.pool,
        ),
    )


def _received(response: httpx.Response, clock: Clock, read: httpx.Response) -> Received:
    """The answer to opening a stream; `read`, a refusal's body as read (`_refusal`)."""
    body = b"" if response.status_code == 200 else read.content
    return Received(
        response.status_code,
        response.headers,
        body,
        at=clock.monotonic(),
        wall=clock.time(),
        redirects=len(response.history),
    )


def _refusal(response: httpx.Response, late: Callable[[], bool]) -> httpx.Response:
    """A refusal read up to `REFUSAL_LIMIT` bytes and closed, as a response already read."""
    return as_read(response, read_at_most(response, REFUSAL_LIMIT, late)[0])


async def _arefusal(response: httpx.Response) -> httpx.Response:
    return as_read(response, (await aread_at_most(response, REFUSAL_LIMIT))[0])


def _open(client: httpx.Client | httpx.AsyncClient, command: Open) -> float:
    """Seconds a stream has to open (its head, past any 1xx) or a refusal to come whole."""
    return command.read_timeout + (client.timeout.connect or 0.0)


def _past(clock: Clock, deadline: float) -> bool:
    return clock.monotonic() > deadline


def _unopened(request: httpx.Request, within: float) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(f"the stream did not open within {within:g} s", request=request)


def _unfinished(response: httpx.Response, within: float) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(
        f"the stream sent no whole event within {within:g} s", request=response.request
    )


def _lost(error: httpx.RequestError, clock: Clock) -> TransportFailure:
    return TransportFailure(error, at=clock.monotonic(), wall=clock.time())


def _events(response: httpx.Response, clock: Clock, within: float) -> Iterator[StreamReply]:
    """The events of a streamed answer, each as soon as its last byte came (and retry: fields).

    Raises `httpx.ReadTimeout` once no event has completed for `within` seconds.
    """
    decoder = EventStreamDecoder()
    completed = clock.monotonic()
    for chunk in decoded(response):
        replies = stream_replies(decoder, chunk)
        if replies:
            completed = clock.monotonic()
        elif clock.monotonic() - completed > within:
            raise _unfinished(response, within)
        yield from replies
    decoder.end()


async def _aevents(
    response: httpx.Response, clock: Clock, within: float
) -> AsyncGenerator[StreamReply, None]:
    decoder = EventStreamDecoder()
    completed = clock.monotonic()
    async for chunk in adecoded(response):
        replies = stream_replies(decoder, chunk)
        if replies:
            completed = clock.monotonic()
        elif clock.monotonic() - completed > within:
            raise _unfinished(response, within)
        for event in replies:
            yield event
    decoder.end()


def _sleep(client: httpx.Client, clock: Clock, seconds: float) -> None:
    """Wait `seconds`, or until the client is closed (looking every `CLOSED_LOOK` seconds)."""
    if isinstance(clock, VirtualClock):
        clock.sleep(seconds)  # it does not wait: one sleep, as the tests read it
        return
    end = clock.monotonic() + seconds
    while not client.is_closed and (left := end - clock.monotonic()) > 0:
        clock.sleep(min(left, CLOSED_LOOK))


async def _asleep(client: httpx.AsyncClient, clock: Clock, seconds: float) -> None:
    if isinstance(clock, VirtualClock):
        await clock.asleep(seconds)
        return
    end = clock.monotonic() + seconds
    while not client.is_closed and (left := end - clock.monotonic()) > 0:
        await clock.asleep(min(left, CLOSED_LOOK))


def _ended(clock: Clock) -> StreamEnded:
    return StreamEnded(at=clock.monotonic(), wall=clock.time())


def _close(response: httpx.Response | None) -> None:
    if response is not None:
        response.close()  # its events' generator, left unfinished, only reads from it


def watch_changes(client: httpx.Client, flow: WatchFlow, clock: Clock) -> Iterator[Change]:
    """Drive `flow` over a blocking httpx client: the changes, as they come."""
    response: httpx.Response | None = None
    events: Iterator[StreamReply] | None = None
    last: httpx.Response | None = None
    try:
        command = next(flow)
        while True:
            reply: WatchReply = None
            if isinstance(command, Deliver):
                yield command.change
            elif client.is_closed:
                return  # the caller closed the client: the watch is over
            elif isinstance(command, Sleep):
                _sleep(client, clock, command.seconds)
            elif isinstance(command, Open):
                _close(response)
                response = events = None
                request, ends = (
                    _request(client, command),
                    clock.monotonic() + _open(client, command),
                )
                try:
                    response = last = send(client, request)
                    if response.status_code != 200:
                        # Its problem details say why; a body that trickles ends at `ends`.
                        last = _refusal(response, partial(_past, clock, ends))
                except httpx.RequestError as error:
                    reply = _lost(error, clock)
                else:
                    reply = _received(response, clock, last)
                    if response.status_code == 200:
                        events = _events(response, clock, command.read_timeout)
            else:
                assert isinstance(command, NextEvent)
                assert events is not None
                try:
                    reply = next(events)
                except StopIteration:
                    reply = _ended(clock)
                except httpx.RequestError as error:
                    reply = _lost(error, clock)
            command = flow.send(reply)
    except StopIteration as stop:
        raise conflict_error(stop.value, last) from stop.value.error
    finally:
        flow.close()
        _close(response)


async def awatch_changes(
    client: httpx.AsyncClient, flow: WatchFlow, clock: Clock
) -> AsyncIterator[Change]:
    """Drive `flow` over an async httpx client: the changes, as they come."""
    response: httpx.Response | None = None
    events: AsyncGenerator[StreamReply, None] | None = None
    last: httpx.Response | None = None
    try:
        command = next(flow)
        while True:
            reply: WatchReply = None
            if isinstance(command, Deliver):
                yield command.change
            elif client.is_closed:
                return
            elif isinstance(command, Sleep):
                await _asleep(client, clock, command.seconds)
            elif isinstance(command, Open):
                await _aclose(response, events)
                response = events = None
                request, within = _request(client, command), _open(client, command)
                try:
                    with anyio.fail_after(within):
                        response = last = await asend(client, request)
                        if response.status_code != 200:
                            last = await _arefusal(response)
                except TimeoutError:
                    reply = _lost(_unopened(request, within), clock)
                except httpx.RequestError as error:
                    reply = _lost(error, clock)
                else:
                    reply = _received(response, clock, last)
                    if response.status_code == 200:
                        events = _aevents(response, clock, command.read_timeout)
            else:
                assert isinstance(command, NextEvent)
                assert events is not None
                try:
                    reply = await anext(events)
                except StopAsyncIteration:
                    reply = _ended(clock)
                except httpx.RequestError as error:
                    reply = _lost(error, clock)
            command = flow.send(reply)
    except StopIteration as stop:
        raise conflict_error(stop.value, last) from stop.value.error
    finally:
        flow.close()
        await _aclose(response, events)


async def _aclose(
    response: httpx.Response | None, events: AsyncGenerator[StreamReply, None] | None
) -> None:
    if events is not None:
        await events.aclose()
    if response is not None:
        await response.aclose()
