"""Idempotency keys (draft-ietf-httpapi-idempotency-key-header): the whole lifecycle.

Rule 1: everything that decides what happens to a key lives in this file:
its grammar, the states a stored key goes through (`TRANSITIONS`), what a
duplicate request is answered in each state (`ANSWERS`), and the flow that
claims, executes, completes or releases (`idempotency_flow`). Stores only
carry out the transitions atomically; the middleware only drives the flow.

A key is scoped to a principal (who is asking): the same key from two
callers names two independent requests. Each request also has a
fingerprint (`_fingerprint`: method, target, principal, body digest and the
fields that say which write it is), so a key reused for a
different request is told apart from a retry of the same one.

                 claim                 complete
      ABSENT ----------> IN_FLIGHT -------------> COMPLETED
        ^  ^                 |  ^                     |
        |  |                 +--+ renew (while it runs)|
        |  +-----------------+ release, lease expired |
        +---------------------------------------------+ retention expired

A claim is leased, and renewed while its request runs (`renewal_period`):
so it lapses only when the process running the request is gone (or its
store has been unreachable for a whole lease), never because the request
is slow. A retry that took over a claim still held would run the request
a second time beside the first.

The core never reads the clock: stores are given `now`, and waiting for an
in-flight duplicate is a number of `Sleep` commands.

When the store fails (its call ends in `Unavailable`: unreachable, timed
out, or refusing new keys for a while), what the request does depends on
whether it has run (`ON_UNAVAILABLE`): before it ran, it is refused with
503 and Retry-After, and the client sends it again; once it has run, its
answer goes out as the app gave it, and the store call it still owes (the
completion, or the release) is `Defer`red: carried out in the background
until the store answers. Answering 503 after the side effect would invite
the very retry that runs it twice.

A replay cache may stand in front of a transactional store (the service's
keys in Redis, their record in the documents' database): the flow looks a
key up there first (`Recall`) and copies each answer there once it is
recorded (`Remember`). The record that decides is always the store's; the
cache only ever holds copies of recorded answers (with their expiry), and
a cache that is empty, flushed or down is one that had nothing
(`Recovery.IGNORE`): the store answers instead.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import Final, TypeAlias

from ._errors import MalformedHeader, Unavailable
from ._problem import (
    IDEMPOTENCY_KEY_IN_FLIGHT,
    IDEMPOTENCY_KEY_MISSING,
    IDEMPOTENCY_KEY_REUSED,
    IDEMPOTENCY_KEY_UNRECORDED,
    INTERNAL_ERROR,
    MEDIA_TYPE,
    OUTCOME_UNKNOWN,
    ProblemDetails,
)

HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
MAX_KEY_LENGTH: Final = 255

# RFC 8941 §3.3.3, the draft's field type:
#   sf-string = DQUOTE *chr DQUOTE
#   chr       = unescaped / escaped
#   unescaped = %x20-21 / %x23-5B / %x5D-7E
#   escaped   = "\" ( DQUOTE / "\" )
# followed by parameters (§3.1.2), which carry nothing here and are skipped.
_SF_STRING: Final = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_PARAMETERS: Final = re.compile(r"(?:;[ ]*[a-z*][a-z0-9_.*-]*(?:=[^;]*)?)*")
_ESCAPED: Final = re.compile(r"\\(.)")
# Leniency: many clients (Stripe's among them) send the key unquoted.
_BARE: Final = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+")


def parse_idempotency_key(lines: list[str]) -> str | None:
    """The key of a request from its Idempotency-Key field lines, or None.

    Raises `MalformedHeader` (400) for an empty, over-long, non-ASCII,
    malformed or repeated key.
    """
    if not lines:
        return None
    if len(lines) > 1:
        raise _malformed("send one Idempotency-Key, not several", ", ".join(lines))
    value = lines[0].strip(" \t")
    if not value.isascii():
        raise _malformed("an idempotency key is ASCII text", value)
    quoted = _SF_STRING.match(value)
    if quoted is not None:
        if _PARAMETERS.fullmatch(value, quoted.end()) is None:
            raise _malformed("unexpected text after the quoted key", value)
        key = quoted.group(1)
        if "\\" in key:
            key = _ESCAPED.sub(r"\1", key)
    elif _BARE.fullmatch(value):
        key = value
    else:
        raise _malformed(
            'an idempotency key is a quoted string such as "8e03978e-40d5-43e8", '
            "or a token without spaces, quotes, commas or semicolons",
            value,
        )
    if not key:
        raise _malformed("the idempotency key is empty", value)
    if len(key) > MAX_KEY_LENGTH:
        raise _malformed(f"an idempotency key is at most {MAX_KEY_LENGTH} characters", value[:64])
    return key


def _malformed(detail: str, value: str) -> MalformedHeader:
    return MalformedHeader(f"{HEADER}: {detail}", value=value, header=HEADER)


class State(enum.Enum):
    """Where a stored key is in its life."""

    ABSENT = "absent"
    IN_FLIGHT = "in-flight"
    COMPLETED = "completed"


class Event(enum.Enum):
    CLAIM = "claim"
    COMPLETE = "complete"
    RELEASE = "release"
    RENEW = "renew"
    LEASE_EXPIRED = "lease-expired"
    RETENTION_EXPIRED = "retention-expired"


#: The key lifecycle. A pair missing from this table is not allowed: a
#: store refuses it (a claim on a live key returns that key instead; a
#: completion or release by a request that no longer owns the claim does
#: nothing).
TRANSITIONS: Final[dict[tuple[State, Event], State]] = {
    (State.ABSENT, Event.CLAIM): State.IN_FLIGHT,
    (State.IN_FLIGHT, Event.COMPLETE): State.COMPLETED,
    # The request is still running: its lease starts again from now.
    (State.IN_FLIGHT, Event.RENEW): State.IN_FLIGHT,
    # The handler raised (or answered 5xx, unless those are stored): let a
    # retry run.
    (State.IN_FLIGHT, Event.RELEASE): State.ABSENT,
    # The process holding the claim died: after the lease, a retry may run.
    (State.IN_FLIGHT, Event.LEASE_EXPIRED): State.ABSENT,
    (State.COMPLETED, Event.RETENTION_EXPIRED): State.ABSENT,
}


def transition(state: State, event: Event) -> State:
    """The state after `event`, or ValueError if the lifecycle does not allow it."""
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        raise ValueError(f"{event.value} is not allowed in state {state.value}") from None


class Action(enum.Enum):
    """What to do with a request that carries a key."""

    EXECUTE = "execute"
    REPLAY = "replay"
    REJECT = "reject"
    WAIT = "wait"


#: How a request is answered when its key is already live, by the key's
#: state and whether the request is the same one (same fingerprint).
#: RFC draft §2.6: "If the request is retried, while the original request is
#: still being processed, the resource server MUST reply with an HTTP 409";
#: a key "reused with a different request payload" is answered 422.
ANSWERS: Final[dict[tuple[State, bool], Action]] = {
    (State.IN_FLIGHT, True): Action.WAIT,
    (State.IN_FLIGHT, False): Action.REJECT,
    (State.COMPLETED, True): Action.REPLAY,
    (State.COMPLETED, False): Action.REJECT,
}


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The answer recorded for a completed key, replayed to its retries.

    `echoes`: the answer's body is the request's own body (a service that
    stores what it is sent and answers with it), so it is not stored: a
    retry has the same body (the fingerprint says so), and its replay is
    given that.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    echoes: bool = False

    def replayed_to(self, request_body: bytes) -> bytes:
        """The body a replay sends to a retry whose body is `request_body`."""
        return request_body if self.echoes else self.body


@dataclass(frozen=True, slots=True)
class Completion:
    """An answer to record under a key in the same transaction as a document write.

    Recording fails (`IdempotencyKeyTaken`, and the whole transaction rolls
    back) if the key already holds a live record: another request got there
    first.
    """

    principal: str
    key: str
    fingerprint: str
    response: StoredResponse
    now: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class Record:
    """A live key as a store holds it (`expires_at`: when it ends, if the store says)."""

    fingerprint: str
    state: State
    response: StoredResponse | None = None
    expires_at: float | None = field(default=None, compare=False)


# Commands of the flow, and what the driver sends back for each.
@dataclass(frozen=True, slots=True)
class Claim:
    """Claim the key for this request. Reply: None if claimed, else the live `Record`."""


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait, then send back None."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Execute:
    """Run the request. Reply: its `StoredResponse`, or an `Exception` it raised."""


@dataclass(frozen=True, slots=True)
class Complete:
    """Record the response for the key.

    Reply: True; or False when the claim was lost (or, in transactional
    mode, when another request recorded an answer under the key first).
    """

    response: StoredResponse


@dataclass(frozen=True, slots=True)
class Release:
    """Give the claim up so a retry can run. Reply: None."""


@dataclass(frozen=True, slots=True)
class Renew:
    """Extend the claim by a lease from now, while the request runs. Reply: True; False if lost.

    Not yielded by the flow: a middleware sends it on its own, every
    `renewal_period(lease)` seconds between `Execute` and its reply. One
    the store cannot make is tried again at the next period (the lease
    covers two that fail); one that finds the claim gone ends the renewals.
    A store that lost the claim with its data (Redis restarted empty) has
    the key IN_FLIGHT again for this request while no other claim can have
    been made since: for it, the key never left that state.
    """


#: A running request renews its claim this often per lease, so that two
#: renewals may fail (a store slow or briefly down) before the claim lapses.
RENEWALS_PER_LEASE: Final = 3


def renewal_period(lease: float) -> float:
    """Seconds between two renewals of the claim of a request that is running."""
    return lease / RENEWALS_PER_LEASE


@dataclass(frozen=True, slots=True)
class Defer:
    """Carry `command` out in the background, again while the store is unavailable. Reply: None.

    The request has run and its answer goes out now; the store still owes
    this request its completion (recorded, so that a retry is replayed) or
    the release of its claim (so that a retry can run without waiting for
    the lease).
    """

    command: Complete | Release


@dataclass(frozen=True, slots=True)
class Answer:
    """The end of the flow: send `response` (a replay if `replayed`), or raise `problem`.

    `error` alone: the app raised and nothing of it was applied; it goes on
    to the server. `error` with `response`: the app raised after it
    committed a write; `response` is what its key records (and replays),
    and the first client gets it too, while `error` is logged under
    `incident`, the id the response names.
    """

    response: StoredResponse | None = None
    replayed: bool = False
    problem: ProblemDetails | None = None
    retry_after: int | None = None
    error: Exception | None = None
    incident: str | None = None
    #: With `error` and `response`: whether a commit of the request was seen
    #: (False: recorded because the policy records server errors).
    seen: bool = True


@dataclass(frozen=True, slots=True)
class Check:
    """Look the key up without claiming it. Reply: the live `Record`, or None."""


@dataclass(frozen=True, slots=True)
class Taken:
    """Reply to `Execute`: the app lost the race to record its answer under the key.

    Only in transactional mode: another request recorded first, and this
    one's side effect was rolled back with its attempt to record.
    """


@dataclass(frozen=True, slots=True)
class Wrote:
    """Reply to `Execute`: what the app answered (or raised) after it committed writes.

    Writes no record of the app's covers (`_request_writes`): something was
    applied, whatever the answer says. The key is not released for a retry
    to run it again; the answer is recorded, a 5xx too (an error as
    `failed_after_writing`), and a retry is replayed it.

    `unrecorded` (transactional only): the app never recorded an answer
    under the key, in any transaction, though it committed a write to a
    database (it forgot `record_answer`): its answer, if it says all went
    well, is replaced by `unrecorded_write`.
    """

    outcome: StoredResponse | Exception
    unrecorded: bool = False
    #: For an `outcome` that is an error: the id it is logged under, which the
    #: recorded answer names.
    incident: str | None = None
    #: False: no commit was seen, but the policy records server errors
    #: (`store_server_errors`): the request raised, and may have applied part
    #: of itself where no hook looks (a driver used directly, another service).
    seen: bool = True


@dataclass(frozen=True, slots=True)
class Recall:
    """Look the key up in the replay cache, not the store. Reply: the cached `Record`, or None."""


@dataclass(frozen=True, slots=True)
class Remember:
    """Copy an answer recorded in the store to the replay cache. Reply: anything (ignored).

    `record`: the store's record it was read from (its fingerprint and
    expiry are copied), or None for this request's own answer.
    """

    response: StoredResponse
    record: Record | None = None


IdempotencyCommand: TypeAlias = (
    Claim | Check | Sleep | Execute | Complete | Release | Defer | Recall | Remember
)
#: An `Unavailable` is the reply to any store command (Claim, Check, Complete,
#: Release) the store could not carry out.
IdempotencyReply: TypeAlias = Record | StoredResponse | Exception | Taken | Wrote | bool | None
IdempotencyFlow: TypeAlias = Generator[IdempotencyCommand, IdempotencyReply, Answer]


class Recovery(enum.Enum):
    """What a request does when the store could not carry out one of its commands."""

    #: Nothing has run: answer 503 with the store's Retry-After; the client
    #: sends the request again, with the same key.
    REFUSE = "refuse"
    #: The request has run: send its answer as it is, and `Defer` the command.
    DEFER = "defer"
    #: The replay cache failed: go on as if it had nothing (the store decides).
    IGNORE = "ignore"


StoreCommand: TypeAlias = Claim | Check | Complete | Release | Recall | Remember

#: When the store (or the replay cache) is `Unavailable`, by the command it
#: could not carry out. A failed Claim may still have been applied (its reply
#: was lost); the store that knows so takes its claim back itself (see the
#: Redis store). The cache is never needed for a correct answer: losing it
#: costs a look-up in the store, never a refusal.
ON_UNAVAILABLE: Final[dict[type[StoreCommand], Recovery]] = {
    Claim: Recovery.REFUSE,
    Check: Recovery.REFUSE,
    Complete: Recovery.DEFER,
    Release: Recovery.DEFER,
    Recall: Recovery.IGNORE,
    Remember: Recovery.IGNORE,
}

POLL_SECONDS: Final = 0.05
#: How often a transactional request that lost its race looks again.
RACES: Final = 3


def idempotency_flow(
    key: str | None,
    fingerprint: str,
    *,
    required: bool = False,
    wait: float = 0.0,
    store_server_errors: bool = False,
    transactional: bool = False,
    cached: bool = False,
) -> IdempotencyFlow:
    """Everything that happens to one request with respect to its key.

    Without a key the request simply executes (or, if `required`, is
    answered 400). With one, it executes only if it claims the key; a
    duplicate of a completed request gets the stored answer, one of a
    request in flight waits up to `wait` seconds for it and then gets 409,
    and a different request under the same key gets 422. The executed
    response is recorded (5xx only if `store_server_errors`) before it is
    sent; if the request raised or is not recorded, the claim is released.
    A store that fails refuses the request before it runs (503) and defers
    its writes after (`ON_UNAVAILABLE`).

    `transactional`: the app records its answer itself, in the transaction
    of its side effect, which fails if another request recorded first and
    undoes that side effect. So the request simply executes: there is no
    claim and no lease, a crash leaves nothing behind, and a retry (or a
    duplicate racing the first) has its own attempt rolled back and gets the
    recorded answer, looked up (`Check`) then; a replay costs an attempt
    undone, which is rare, and every first request saves the look-up.
    An answer the app did not record (it wrote nothing: a 412, a 404) is
    recorded after it, if no other request under the key recorded first;
    if one did (a duplicate that ran at the same time and wrote, which is
    why this one was refused), its answer is the one given. So a retry of
    a request whose answer was lost always learns what became of it.

    `cached` (transactional only): a replay cache stands in front of the
    store. A completed answer found there is replayed (or, for another
    request, 422) without running; each answer recorded, and each found in
    the store, is copied there. What the cache lacks the store still
    decides, so a cache lost, flushed or down costs only its shortcut.
    """
    if key is None:
        verdict = decide(None, fingerprint, None, required=required)
        if verdict.action is Action.REJECT:
            return Answer(problem=verdict.problem)
        reply = yield Execute()
        if isinstance(reply, Exception):
            return Answer(error=reply)
        assert isinstance(reply, StoredResponse)
        return Answer(response=reply)

    if transactional:
        return (yield from _transactional(key, fingerprint, store_server_errors, cached))

    polls = int(wait / POLL_SECONDS)
    while True:
        live = yield from _store_call(Claim())
        if isinstance(live, Unavailable):
            return _refused(live)
        if live is None:
            break
        assert isinstance(live, Record)
        answer = _answer_duplicate(key, live, fingerprint, polls)
        if answer is not None:
            return answer
        polls -= 1
        yield Sleep(POLL_SECONDS)

    reply = yield Execute()
    wrote = reply if isinstance(reply, Wrote) else None
    if wrote is not None:
        reply = wrote.outcome
    applied = wrote is not None
    if isinstance(reply, Exception):
        if wrote is None:
            # Released for a retry to run: nothing of it was applied.
            yield from _store_call(Release())
            return Answer(error=reply)
        # A retry would apply it twice: the failure is its answer, this
        # client's as well as every retry's.
        failed = failed_after_writing(wrote.incident, seen=wrote.seen)
        yield from _store_call(Complete(failed))
        return Answer(response=failed, error=reply, incident=wrote.incident, seen=wrote.seen)
    assert isinstance(reply, StoredResponse)
    if reply.status >= 500 and not (store_server_errors or applied or may_be_applied(reply)):
        yield from _store_call(Release())
        return Answer(response=reply)
    if may_be_applied(reply):
        reply = recorded_outcome_unknown(reply)
    # If the claim was lost meanwhile (its renewals failed for a whole lease,
    # or the store lost it, and a retry took the key over), this answer is
    # not recorded; it is still what happened, so it is what this client
    # gets. Likewise if the store is down: the answer goes out, and is
    # recorded once the store is back.
    yield from _store_call(Complete(reply))
    return Answer(response=reply)


def _transactional(
    key: str, fingerprint: str, store_server_errors: bool, cached: bool
) -> IdempotencyFlow:
    """`idempotency_flow` when the app records its answer in its own transaction."""
    if cached:
        live = yield from _store_call(Recall())
        # Only a recorded answer counts here; anything else a cache may hold
        # (a claim of an older version's) is the store's to decide.
        if isinstance(live, Record) and live.state is State.COMPLETED:
            answer = _answer_duplicate(key, live, fingerprint, 0)
            if answer is not None:
                return answer
    for _ in range(RACES):
        reply = yield Execute()
        if isinstance(reply, Taken):
            # A record was there (a retry's first try, or a duplicate that won
            # the race): this attempt was undone; answer from the record.
            answer = yield from _recorded_answer(key, fingerprint, cached)
            if answer is not None:
                return answer
            continue  # it expired in between: run again
        if isinstance(reply, Wrote):
            # The app committed a write and no record of it (or a record, then
            # more: the answer is not the one recorded). A retry must not run
            # it again: record what it answered, once the store is back if
            # need be (`Defer`).
            outcome = reply.outcome
            problem = _unrecorded(reply)
            response = (
                failed_after_writing(reply.incident, seen=reply.seen)
                if isinstance(outcome, Exception)
                else outcome
            )
            if problem is not None:
                response = _problem_response(problem)
            recorded = yield from _store_call(Complete(response))
            if recorded is False:
                # A record was there: the request's last commit did record its
                # answer (its connection was lost as the COMMIT went through),
                # or, for an app that records nothing, a duplicate that ran
                # at the same time recorded its refusal first.
                answer = yield from _recorded_answer(key, fingerprint, cached)
                if answer is not None and not isinstance(outcome, Exception):
                    return answer
                if answer is not None and answer.response is not None:
                    # What the key replays, and this failure for the log.
                    assert isinstance(outcome, Exception)
                    return replace(answer, error=outcome, incident=reply.incident, seen=reply.seen)
                # A refusal from the look-up (the store down: 503, "nothing was applied")
                # is no answer for a request that committed: its own failure is.
            if isinstance(outcome, Exception):
                return Answer(
                    response=response, error=outcome, incident=reply.incident, seen=reply.seen
                )
            if problem is not None:
                return Answer(problem=problem)
            return Answer(response=outcome)
        if isinstance(reply, Exception):
            return Answer(error=reply)
        assert isinstance(reply, StoredResponse)
        if reply.status >= 500 and not store_server_errors:
            return Answer(response=reply)
        recorded = yield Complete(reply)
        if recorded is False:
            # The app wrote nothing (a 412, a 404) and a record is there: this
            # request is a retry, or a duplicate ran at the same time and wrote,
            # which is why this one was refused. The record says what happened.
            # (A store that failed to record leaves the answer unrecorded: a
            # retry runs again, harmlessly, as it wrote nothing.)
            answer = yield from _recorded_answer(key, fingerprint, cached)
            if answer is not None:
                return answer
        elif cached and recorded is True:
            # Recorded in the store (by the app, or just now): now the cache.
            yield from _store_call(Remember(reply))
        return Answer(response=reply)
    return _in_flight("this request kept losing the race to record its answer")


def _recorded_answer(
    key: str, fingerprint: str, cached: bool = False
) -> Generator[IdempotencyCommand, IdempotencyReply, Answer | None]:
    """The answer a live record under the key gives this request (replay, 422, 409), if any.

    `cached`: a completed record is copied to the replay cache, if the store
    said when it ends (the copy must not outlive it).
    """
    live = yield from _store_call(Check())
    if isinstance(live, Unavailable):
        return _refused(live)
    if not isinstance(live, Record):
        return None
    if cached and live.response is not None and live.expires_at is not None:
        yield from _store_call(Remember(live.response, live))
    return _answer_duplicate(key, live, fingerprint, 0)


def _store_call(
    command: StoreCommand,
) -> Generator[IdempotencyCommand, IdempotencyReply, IdempotencyReply]:
    """Send a store command; if the store was unavailable for it, what `ON_UNAVAILABLE` says."""
    reply = yield command
    if isinstance(reply, Unavailable):
        recovery = ON_UNAVAILABLE[type(command)]
        if recovery is Recovery.DEFER:
            assert isinstance(command, Complete | Release)
            yield Defer(command)
        elif recovery is Recovery.IGNORE:
            return None
    return reply


def may_be_applied(response: StoredResponse) -> bool:
    """Whether an answer says that its request may have been applied: a 504 `outcome-unknown`.

    The app's database lost the connection under a write (or failed after
    one committed): a retry that ran it again could apply it twice.
    """
    if response.status != OUTCOME_UNKNOWN.status:
        return False
    media = {name.lower(): value for name, value in response.headers}.get("content-type")
    if media is None or not media.startswith(MEDIA_TYPE):
        return False
    try:
        found = json.loads(response.body)
    except ValueError:
        return False
    return isinstance(found, dict) and found.get("type") == OUTCOME_UNKNOWN.uri


#: What the detail of a 504 `outcome-unknown` the key records says in place of the advice
#: to resend (`recorded_outcome_unknown`).
RECORDED_UNKNOWN: Final = (
    "its Idempotency-Key records this answer, which a resend gets again: read the resource "
    "to learn whether it was applied"
)


def recorded_outcome_unknown(response: StoredResponse) -> StoredResponse:
    """A 504 `outcome-unknown` as the key records it: its detail no longer says to resend.

    The app's write may or may not be in the database, and the key that
    records this answer replays it to every resend: a detail telling the
    client to resend to learn which (the adapters' words, right for a key
    recorded with the write) would have it resend for ever (two real apps:
    about 190 resends each, every one answered the same). No Retry-After:
    resending changes nothing.
    """
    problem = json.loads(response.body)
    detail = problem.get("detail")
    said = f"the request may have been applied; {RECORDED_UNKNOWN}"
    if isinstance(detail, str):
        cut = detail.find("; send the same request again")
        said = (
            f"{detail[:cut]}; {RECORDED_UNKNOWN}" if cut >= 0 else f"{detail}; {RECORDED_UNKNOWN}"
        )
    body = json.dumps({**problem, "detail": said}, separators=(",", ":")).encode()
    headers = tuple(
        (name, str(len(body)) if name.lower() == "content-length" else value)
        for name, value in response.headers
        if name.lower() != "retry-after"
    )
    return replace(response, headers=headers, body=body)


def failed_after_writing(incident: str | None = None, *, seen: bool = True) -> StoredResponse:
    """What a key records for a request that raised after it committed writes: a 500 problem.

    `incident`: the id the error is logged under, named in the answer.
    `seen` False: no commit was seen, and the policy records server errors.
    """
    return _problem_response(failed_after_writing_problem(incident, seen=seen))


def failed_after_writing_problem(
    incident: str | None = None, *, seen: bool = True
) -> ProblemDetails:
    """The 500 problem of a request that raised after it committed a write (keyed or not).

    `seen` False: it raised, and part of it may have been applied where no
    hook looks (a policy that records server errors takes that for a write).
    """
    detail = (
        "the server failed after applying part of this request"
        if seen
        else "the server failed while running this request, which may have applied part of it"
    )
    return INTERNAL_ERROR.problem(
        f"{detail}; read the resource to learn what it holds now",
        **({} if incident is None else {"incident": incident}),
    )


def _problem_response(problem: ProblemDetails) -> StoredResponse:
    """A problem as a key records it (and as a replay answers it)."""
    return StoredResponse(problem.status or 500, (("content-type", MEDIA_TYPE),), problem.to_json())


def _unrecorded(wrote: Wrote) -> ProblemDetails | None:
    """The 500 for a transactional request that committed a write and recorded no answer.

    The app's mistake: a retry, run before its record is refused (the flow
    looks nothing up first), applies that write again, and so do
    duplicates sent at once. The write is committed and no answer can undo
    it; an answer that says all went well (below 500) would let the mistake
    pass unnoticed, so it is refused, recorded, and replayed to retries.
    The app's own failure (a raise, a 5xx) already says that; it stays.
    """
    outcome = wrote.outcome
    if not wrote.unrecorded or isinstance(outcome, Exception) or outcome.status >= 500:
        return None
    return IDEMPOTENCY_KEY_UNRECORDED.problem(
        "this request committed a write and never recorded its Idempotency-Key's answer "
        "in that write's transaction: a retry with the key, or a duplicate sent at the "
        "same time, applies the write again. Record the answer in the transaction of the "
        "request's first write (record_answer before that commit), or put the route "
        "under a policy that is not transactional"
    )


def _refused(error: Unavailable) -> Answer:
    """The 503 for a request that did not run because the store failed: send it again later."""
    return Answer(problem=error.problem, retry_after=error.retry_after)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What `decide` says: the action, and the answer that goes with it."""

    action: Action
    #: REPLAY: the recorded answer.
    response: StoredResponse | None = None
    #: REJECT: the problem to answer; WAIT: the 409 to answer once waiting is over.
    problem: ProblemDetails | None = None


def decide(
    key: str | None, fingerprint: str, live: Record | None, *, required: bool = False
) -> Verdict:
    """What to do with a request, given its key and the key's live record (if any).

    EXECUTE (no live record, or no key where none is required), REPLAY the
    recorded answer, WAIT for the request in flight (then 409), or REJECT:
    400 without a key where one is required, 422 for another request under
    the key.
    """
    if key is None:
        if not required:
            return Verdict(Action.EXECUTE)
        return Verdict(
            Action.REJECT,
            problem=IDEMPOTENCY_KEY_MISSING.problem(
                f"this request needs an {HEADER} header: a unique value (such as a UUID) "
                "that you send again, unchanged, when you retry it"
            ),
        )
    if live is None:
        return Verdict(Action.EXECUTE)
    action = ANSWERS[live.state, live.fingerprint == fingerprint]
    if action is Action.REPLAY:
        return Verdict(action, response=live.response)
    if action is Action.REJECT:
        return Verdict(
            action,
            problem=IDEMPOTENCY_KEY_REUSED.problem(
                f"this {HEADER} was used for a different request (another method, URL, "
                "caller, body, precondition, Content-Type, Content-Encoding or Prefer); "
                "use a new key for a new request"
            ),
        )
    return Verdict(
        action,
        problem=IDEMPOTENCY_KEY_IN_FLIGHT.problem(
            "a request with this key is still being processed; retry after "
            "Retry-After seconds to get its answer",
            retry_after=1,
        ),
    )


def _answer_duplicate(key: str, live: Record, fingerprint: str, polls: int) -> Answer | None:
    """The answer for a request whose key is live, or None to wait and look again."""
    verdict = decide(key, fingerprint, live)
    if verdict.action is Action.REPLAY:
        return Answer(response=verdict.response, replayed=True)
    if verdict.action is Action.REJECT:
        return Answer(problem=verdict.problem)
    if polls <= 0:
        return Answer(problem=verdict.problem, retry_after=1)
    return None


def _in_flight(detail: str) -> Answer:
    return Answer(problem=IDEMPOTENCY_KEY_IN_FLIGHT.problem(detail, retry_after=1), retry_after=1)
