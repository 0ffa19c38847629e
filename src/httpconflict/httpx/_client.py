"""`ConflictClient` and `AsyncConflictClient`: the client flows driven over httpx.

Both drive the same generators (``_client_flow``); only how a request is
sent and how a wait is made differ, so the two drivers below are the only
code written twice. Every request, the flows' and the passthrough methods',
goes through one ETag memory: it learns from successful answers and adds
If-Match to a PUT, PATCH or DELETE that has no precondition of its own.
Every unsafe request without an Idempotency-Key gets a fresh one, so that
whoever retries it after a lost answer (the flows do, with the same key)
is answered from it instead of applying it twice.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from functools import partial
from types import TracebackType
from typing import Any, Final, Self

import anyio
import httpx

from .._client_commands import (
    Command,
    GaveUp,
    Received,
    Reply,
    Send,
    Sleep,
    StoredDocument,
    TransportFailure,
)
from .._client_etags import ETagMemory
from .._client_flow import create_flow, sf_string, update_flow
from .._client_retry import RetryPolicy
from .._client_watch import Change, Since, WatchFlow, check_heartbeat, check_since, watch_flow
from .._idempotency_policy import UNSAFE_METHODS
from .._json_value import Json
from ._bounded import ACCEPT_ENCODING, aread_at_most, as_read, asend, read_at_most, send
from ._clock import Clock, SystemClock, VirtualClock
from ._errors import conflict_error
from ._fields import as_came, as_sent
from ._testing import testing_mode
from ._watch import awatch_changes, feed_url, watch_changes

Flow = Generator[Command, Reply, StoredDocument | GaveUp]
#: Bytes of an answer's body `update` and `create` read at most, by default.
MAX_ANSWER: Final = 16 * 2**20
#: Seconds a try's answer may take past the budget's end, at least, when httpx sets no read timeout.
ANSWER_FLOOR: Final = 5.0
ChangeFunction = Callable[[Any], Any]


class _Common:
    """What both clients share: the policy, the clock, the ETag memory."""

    def __init__(
        self,
        policy: RetryPolicy | None,
        clock: Clock | None,
        etags: ETagMemory | None,
        max_answer: int,
    ) -> None:
        if max_answer < 0:
            raise ValueError(f"max_answer must be a number of bytes >= 0, not {max_answer}")
        #: Bytes of an answer's body `update` and `create` read at most (see `_bounded`).
        self.max_answer = max_answer
        #: How often and how long `update` and `create` retry.
        self.policy = policy if policy is not None else RetryPolicy()
        self.clock: Clock = clock if clock is not None else SystemClock()
        #: The last ETag seen per URL; shared with another client by passing it.
        self.etags = etags if etags is not None else ETagMemory()

    def _operation(self) -> tuple[RetryPolicy, Clock]:
        """The policy and the clock of one operation: the client's, unless testing mode is on."""
        mode = testing_mode()
        if mode is None:
            return self.policy, self.clock
        policy = self.policy
        if mode.attempts is not None and mode.attempts < policy.attempts:
            policy = dataclasses.replace(policy, attempts=mode.attempts)
        return policy, VirtualClock() if isinstance(self.clock, SystemClock) else self.clock

    def _update(
        self, client: httpx.Client | httpx.AsyncClient, url: str, change: ChangeFunction
    ) -> tuple[Flow, Clock, float]:
        # The ETag memory and the flow know a document by its absolute URL.
        url = str(client.build_request("GET", url).url)
        policy, clock = self._operation()
        started = clock.monotonic()
        flow = update_flow(
            url,
            change,
            policy=policy,
            started=started,
            random=random.random,
            new_key=_new_key,
        )
        return flow, clock, started + policy.budget

    def _create(
        self,
        client: httpx.Client | httpx.AsyncClient,
        url: str,
        document: Json,
        key: str | None,
    ) -> tuple[Flow, Clock, float]:
        url = str(client.build_request("POST", url).url)
        policy, clock = self._operation()
        started = clock.monotonic()
        flow = create_flow(
            url,
            document,
            key=key if key is not None else _new_key(),
            policy=policy,
            started=started,
            random=random.random,
        )
        return flow, clock, started + policy.budget

    def _watch(
        self,
        client: httpx.Client | httpx.AsyncClient,
        url: str,
        since: Since,
        id: str | None,  # the feed's own parameter name
        heartbeat: int | None,
    ) -> tuple[WatchFlow, Clock]:
        check_since(since)  # now, not at the first iteration
        check_heartbeat(heartbeat)
        policy, clock = self._operation()
        flow = watch_flow(
            feed_url(client, url),
            since=since,
            id=id,
            heartbeat=heartbeat,
            policy=policy,
            random=random.random,
        )
        return flow, clock

    def _prepare(self, request: httpx.Request) -> httpx.Request:
        if_match = self.etags.if_match(request.method, str(request.url), request.headers)
        if if_match is not None:
            # Its bytes, in fields made anew (httpx encodes a str as ASCII, and
            # decodes fields it has read once by what it guessed then).
            fields = [*request.headers.raw, (b"If-Match", as_sent(if_match))]
            request.headers = httpx.Headers(fields)
        if request.method in UNSAFE_METHODS and "idempotency-key" not in request.headers:
            request.headers["Idempotency-Key"] = sf_string(_new_key())
        return request

    def _build(self, client: httpx.Client | httpx.AsyncClient, send: Send) -> httpx.Request:
        headers = [(name.encode("ascii"), as_sent(value)) for name, value in send.headers]
        request = client.build_request(send.method, send.url, headers=headers, content=send.body)
        if send.header("accept-encoding") is None:  # the flow's own (identity) wins
            request.headers["Accept-Encoding"] = ACCEPT_ENCODING  # what `_bounded` decodes
        return self._prepare(request)

    def _received(
        self, request: httpx.Request, response: httpx.Response, clock: Clock, whole: bool = True
    ) -> Received:
        headers = as_came(response.headers)
        self.etags.observe(request.method, str(request.url), response.status_code, headers)
        return Received(
            response.status_code,
            headers,
            response.content,
            at=clock.monotonic(),
            wall=clock.time(),
            whole=whole,
            redirects=len(response.history),
        )

    def _deadline(
        self, client: httpx.Client | httpx.AsyncClient, clock: Clock, ends: float
    ) -> float:
        """When a try's answer must have come whole: as the budget `ends`, or one read
        timeout after the try began if later (the last try begins as the budget ends)."""
        return max(ends, clock.monotonic() + (client.timeout.read or ANSWER_FLOOR))

    def _lost(self, error: httpx.RequestError, clock: Clock) -> TransportFailure:
        # An answer whose body its Content-Encoding does not decode, or
        # redirects without end, is no answer either (httpx raises them as
        # errors other than a TransportError, which went past the flow,
        # raw, even when the write they answered had been applied). A
        # connection never made sent nothing; any other failure may have
        # come after the server had the whole request.
        sent = not isinstance(error, _NOTHING_SENT)
        return TransportFailure(error, at=clock.monotonic(), wall=clock.time(), sent=sent)


def _exchange(
    client: httpx.Client, request: httpx.Request, limit: int, late: Callable[[], bool]
) -> tuple[httpx.Response, bytes, bool]:
    """`request` sent and its answer read to `limit` (see `read_at_most` for `late`).

    A write answered 2xx was applied, whatever becomes of its body: one
    that breaks off or comes too late is an answer not whole, not a lost one.
    """
    response = send(client, request)
    try:
        body, whole = read_at_most(response, limit, late)
    except httpx.RequestError:
        if not _applied(request, response):
            raise
        return response, b"", False
    return response, body, whole


async def _aexchange(
    client: httpx.AsyncClient, request: httpx.Request, limit: int, within: float
) -> tuple[httpx.Response, bytes, bool]:
    """`_exchange`, all of it `within` seconds (else ``httpx.ReadTimeout``: a server that
    trickles its answer, or sends 1xx without end)."""
    response: httpx.Response | None = None
    try:
        with anyio.fail_after(within):
            response = await asend(client, request)
            body, whole = await aread_at_most(response, limit)
    except (TimeoutError, httpx.RequestError) as error:
        if response is not None and _applied(request, response):
            await response.aclose()
            return response, b"", False
        if isinstance(error, TimeoutError):
            raise _late(request, within) from None
        raise
    return response, body, whole


def _applied(request: httpx.Request, response: httpx.Response) -> bool:
    # `send` follows no redirect that changes the method; a 2xx to another
    # method (a page's 200 to a GET) would say nothing of the write.
    return (
        request.method in UNSAFE_METHODS
        and response.request.method == request.method
        and response.is_success
    )


def _past(clock: Clock, deadline: float) -> bool:
    return clock.monotonic() > deadline


def _late(request: httpx.Request, within: float) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(
        f"the answer did not come whole within {within:.3g} s", request=request
    )


#: Transport errors raised before any byte of the request left.
_NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _Answers:
    """The httpx responses of an operation's last two answers, by the `Received` made of each.

    An update that gives up on a write's refusal after reading the document
    once more ends with the refusal, the answer before last: its error
    carries that response, not the read's.
    """

    def __init__(self) -> None:
        self._kept: list[tuple[Received, httpx.Response]] = []

    def keep(self, received: Received, response: httpx.Response) -> None:
        self._kept = [*self._kept[-1:], (received, response)]

    def of(
        self, outcome: StoredDocument | GaveUp, last: httpx.Response | None
    ) -> httpx.Response | None:
        if isinstance(outcome, GaveUp):
            for received, response in self._kept:
                if received is outcome.received:
                    return response
        return last


def _new_key() -> str:
    return str(uuid.uuid4())


def _result(outcome: StoredDocument | GaveUp, last: httpx.Response | None) -> StoredDocument:
    if isinstance(outcome, GaveUp):
        raise conflict_error(outcome, last) from outcome.error
    return outcome


class ConflictClient(_Common):
    """An httpx.Client that handles 409, 412 and 428 for its user.

    `update` (read-modify-write) and `create` (POST, at most once) retry
    by `policy` and raise a `ConflictError` when they give up. The
    passthrough methods (`get`, `put`, `patch`, `delete`, `post`,
    `request`) send one request and return its response as httpx does,
    adding If-Match from the ETag memory. Pass `client` to configure httpx
    (base_url, auth, timeouts); it is then yours to close. `update` and
    `create` read at most `max_answer` bytes of an answer's body (see
    `_bounded`); the passthrough methods, whole answers. Pass a
    `VirtualClock` as `clock` to have tests skip every wait (or turn on
    `set_testing` for every client at once).
    """

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        etags: ETagMemory | None = None,
        max_answer: int = MAX_ANSWER,
    ) -> None:
        super().__init__(policy, clock, etags, max_answer)
        self._owns_client = client is None
        self.client = client if client is not None else httpx.Client()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the httpx client if this client made it."""
        if self._owns_client:
            self.client.close()

    def update(self, url: str, change: ChangeFunction) -> StoredDocument:
        """Change the JSON document at `url` with `change`, retrying until it lands.

        `change` gets a deep copy of the current document and returns the
        new one (or None, having changed the copy in place). It may be
        called several times, once per attempt, each time on the document
        as it is then: it should compute from what it is given, and do
        nothing else.
        """
        return self._run(*self._update(self.client, url, change))

    def create(self, url: str, json: Json, *, key: str | None = None) -> StoredDocument:
        """POST `json` to the collection at `url`; however often it is retried, once.

        Every try carries the same Idempotency-Key: `key`, or a fresh UUID.
        """
        return self._run(*self._create(self.client, url, json, key))

    def watch(
        self,
        url: str,
        *,
        since: Since = None,
        id: str | None = None,  # the feed's own parameter name
        heartbeat: int | None = None,
    ) -> Iterator[Change]:
        """Every change to the collection at `url`, in commit order, each once, as they happen.

        Follows the collection's change feed (``{url}/_changes``, Server-Sent
        Events) until the caller stops iterating (which closes the stream).
        `since`: start after this seq, or "now" (None: the feed's default,
        now). `id`: only that document's changes. `heartbeat`: the period
        (1-60 s) the server is asked to show it is alive; a stream silent
        for three of them is taken for dead. A stream that drops, ends or
        answers 5xx is opened again from the last position seen, after the
        feed's reconnection time (its ``retry:``, at most 60 s) plus the
        backoff, through `policy`'s tries and time budget (which start
        again once a stream works); a 410 raises `ChangesExpired`, any
        other refusal `RequestRefused`. Closing the httpx client ends it.
        """
        return watch_changes(self.client, *self._watch(self.client, url, since, id, heartbeat))

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request (httpx's arguments), with If-Match from the ETag memory."""
        request = self._prepare(self.client.build_request(method, url, **kwargs))
        response = self.client.send(request)
        self._received(request, response, self.clock)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def _run(self, flow: Flow, clock: Clock, ends: float) -> StoredDocument:
        last: httpx.Response | None = None
        answers = _Answers()
        reply: Reply = None
        try:
            command = next(flow)
            while True:
                if isinstance(command, Sleep):
                    clock.sleep(command.seconds)
                    reply = None
                else:
                    request = self._build(self.client, command)
                    deadline = self._deadline(self.client, clock, ends)
                    try:
                        response, body, whole = _exchange(
                            self.client, request, self.max_answer, partial(_past, clock, deadline)
                        )
                    except httpx.RequestError as error:  # see `_lost`
                        reply = self._lost(error, clock)
                    else:
                        last = as_read(response, body)
                        reply = self._received(request, last, clock, whole)
                        answers.keep(reply, last)
                command = flow.send(reply)
        except StopIteration as stop:
            return _result(stop.value, answers.of(stop.value, last))


class AsyncConflictClient(_Common):
    """`ConflictClient` over an httpx.AsyncClient: the same flows, awaited."""

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        etags: ETagMemory | None = None,
        max_answer: int = MAX_ANSWER,
    ) -> None:
        super().__init__(policy, clock, etags, max_answer)
        self._owns_client = client is None
        self.client = client if client is not None else httpx.AsyncClient()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the httpx client if this client made it."""
        if self._owns_client:
            await self.client.aclose()

    async def update(self, url: str, change: ChangeFunction) -> StoredDocument:
        """See `ConflictClient.update`; `change` is a plain (not async) function."""
        return await self._run(*self._update(self.client, url, change))

    async def create(self, url: str, json: Json, *, key: str | None = None) -> StoredDocument:
        """See `ConflictClient.create`."""
        return await self._run(*self._create(self.client, url, json, key))

    def watch(
        self,
        url: str,
        *,
        since: Since = None,
        id: str | None = None,  # the feed's own parameter name
        heartbeat: int | None = None,
    ) -> AsyncIterator[Change]:
        """See `ConflictClient.watch`: ``async for change in client.watch(url)``.

        Breaking out of the loop closes the stream when the generator is
        finalized; ``contextlib.aclosing(client.watch(url))`` closes it at
        the end of its block.
        """
        return awatch_changes(self.client, *self._watch(self.client, url, since, id, heartbeat))

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request (httpx's arguments), with If-Match from the ETag memory."""
        request = self._prepare(self.client.build_request(method, url, **kwargs))
        response = await self.client.send(request)
        self._received(request, response, self.clock)
        return response

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def _run(self, flow: Flow, clock: Clock, ends: float) -> StoredDocument:
        last: httpx.Response | None = None
        answers = _Answers()
        reply: Reply = None
        try:
            command = next(flow)
            while True:
                if isinstance(command, Sleep):
                    await clock.asleep(command.seconds)
                    reply = None
                else:
                    request = self._build(self.client, command)
                    deadline = self._deadline(self.client, clock, ends)
                    try:
                        response, body, whole = await _aexchange(
                            self.client, request, self.max_answer, deadline - clock.monotonic()
                        )
                    except httpx.RequestError as error:  # see `_lost`
                        reply = self._lost(error, clock)
                    else:
                        last = as_read(response, body)
                        reply = self._received(request, last, clock, whole)
                        answers.keep(reply, last)
                command = flow.send(reply)
        except StopIteration as stop:
            return _result(stop.value, answers.of(stop.value, last))
