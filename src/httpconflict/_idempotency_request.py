"""One keyed request on its way through a middleware: everything but the I/O.

Theory of operation: `idempotency_flow` (the lifecycle) says Claim, Check,
Sleep, Execute, Complete, Release and is told what came of each (and, while
the app runs, the middleware sends `Renew` every `renewal()` seconds). Between
it and a server stands one `KeyedRequest`, which knows the request (who,
which key, which fingerprint, the claim's owner token) and so decides what
each command means: which store primitive, with which arguments (`call`);
what the app's answer tells the flow (`executed`: the answer with only the
headers a replay may repeat, or `Taken` when the app lost its race to
record); and when the store need not be asked at all (`flow`: the app
recorded its answer itself). A middleware is then left with its own I/O:
the ASGI one awaits each store call and runs the app on its event loop,
the WSGI one makes the same calls in the request's thread. Either hands a
store's `Unavailable` back to the flow as the reply, and carries a `Defer`
out in the background (a `Backlog`), for as long as `deferral` says. A
replay cache in front of the store (`cached`) is called the same way, for
`Recall` and `Remember`. Like
the lifecycle, this module never reads the clock: the middleware passes `now`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol, Self, TypeVar

from ._fingerprint import fingerprint, meaning_fields
from ._idempotency import (
    REPLAYED_HEADER,
    Answer,
    Check,
    Claim,
    Complete,
    Completion,
    Defer,
    Execute,
    IdempotencyFlow,
    IdempotencyReply,
    Recall,
    Record,
    Remember,
    Renew,
    StoreCommand,
    StoredResponse,
    Taken,
    Wrote,
    idempotency_flow,
    renewal_period,
)
from ._idempotency_policy import IdempotencyPolicy, RequestMapping, field_lines
from ._incidents import describe, new_incident, one_line

Result = TypeVar("Result", covariant=True)

#: Where a middleware leaves a keyed request for the app: in the ASGI scope,
#: or the WSGI environ, while the app runs.
CLAIM_KEY: Final = "httpconflict.idempotency"
#: Set in the ASGI scope when a middleware released the key of a request that raised
#: (it committed nothing): the framework's 500 handler, outside, says that a resend runs.
RELEASED_KEY: Final = "httpconflict.idempotency_released"

log = logging.getLogger("httpconflict.idempotency")


class CapturedAnswer(Protocol):
    """What a middleware captured of the app's answer: all of it, or what it raised."""

    @property
    def error(self) -> Exception | None: ...

    @property
    def status_code(self) -> int: ...

    @property
    def body(self) -> bytes: ...

    def text_headers(self) -> Iterable[tuple[str, str]]: ...


class KeyStore(Protocol[Result]):
    """The primitives of an idempotency store a flow calls.

    `Result` is what each call gives: an awaitable of the reply for the
    async stores, the reply itself for `BlockingIdempotencyStore`.
    """

    def claim(
        self, principal: str, key: str, fingerprint: str, token: str, *, now: float, lease: float
    ) -> Result: ...

    def get(self, principal: str, key: str, *, now: float) -> Result: ...

    def complete(
        self,
        principal: str,
        key: str,
        token: str,
        response: StoredResponse,
        *,
        now: float,
        retention: float,
        fingerprint: str | None = None,
    ) -> Result: ...

    def release(self, principal: str, key: str, token: str) -> Result: ...

    def renew(
        self,
        principal: str,
        key: str,
        token: str,
        *,
        now: float,
        lease: float,
        fingerprint: str | None = None,
    ) -> Result: ...

    def record(self, completion: Completion) -> Result: ...


class CacheStore(Protocol[Result]):
    """What a replay cache in front of a store is asked: a look-up, and a copy to keep."""

    def get(self, principal: str, key: str, *, now: float) -> Result: ...

    def record(self, completion: Completion) -> Result: ...


@dataclass(slots=True)
class KeyedRequest:
    """A request a policy covers, as its flow runs: who asks, under which key, for what.

    `key` is "" for a request without one (it only executes). An app that
    records its own answer (a transactional policy) sets `completed` once
    it has, or `taken` if another request recorded first. `cached`: a
    replay cache stands in front of the (transactional) store.
    """

    principal: str
    key: str
    fingerprint: str
    #: The claim's owner token ("" under a transactional policy: no claim).
    token: str
    policy: IdempotencyPolicy
    #: When the key was last claimed or looked up.
    now: float
    #: The request's body, read whole (a replay that echoes it sends it back).
    body: bytes = b""
    completed: bool = False
    taken: bool = False
    cached: bool = False
    #: The last answer made for the store to record (`completion`).
    made: Completion | None = None
    #: The app committed writes while it ran (`_request_writes`), set by the middleware.
    applied: bool = False
    #: The request's method and path, for a log line.
    route: str = ""
    #: Its fingerprint as releases before `MEANING_FIELDS` counted made it.
    earlier_fingerprint: str = ""
    #: The last record the store gave holds `earlier_fingerprint` (`_as_recorded_now`).
    recorded_earlier: bool = False

    @classmethod
    def begin(
        cls,
        policy: IdempotencyPolicy,
        request: RequestMapping,
        method: str,
        target: str,
        key: str | None,
        body: bytes,
        *,
        now: float,
        cached: bool = False,
        content: bytes | None = None,
    ) -> Self:
        """The request (an ASGI scope or WSGI environ) with its body read whole.

        `cached`: a replay cache stands in front of the store (used only
        under a transactional policy, whose store's record decides).
        `content`: what the fingerprint is taken of instead of the body (a
        form's fields, which a duplicate repeats under another multipart
        boundary: `_form_keys`).
        """
        principal = policy.principal(request)
        token = "" if policy.transactional else os.urandom(16).hex()
        taken_of = body if content is None else content
        # Only a request with a key is compared with another: one without has
        # no use for its fingerprint (most writes, and each costs two digests of
        # its body).
        request_fingerprint = earlier = ""
        if key:
            fields = meaning_fields(lambda name: field_lines(request, name))
            request_fingerprint = fingerprint(method, target, principal, taken_of, fields)
            earlier = fingerprint(method, target, principal, taken_of)
        cached = cached and policy.transactional
        route = f"{method} {target.partition('?')[0]}"
        return cls(
            principal,
            key or "",
            request_fingerprint,
            token,
            policy,
            now,
            body,
            cached=cached,
            route=route,
            earlier_fingerprint=earlier,
        )

    def flow(self) -> IdempotencyFlow:
        """`idempotency_flow` for this request, as a middleware drives it.

        It yields what the middleware does: `Sleep`; `Execute`, to be
        answered with `executed(...)` of the app's answer; the store
        commands, each answered with what `call(command, ...)` gives (or
        the `Unavailable` it raised); and `Defer`, to be carried out in the
        background for `deferral(command)` seconds.
        """
        policy = self.policy
        flow = idempotency_flow(
            self.key or None,
            self.fingerprint,
            required=policy.required,
            wait=policy.wait,
            store_server_errors=policy.store_server_errors,
            transactional=policy.transactional,
            cached=self.cached,
        )
        reply: IdempotencyReply = None
        while True:
            try:
                command = flow.send(reply)
            except StopIteration as stop:
                answer: Answer = stop.value
                return answer
            if isinstance(command, Complete) and self.completed:
                reply = True  # the app recorded it, with its side effect
                continue
            if isinstance(command, Execute):
                self.taken = False  # until this attempt loses a race
            reply = self._as_recorded_now((yield command))

    def _as_recorded_now(self, reply: IdempotencyReply) -> IdempotencyReply:
        """A record of this request made by an earlier release, as this one would make it.

        Records made before the fingerprint took in `MEANING_FIELDS` hold the
        earlier kind (method, target, caller, body): the same request, resent
        after an upgrade, is replayed its answer, not refused as another.
        (Only this comparison sees it so: its copy in a replay cache keeps the
        earlier fingerprint, `_copy`.)
        """
        if isinstance(reply, Record):
            self.recorded_earlier = reply.fingerprint == self.earlier_fingerprint
            if self.recorded_earlier:
                return dataclasses.replace(reply, fingerprint=self.fingerprint)
        return reply

    def renewal(self) -> float | None:
        """Seconds between renewals of the claim while the app runs; None: no claim to keep.

        A request holds a claim when it has a key and the policy is not
        transactional (that records with the side effect, and claims nothing).
        """
        if not self.key or self.policy.transactional:
            return None
        return renewal_period(self.policy.lease)

    def executed(self, answer: CapturedAnswer) -> IdempotencyReply:
        """The flow's reply to `Execute`, from what the app answered or raised.

        `Wrote` when the app committed writes that no record of its own
        under the key covers (every write under a generic policy; under a
        transactional one, a commit before the one that recorded, or one
        without it).
        """
        if self.taken:
            return Taken()
        if self.applied and self.key and not self.completed:
            outcome: StoredResponse | Exception = answer.error or self.recorded(
                answer.status_code, answer.text_headers(), answer.body
            )
            # Transactional, and no answer made for the store in any
            # transaction (one whose COMMIT's outcome was lost made one).
            unrecorded = self.policy.transactional and self.made is None
            if unrecorded:
                log.warning(
                    "%s committed a write and never recorded its Idempotency-Key's answer "
                    "under a transactional policy: a retry applies it again. Call "
                    "record_answer in the transaction of its first write, or give the "
                    "route a policy that is not transactional",
                    self.route,
                )
            # An error's answer names the incident it is logged under (`log_raised`).
            incident = new_incident() if answer.error is not None else None
            return Wrote(outcome, unrecorded=unrecorded, incident=incident)
        if answer.error is not None and self.key and self.completed:
            # It recorded its answer with its write, then raised: the record is the answer,
            # this client's as every retry's (the flow looks it up), the error to the log.
            return Wrote(answer.error, incident=new_incident())
        if answer.error is not None and self.key and self.policy.store_server_errors:
            # No commit seen, but the policy records server errors: the app may have
            # applied part of it where no hook looks (a driver used directly), and a
            # resend would apply that again. Its failure is its answer, recorded.
            return Wrote(answer.error, incident=new_incident(), seen=False)
        if answer.error is not None:
            return answer.error
        if self.completed and self.cached and self.made is not None:
            return self.made.response  # recorded by the app: the cache keeps a copy
        if self.completed or not self.key:
            # Nothing records this answer here: the flow only needs its status.
            return StoredResponse(answer.status_code, (), b"")
        return self.recorded(answer.status_code, answer.text_headers(), answer.body)

    def recorded(
        self, status: int, headers: Iterable[tuple[str, str]], body: bytes
    ) -> StoredResponse:
        """An answer of this request as it is stored and replayed."""
        return self.policy.recorded(status, headers, body, self.body)

    def completion(
        self, status: int, headers: Iterable[tuple[str, str]], body: bytes
    ) -> Completion:
        """The answer to record in a transaction of the app's, as it will be replayed."""
        made = self.made = self._completion(self.recorded(status, headers, body), self.now)
        return made

    def _completion(self, response: StoredResponse, now: float) -> Completion:
        expires_at = now + self.policy.retention
        return Completion(self.principal, self.key, self.fingerprint, response, now, expires_at)

    def call(
        self,
        command: StoreCommand | Renew,
        store: KeyStore[Result],
        now: float,
        cache: CacheStore[Result] | None = None,
    ) -> Result:
        """Call the store primitive `command` stands for; its result is the flow's reply.

        `Recall` and `Remember` go to the replay `cache` (only asked for when there is one).
        """
        assert self.key, "a request without a key never reaches the store"
        if isinstance(command, Recall | Remember):
            assert cache is not None, "only a request with a replay cache recalls"
            if isinstance(command, Recall):
                return cache.get(self.principal, self.key, now=now)
            return cache.record(self._copy(command, now))
        if isinstance(command, Claim):
            self.now = now
            return store.claim(
                self.principal,
                self.key,
                self.fingerprint,
                self.token,
                now=now,
                lease=self.policy.lease,
            )
        if isinstance(command, Check):
            self.now = now
            return store.get(self.principal, self.key, now=now)
        if isinstance(command, Renew):
            return store.renew(
                self.principal,
                self.key,
                self.token,
                now=now,
                lease=self.policy.lease,
                # So that a store that lost the claim (Redis restarted) can
                # claim the key again for this request, which still runs.
                fingerprint=self.fingerprint,
            )
        if isinstance(command, Complete) and self.policy.transactional:
            # The app wrote nothing and so recorded nothing: record the answer
            # now, unless another request under the key recorded first.
            made = self.made = self._completion(command.response, now)
            return store.record(made)
        if isinstance(command, Complete):
            return store.complete(
                self.principal,
                self.key,
                self.token,
                command.response,
                now=now,
                retention=self.policy.retention,
                # So that a store that lost the claim (Redis restarted) can
                # still record the answer under the key, if nobody took it.
                fingerprint=self.fingerprint,
            )
        return store.release(self.principal, self.key, self.token)

    def _copy(self, command: Remember, now: float) -> Completion:
        """What the replay cache keeps of a recorded answer: the record's own expiry.

        Never longer than the store keeps it, so that the cache never
        answers for a key the store has forgotten. And under the fingerprint
        the record holds: a record of an earlier release copied under this
        one's made an old instance, while both run, refuse (422) the very
        request it recorded, which it replayed before the copy.
        """
        found = command.record
        if found is None:
            made = self.made
            if made is None or made.response != command.response:
                made = self._completion(command.response, self.now)
            # A time to live counts from now: the copy ends when the record does.
            return dataclasses.replace(made, now=max(now, made.now))
        assert found.expires_at is not None, "a record without its end is not copied"
        expires_at = found.expires_at
        held = self.earlier_fingerprint if self.recorded_earlier else found.fingerprint
        return Completion(self.principal, self.key, held, command.response, now, expires_at)

    def deferral(self, deferred: Defer) -> float:
        """For how many seconds a deferred command is worth retrying.

        A completion, until the answer would have expired anyway (the
        retention); a release, until the claim would have (the lease).
        """
        if isinstance(deferred.command, Complete):
            return self.policy.retention
        return self.policy.lease

    def describe(self, deferred: Defer) -> str:
        """The deferred command, for a log line."""
        what = "the answer" if isinstance(deferred.command, Complete) else "the claim"
        verb = "record" if isinstance(deferred.command, Complete) else "release"
        return f"{verb} {what} of Idempotency-Key {self.key!r}"


def active_claim(request: RequestMapping) -> KeyedRequest | None:
    """The keyed request whose answer the app records itself, from its scope or environ.

    None without a key, or under a policy that is not transactional (the
    middleware records the answer then).
    """
    claim = request.get(CLAIM_KEY)
    if isinstance(claim, KeyedRequest) and claim.key and claim.policy.transactional:
        return claim
    return None


def problem_fields(answer: Answer) -> dict[str, str]:
    """The header fields a problem answer carries besides its media type.

    A 409 for a duplicate in flight says, in Retry-After, when to look again.
    """
    return {"Retry-After": str(answer.retry_after)} if answer.retry_after else {}


class Interrupted(Exception):
    """An app's BaseException (cancelled, KeyboardInterrupt, SystemExit), handed to the flow.

    The key still gets its answer recorded (after a commit) or its release
    before `cause` goes on: let through at once, it left the key claimed
    until its lease ended, and then a resend ran the write again.
    """

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__} while the app ran")
        self.cause = cause


def raised_after_writing(answer: Answer) -> bool:
    """Whether `answer` is for an app that raised after it committed a write (see `Answer`)."""
    return answer.error is not None and answer.response is not None


def log_raised(answer: Answer, method: str, path: str) -> None:
    """Log the error of an app that raised after writing, under the incident its answer names.

    The incident's line, then the error's traceback (its causes too): an
    app's own bug, which the server would have logged whole had it reached
    it. The client and every retry get the recorded answer, which names
    the id, instead of the framework's 500. `path` is without its query,
    which may carry a secret.
    """
    error = answer.error
    assert error is not None
    incident = answer.incident or new_incident()
    what = (
        "raised after committing a write: its Idempotency-Key records that it failed after "
        "applying part of it"
        if answer.seen
        else "raised: its Idempotency-Key records the failure (the policy records server "
        "errors: part of it may have been applied)"
    )
    log.error(
        "incident %s: 500 %s %s: %s",
        incident,
        one_line(f"{method} {path}"),
        what,
        describe(error),
        exc_info=(type(error), error, error.__traceback__),
    )


def log_late(error: Exception, method: str, path: str) -> None:
    """Log what an app raised once its answer was whole (a background task): the answer, sent
    and recorded as the app gave it, stands; the error and its traceback go to the log."""
    log.error(
        "%s raised after its answer was complete (a background task?): the answer stands, "
        "recorded under its Idempotency-Key: %s",
        one_line(f"{method} {path}"),
        describe(error),
        exc_info=(type(error), error, error.__traceback__),
    )


def log_released(error: Exception, method: str, path: str) -> None:
    """Log what an app raised that committed nothing, its key released for a retry to run.

    The client gets the app's own answer to it (its error handler's 500);
    the error and its traceback go to the log, as the server would have
    logged them.
    """
    log.error(
        "%s raised; nothing of it was committed, so its Idempotency-Key is released for a "
        "retry to run: %s",
        one_line(f"{method} {path}"),
        describe(error),
        exc_info=(type(error), error, error.__traceback__),
    )


def replayed_fields(response: StoredResponse) -> list[tuple[str, str]]:
    """A recorded answer's header fields as a retry gets them, marked as a replay."""
    return [*response.headers, (REPLAYED_HEADER, "true")]
