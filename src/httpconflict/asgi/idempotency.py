"""Idempotency-Key handling for any ASGI app (no framework import).

    app = IdempotencyMiddleware(app, store=idempotency_store("redis://..."))

For each request of a method the policy covers, the middleware parses the
Idempotency-Key, fingerprints the request (method, target, principal, body)
and drives `httpconflict._idempotency.idempotency_flow`: it claims the key
in the store, runs the app, records the answer, and only then sends it; a
retry gets the recorded answer with ``Idempotent-Replayed: true``, a
duplicate still in flight gets 409 (or waits for the first, if the policy
says so), another request under the same key gets 422. If the app raises,
the claim is released so a retry can run.

An app that writes its side effect to the same database as the keys can
record the answer in the same transaction (see `ActiveClaim`): then a crash
can leave neither a side effect without its key nor a key without it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from .._errors import ContentTooLarge, MalformedHeader
from .._idempotency import (
    REPLAYED_HEADER,
    Answer,
    Check,
    Claim,
    Complete,
    Execute,
    IdempotencyReply,
    Release,
    Sleep,
    StoredResponse,
    Taken,
    fingerprint,
    idempotency_flow,
    parse_idempotency_key,
)
from .._idempotency_policy import IdempotencyPolicy
from ..storage.idempotency import Completion, IdempotencyStore
from .problems import PROBLEM_SCOPE_KEY, send_problem, send_response
from .types import ASGIApp, Message, Receive, Scope, Send

#: Where the middleware leaves the `ActiveClaim` of a request for the app.
CLAIM_SCOPE_KEY: Final = "httpconflict.idempotency"


@dataclass(slots=True)
class ActiveClaim:
    """A keyed request as the app sees it, in ``scope[CLAIM_SCOPE_KEY]``.

    With a transactional policy the app records its answer in its own
    transaction: it passes `completion(...)` to its store, then sets
    `completed`; if the store says another request recorded first
    (`IdempotencyKeyTaken`), it sets `taken` instead, and the middleware
    answers with that request's answer.
    """

    principal: str
    key: str
    fingerprint: str
    token: str
    policy: IdempotencyPolicy
    now: float
    completed: bool = False
    taken: bool = False

    @property
    def transactional(self) -> bool:
        return self.policy.transactional

    def completion(
        self, status: int, headers: Iterable[tuple[str, str]], body: bytes
    ) -> Completion:
        """The answer to record with the side effect, as it will be replayed."""
        response = self.recorded(status, headers, body)
        expires_at = self.now + self.policy.retention
        return Completion(
            self.principal, self.key, self.fingerprint, response, self.now, expires_at
        )

    def recorded(
        self, status: int, headers: Iterable[tuple[str, str]], body: bytes
    ) -> StoredResponse:
        """The answer as it is stored and replayed (allow-listed headers only)."""
        return self.policy.recorded(status, headers, body)


PolicyChoice = IdempotencyPolicy | Callable[[Scope], IdempotencyPolicy | None]


class IdempotencyMiddleware:
    """Idempotency-Key handling for any ASGI app."""

    def __init__(
        self, app: ASGIApp, *, store: IdempotencyStore, policy: PolicyChoice | None = None
    ) -> None:
        self.app = app
        self.store = store
        self.policy = policy if policy is not None else IdempotencyPolicy()

    def _policy_for(self, scope: Scope) -> IdempotencyPolicy | None:
        if isinstance(self.policy, IdempotencyPolicy):
            return self.policy
        return self.policy(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy = self._policy_for(scope) if scope["type"] == "http" else None
        if policy is None or scope["method"] not in policy.methods:
            await self.app(scope, receive, send)
            return
        try:
            lines = [v.decode("latin-1") for n, v in scope["headers"] if n == b"idempotency-key"]
            key = parse_idempotency_key(lines)
        except MalformedHeader as error:
            await send_problem(scope, send, error.problem)
            return
        if key is None and not policy.required:
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive, policy.max_body)
        except ContentTooLarge as error:
            await send_problem(scope, send, error.problem)
            return
        await self._handle(scope, receive, send, policy, key, body)

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        policy: IdempotencyPolicy,
        key: str | None,
        body: bytes,
    ) -> None:
        principal = policy.principal(scope)
        query = scope.get("query_string", b"")
        target = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        request_fingerprint = fingerprint(scope["method"], target, principal, body)
        # A claim's owner token (transactional requests hold no claim).
        token = "" if policy.transactional else os.urandom(16).hex()
        claim = ActiveClaim(principal, key or "", request_fingerprint, token, policy, time.time())
        flow = idempotency_flow(
            key,
            request_fingerprint,
            required=policy.required,
            wait=policy.wait,
            store_server_errors=policy.store_server_errors,
            transactional=policy.transactional,
        )
        captured: _Captured | None = None
        reply: IdempotencyReply
        try:
            command = next(flow)
            while True:
                if isinstance(command, Claim):
                    assert key is not None
                    claim.now = time.time()
                    reply = await self.store.claim(
                        principal,
                        key,
                        request_fingerprint,
                        claim.token,
                        now=claim.now,
                        lease=policy.lease,
                    )
                elif isinstance(command, Check):
                    assert key is not None
                    claim.now = time.time()
                    reply = await self.store.get(principal, key, now=claim.now)
                elif isinstance(command, Sleep):
                    await asyncio.sleep(command.seconds)
                    reply = None
                elif isinstance(command, Execute):
                    if key is not None:
                        scope[CLAIM_SCOPE_KEY] = claim
                    claim.taken = False
                    captured = await _run(self.app, scope, receive, body)
                    if claim.taken:
                        reply = Taken()
                    elif captured.error is not None:
                        reply = captured.error
                    elif policy.transactional or key is None:
                        # Nothing records this answer here: it is sent as captured.
                        reply = StoredResponse(captured.status, (), b"")
                    else:
                        reply = claim.recorded(
                            captured.status, captured.text_headers(), captured.body
                        )
                elif isinstance(command, Complete):
                    assert key is not None
                    reply = claim.completed or await self.store.complete(
                        principal,
                        key,
                        claim.token,
                        command.response,
                        now=time.time(),
                        retention=policy.retention,
                    )
                else:
                    assert isinstance(command, Release)
                    assert key is not None
                    await self.store.release(principal, key, claim.token)
                    reply = None
                command = flow.send(reply)
        except StopIteration as stop:
            answer: Answer = stop.value
        await _answer(scope, send, answer, captured)


@dataclass(slots=True)
class _Captured:
    """An app's whole answer, held back until its key is recorded."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    error: Exception | None = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def text_headers(self) -> list[tuple[str, str]]:
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.headers]


async def _run(app: ASGIApp, scope: Scope, receive: Receive, body: bytes) -> _Captured:
    """Run the app on the body already read, capturing its answer."""
    captured = _Captured()
    delivered = False
    started = False

    async def replay_body() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    async def capture(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
            captured.status = message["status"]
            captured.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            captured.chunks.append(message.get("body", b""))

    try:
        await app(scope, replay_body, capture)
    except Exception as error:  # recorded for the flow, which releases the key and re-raises
        captured.error = error
    else:
        if not started:
            captured.error = RuntimeError("the app returned without answering")
    return captured


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ContentTooLarge(f"the body exceeds the limit of {limit} bytes", max_bytes=limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _answer(scope: Scope, send: Send, answer: Answer, captured: _Captured | None) -> None:
    if answer.error is not None:
        raise answer.error
    if answer.problem is not None:
        headers = {"Retry-After": str(answer.retry_after)} if answer.retry_after else {}
        await send_problem(scope, send, answer.problem, headers)
        return
    assert answer.response is not None
    if answer.replayed:
        # An attempt that lost its race may have noted its problem type.
        scope.pop(PROBLEM_SCOPE_KEY, None)
        response = answer.response
        raw = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in response.headers]
        raw.append((REPLAYED_HEADER.lower().encode(), b"true"))
        await send_response(send, response.status, raw, response.body)
        return
    # The request ran here: it gets the app's own answer, every header in it.
    assert captured is not None
    await send_response(send, captured.status, captured.headers, captured.body)
