"""Idempotency-Key handling for any ASGI app (no framework import).

    app = IdempotencyMiddleware(app, store=idempotency_store("redis://..."))

For each request of a method the policy covers, the middleware parses the
Idempotency-Key, reads the body and drives the flow of
`httpconflict._idempotency` through a `KeyedRequest`, which decides every
store call and reply (the WSGI middleware shares it; this module only
awaits them): it claims the key in the store, runs the app, records the
answer, and only then sends it (renewing the claim while the app runs,
so that however long it takes, no retry runs beside it); a retry gets the recorded answer with
``Idempotent-Replayed: true``, a duplicate still in flight gets 409 (or
waits for the first, if the policy says so), another request under the
same key gets 422. If the app raises, the claim is released so a retry can
run, and the error goes on to the server; if it raises after it committed a
write, the key records that it failed after applying part of the request,
and the client gets that answer too (as every retry), the error logged
under the incident id the answer names.

A request that prefers HTML (a browser's form) gets every problem answer
that passes the middleware (its own 409, 422 and 503, the app's, a
recorded one replayed) as a page saying what to do (`_pages`); what the
key records is the problem.

A body that ends early (the client went away before ``more_body: False``:
its Content-Length not reached, a chunked body without its last chunk) is
not the request the client made: the middleware returns at once, before
any key is looked up or claimed, without running the app or answering (no
one is there to read it). The client's retry, whole, is then the key's
first request. A request without a key is the app's to read: an ASGI app
sees the disconnect itself (``http.disconnect`` before the end of the body).
A keyed request whose client goes away once its body is whole runs to its
end all the same: the app is not told (a `receive` after the body waits
until the app is done), so its answer is recorded for the retry.

When the store fails (`Unavailable`: Redis down, frozen, or refusing new
keys after losing its data), a request that has not run is answered 503
with Retry-After, never 500: the client may send it again. A request that
has run gets its own answer, whatever the store says (a 503 would invite a
retry that runs it twice); what it still owes the store (recording that
answer, releasing its claim) goes into the middleware's `Backlog`, made by
a background task on the server's loop until the store is back. At
lifespan shutdown the middleware waits up to `SHUTDOWN_GRACE` seconds for
that backlog before the app hears of the shutdown.

The store opens itself on its first call, so the middleware needs no
start-up code. Under a server that runs the ASGI lifespan (uvicorn), the
middleware also opens it once the app has started (a wrong store URL then
fails the start-up; a store that does not answer yet is logged, and the
first request tries again) and closes it once the app has stopped, also
for an app that runs no lifespan of its own, such as Django
(`_store_lifespan`).

An app that writes its side effect to the same database as the keys can
record the answer in the same transaction (see `ActiveClaim`): then a crash
can leave neither a side effect without its key nor a key without it. Only
then is a key store apart from that database safe to lose: give it as
`cache` (a `storage.idempotency.cache.ReplayCache`), and it only replays
copies of the answers recorded in `store` (the reference service with
``--idempotency redis://...``). Keys in Redis as the `store` itself, for an
app whose side effects Redis cannot commit with, are recorded after the
side effect: a process that dies between the two, or a Redis that loses
its data, lets a resend run again (`storage.idempotency.redis` says when).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from .._carried_out import carried_out
from .._errors import (
    ContentTooLarge,
    InvalidParameter,
    MalformedHeader,
    Unavailable,
    problem_and_fields,
)
from .._form_keys import form_policy, form_submission, reads_form_key
from .._idempotency import (
    Answer,
    Defer,
    Execute,
    IdempotencyReply,
    Renew,
    Sleep,
    StoredResponse,
    parse_idempotency_key,
)
from .._idempotency_policy import IdempotencyPolicy
from .._idempotency_request import (
    CLAIM_KEY,
    RELEASED_KEY,
    CacheStore,
    Interrupted,
    KeyedRequest,
    KeyStore,
    active_claim,
    log_late,
    log_raised,
    log_released,
    problem_fields,
    raised_after_writing,
    replayed_fields,
)
from .._late_errors import AfterAnswer, after_answer
from .._media import check_body_size
from .._outage import outage_error
from .._problem import MEDIA_TYPE, PROBLEM_TYPE_BASE, ProblemDetails
from .._request_writes import current_writes, forget_unwatched, watching_writes
from ..openapi import RoutePolicy
from ..storage.idempotency import IdempotencyStore
from ..storage.idempotency._renewal import renewing
from ..storage.idempotency.backlog import Backlog
from ._pages import problem_pages
from ._store_lifespan import StoreLifespan
from ._writes import refusal_of, unwrapped
from .problems import PROBLEM_SCOPE_KEY, send_problem, send_response
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CLAIM_SCOPE_KEY",
    "ActiveClaim",
    "IdempotencyMiddleware",
    "PolicyChoice",
    "active_claim",
    "route_policy",
]

#: Where the middleware leaves the `ActiveClaim` of a request for the app.
CLAIM_SCOPE_KEY: Final = CLAIM_KEY
#: Seconds the lifespan shutdown waits for deferred store writes.
SHUTDOWN_GRACE: Final = 5.0


@dataclass(slots=True)
class ActiveClaim(KeyedRequest):
    """A keyed request as the app sees it, in ``scope[CLAIM_SCOPE_KEY]``.

    With a transactional policy the app records its answer in its own
    transaction: it passes `completion(...)` to its store, then sets
    `completed`; if the store says another request recorded first
    (`IdempotencyKeyTaken`), it sets `taken` instead, and the middleware
    answers with that request's answer.
    """

    @property
    def transactional(self) -> bool:
        return self.policy.transactional


PolicyChoice = IdempotencyPolicy | Callable[[Scope], IdempotencyPolicy | None]


def route_policy(policy: PolicyChoice | None = None) -> RoutePolicy:
    """`policy` as a function of a method and a path template, for an OpenAPI document.

    A policy function is asked with a scope holding only the method and the
    path (headers empty), as a request to that route would have them.
    """
    chosen = policy if policy is not None else IdempotencyPolicy()
    if isinstance(chosen, IdempotencyPolicy):
        return lambda _method, _path: chosen

    def of(method: str, path: str) -> IdempotencyPolicy | None:
        scope: Scope = {
            "type": "http",
            "method": method,
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [],
        }
        return chosen(scope)

    return of


class IdempotencyMiddleware:
    """Idempotency-Key handling for any ASGI app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: IdempotencyStore,
        policy: PolicyChoice | None = None,
        cache: CacheStore[Awaitable[IdempotencyReply]] | None = None,
        pages: bool = True,
    ) -> None:
        self.app = app
        self.store = store
        #: Whether a request preferring HTML (a browser's form) gets its problem answers as
        #: pages; False for an API whose every error answer must stay problem JSON.
        self.pages = pages
        #: Copies of the answers recorded in `store`, replayed from here first
        #: (only under a transactional policy: see the module docstring).
        self.cache = cache
        self.policy = policy if policy is not None else IdempotencyPolicy()
        #: Store writes owed by requests already answered (the store was down).
        self.backlog = Backlog()

    def _policy_for(self, scope: Scope) -> IdempotencyPolicy | None:
        if isinstance(self.policy, IdempotencyPolicy):
            return self.policy
        return self.policy(scope)

    def route_policy(self, method: str, path: str) -> IdempotencyPolicy | None:
        """The policy of a request with `method` to `path` (for `openapi.document_idempotency`)."""
        return route_policy(self.policy)(method, path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            forget_unwatched()  # the app's import and factory: no request's writes
            await StoreLifespan(self.store, self.backlog, grace=SHUTDOWN_GRACE)(
                self.app, scope, receive, send
            )
            return
        if self.pages:
            # A browser's form: a refusal it shows is a page, not JSON (`_problem_page`).
            await problem_pages(self._call, scope, receive, send)
        else:
            await self._call(scope, receive, send)

    async def _call(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy = self._policy_for(scope) if scope["type"] == "http" else None
        if policy is None or not policy.covers(scope["method"]):
            await self.app(scope, receive, send)
            return
        try:
            lines = [v.decode("latin-1") for n, v in scope["headers"] if n == b"idempotency-key"]
            key = parse_idempotency_key(lines)
        except MalformedHeader as error:
            await send_problem(scope, send, error.problem)
            return
        content_type = None
        from_form = False
        if key is None and policy.form_field is not None:  # fields read only for a form's key
            content_type = _header(scope, b"content-type")
            from_form = reads_form_key(policy, content_type, _declared_length(scope))
        if key is None and not policy.required and not from_form:
            await self.app(scope, receive, send)
            return
        try:
            # A declared length past the limit is refused before a byte is read,
            # as the WSGI middleware does: the body may never come whole.
            check_body_size(_declared_length(scope), policy.max_body)
            body = await _read_body(receive, policy.max_body)
            content = None
            if from_form and body is not None:
                form = form_submission(content_type, body, policy.form_field or "")
                if form is not None:
                    key, content, policy = form.key, form.content, form_policy(policy)
        except (ContentTooLarge, InvalidParameter) as error:
            await send_problem(scope, send, error.problem)
            return
        if body is None:
            return  # cut short: nothing runs, no key is claimed, nobody to answer
        await self._handle(scope, send, policy, key, body, content)

    async def _handle(
        self,
        scope: Scope,
        send: Send,
        policy: IdempotencyPolicy,
        key: str | None,
        body: bytes,
        content: bytes | None = None,
    ) -> None:
        query = scope.get("query_string", b"")
        target = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        try:
            claim = ActiveClaim.begin(
                policy,
                scope,
                scope["method"],
                target,
                key,
                body,
                now=time.time(),
                cached=self.cache is not None,
                content=content,
            )
        except MalformedHeader as error:  # a field its fingerprint reads: nothing claimed
            await send_problem(scope, send, error.problem)
            return
        store: KeyStore[Awaitable[IdempotencyReply]] = self.store
        flow = claim.flow()
        captured: _Captured | None = None
        reply: IdempotencyReply = None
        try:
            while True:
                command = flow.send(reply)
                if isinstance(command, Sleep):
                    await asyncio.sleep(command.seconds)
                    reply = None
                elif isinstance(command, Execute):
                    if key is not None:
                        scope[CLAIM_SCOPE_KEY] = claim
                    # A slow request keeps its claim: a retry never runs beside it.
                    async with renewing(
                        lambda now: claim.call(Renew(), store, now), claim.renewal()
                    ):
                        # Inside: the renewals' task does not count as the request's.
                        with watching_writes() as writes:
                            # Its error handlers' 500 is recorded: they say part may be applied.
                            writes.records_failures = bool(key) and policy.store_server_errors
                            captured = await _run(self.app, scope, body, send, claim)
                    claim.applied = writes.committed > 0
                    reply = claim.executed(captured)
                elif isinstance(command, Defer):
                    self._defer(claim, command)
                    reply = None
                else:
                    try:
                        # Cancelled meanwhile, the request still records its answer (or
                        # releases its claim): else its resend runs it again after the lease.
                        reply = await carried_out(
                            claim.call(command, store, time.time(), self.cache)
                        )
                    except Unavailable as error:
                        reply = error  # the flow decides: 503 before the app ran, Defer after
        except StopIteration as stop:
            answer: Answer = stop.value
        await _answer(scope, send, answer, captured, body)
        if captured is not None and captured.late_error is not None:
            log_late(captured.late_error, scope["method"], scope["path"])

    def _defer(self, claim: ActiveClaim, deferred: Defer) -> None:
        store: KeyStore[Awaitable[IdempotencyReply]] = self.store

        async def attempt() -> bool:
            await claim.call(deferred.command, store, time.time())
            return True

        self.backlog.add(attempt, within=claim.deferral(deferred), what=claim.describe(deferred))


@dataclass(slots=True)
class _Captured:
    """An app's whole answer, held back until its key is recorded."""

    status_code: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    error: Exception | None = None
    #: Sent to the client as the app gave it (it was recorded already).
    passed: bool = False
    #: The app's answer was whole (its last body message) when it raised: the answer stands.
    whole: bool = False
    #: What it raised then (a background task's failure), for the log.
    late_error: Exception | None = None
    #: The failed COMMITs the request's watch counted when the answer was whole.
    failed_commits: int = 0

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def replace(self, problem: ProblemDetails, fields: dict[str, str]) -> None:
        """Answer `problem` (with the header `fields`) instead of what the app answered."""
        self.status_code = problem.status or 500
        self.headers = [(b"content-type", MEDIA_TYPE.encode()), *_raw(fields)]
        self.chunks = [problem.to_json()]

    def text_headers(self) -> list[tuple[str, str]]:
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.headers]


async def _run(
    app: ASGIApp, scope: Scope, body: bytes, send: Send, claim: KeyedRequest
) -> _Captured:
    """Run the app on the body already read, capturing its answer.

    An answer the app recorded under the key itself, in the transaction of
    its side effect (`claim.completed` by the time it starts answering),
    goes straight to the client: there is nothing left to wait for.
    """
    captured = _Captured()
    writes = current_writes()
    delivered = False
    started = False

    async def replay_body() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        # A keyed request's answer is recorded whether or not its client is
        # still there: its retry is what gets it. An app told the client left
        # may stop without answering while its work goes on (Django ends the
        # request, its sync view's thread does not end), and the key would be
        # released over a write made: so the app waits here, as for a client
        # that stays, until it is done (and cancels the wait).
        never: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        return await never

    async def capture(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
            captured.status_code = message["status"]
            captured.passed = claim.completed
        if captured.passed:
            await send(message)
        elif message["type"] == "http.response.start":
            captured.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            captured.chunks.append(message.get("body", b""))
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            captured.whole = True
            captured.failed_commits = writes.failed_commits if writes is not None else 0

    try:
        await app(scope, replay_body, capture)
    except Exception as error:  # recorded for the flow, which releases the key and re-raises
        raised = unwrapped(error)
        decision = after_answer(
            raised,
            formed=captured.whole,
            sent=captured.passed,
            commit_failed=writes is not None and writes.failed_commits > captured.failed_commits,
        )
        if decision is AfterAnswer.REPLACED:
            # Its answer claims a COMMIT (a FastAPI dependency's, after it) that failed.
            problem = outage_error(raised, scope["method"], handler_ran=True)
            assert problem is not None  # `after_answer` found the outage
            captured.replace(*problem_and_fields(problem))
        elif decision is AfterAnswer.REFUSED:
            # Its answer claims a COMMIT the database refused: the violation's answer (409),
            # as the watch around the app gives it, is what the key records.
            refused = await refusal_of(scope)(raised)
            assert refused is not None  # `after_answer` found the violation
            captured.replace(refused, {})
        elif decision is not AfterAnswer.RAISE and captured.status_code < 500:
            # Its answer was whole (a background task failed after it): the answer stands.
            # (A 5xx sent whole, then the raise, is an error handler's answer to it:
            # Starlette's ServerErrorMiddleware sends its 500, then re-raises.) The log
            # names the task's error, not Starlette's "response already started" around it.
            captured.late_error = raised
        else:
            captured.error = error
    except BaseException as error:  # cancelled, interrupted: the key's answer first, then it
        captured.error = Interrupted(error)
    else:
        if not started:
            captured.error = RuntimeError("the app returned without answering")
    return captured


def _raw(fields: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in fields.items()]


def _header(scope: Scope, name: bytes) -> str | None:
    """The request's field `name` (lower case), its first line, or None."""
    for found, value in scope["headers"]:
        if found == name:
            return bytes(value).decode("latin-1")
    return None


def _declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, if it declares a well-formed one."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value) if len(value) <= 18 else 10**18  # past any limit, unparsed
    return None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None when the client went away before its end."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            # ASGI: the body ends with more_body False, never with a
            # disconnect; what arrived before one is a part of the body, and
            # running the app on it would apply (and record under the key)
            # a request the client never made.
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ContentTooLarge(f"the body exceeds the limit of {limit} bytes", max_bytes=limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _problem_type(response: StoredResponse) -> str | None:
    """The problem type (slug) of a recorded problem answer, for the access log."""
    media = dict(response.headers).get("content-type", "")
    if response.status < 400 or not media.startswith(MEDIA_TYPE):
        return None
    try:
        kind = json.loads(response.body).get("type")
    except (ValueError, AttributeError):
        return None
    return kind.removeprefix(PROBLEM_TYPE_BASE) if isinstance(kind, str) else None


async def _answer(
    scope: Scope, send: Send, answer: Answer, captured: _Captured | None, body: bytes
) -> None:
    if isinstance(answer.error, Interrupted):
        raise answer.error.cause  # its key is recorded or released: it goes on
    if raised_after_writing(answer):
        # The answer its key records, not the framework's 500; the error to the log.
        log_raised(answer, scope["method"], scope["path"])
        if captured is not None and captured.passed:
            return  # its own answer went out already, what of it there was
    elif answer.error is not None:
        if captured is None or not captured.whole:
            # No answer of the app's own: the framework's 500 (Starlette's handler, outside
            # this middleware) says that the key was released.
            if scope.get(CLAIM_SCOPE_KEY) is not None:
                scope[RELEASED_KEY] = True
            raise answer.error
        # Released, and the app's error handler answered it (Starlette's
        # ServerErrorMiddleware sends its 500, then re-raises): that answer goes
        # out, not the server's bare 500; the error and its traceback to the log.
        log_released(answer.error, scope["method"], scope["path"])
        await send_response(send, captured.status_code, captured.headers, captured.body)
        return
    if answer.problem is not None:
        await send_problem(scope, send, answer.problem, problem_fields(answer))
        return
    assert answer.response is not None
    if answer.replayed or answer.error is not None:
        # An attempt that lost its race may have noted its problem type; a
        # recorded problem notes its own.
        scope.pop(PROBLEM_SCOPE_KEY, None)
        response = answer.response
        recorded_type = _problem_type(response)
        if recorded_type is not None:
            scope[PROBLEM_SCOPE_KEY] = recorded_type
        fields = replayed_fields(response) if answer.replayed else response.headers
        raw = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in fields]
        await send_response(send, response.status, raw, response.replayed_to(body))
        return
    # The request ran here: it gets the app's own answer, every header in it.
    assert captured is not None
    if not captured.passed:
        await send_response(send, captured.status_code, captured.headers, captured.body)
