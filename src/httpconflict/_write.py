"""Conditional writes: check the precondition and write in one atomic step.

Theory of operation: checking a precondition with one statement and
writing with another lets a second writer slip in between (the lost update
that every SELECT-then-UPDATE helper has). Here the check travels *into* the
write as a `Guard`, a predicate on the stored entity-tag that a store
enforces in the same statement as the write (``UPDATE ... WHERE etag IN
(...)``; ``INSERT ... ON CONFLICT DO NOTHING``) and reports through the
row count.

`write_flow` is the whole algorithm as a generator that does no I/O: it
yields commands (`Read`, `Write`) and receives their results, so any store,
sync or async, drives it (`run_write`, `arun_write`). Most requests (If-Match with
entity-tags, If-None-Match: *, no precondition) become a guard directly and
cost one statement. The others (If-Unmodified-Since, If-None-Match with
tags) are evaluated against a snapshot of the current validators and then
written with a guard pinned to that snapshot's entity-tag, so the write
happens only if the state they were evaluated against is still current.
When a guarded write is refused, the store reports the current validators
and `evaluate` decides the answer (412 or 428); if the state changed so
that the request now passes, the write is retried pinned to the state just
seen, a bounded number of times.

A refused write is never turned into a success because the state it asked
for happens to be in place: two clients that read 5 and both write 6 made
two increments, and the second must hear of the first. Only a write that
passes its precondition and would change nothing is a success without a
write (UNCHANGED).

If-Unmodified-Since names a second, not a version. A write it lets through
in the very second of the current version would leave two versions with
one date, and no date could ever tell them apart again (every writer
holding it would be refused, RFC 9110 §8.8.2.2); so such a write waits for
the next second (412: read again and retry, or send If-Match).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypeAlias

from ._etag import ETag
from ._preconditions import Conditions, Decision, Validators, evaluate

DEFAULT_ATTEMPTS: Final = 8


@dataclass(frozen=True, slots=True)
class Guard:
    """A predicate a store checks in the same statement as its write.

    ``exists``: True, the resource must exist; False, it must not; None,
    either. ``etags``: when given, the stored entity-tag must be strongly
    equal to one of these opaque values (which implies existence).
    """

    exists: bool | None = None
    etags: frozenset[str] | None = None

    @classmethod
    def pinned(cls, current: Validators | None) -> Guard:
        """Write only if the state is still exactly `current`."""
        if current is None:
            return cls(exists=False)
        if current.etag is None or current.etag.weak:
            raise ValueError("pinning a write needs a strong entity-tag")
        return cls(exists=True, etags=frozenset({current.etag.opaque}))

    @classmethod
    def from_conditions(
        cls, conditions: Conditions, *, require_precondition: bool, creates: bool = True
    ) -> Guard | None:
        """The guard equivalent to `conditions` for a write, or None if there is none.

        None means the conditions must be evaluated against a snapshot first.
        `creates` says whether the method may create the resource; if not,
        a guard that wants the resource absent would only ever be refused,
        and the snapshot tells 404 from 412 or 428 instead.
        """
        guard = cls._from_conditions(conditions, require_precondition)
        if guard is not None and guard.exists is False and not creates:
            return None
        return guard

    @classmethod
    def _from_conditions(cls, conditions: Conditions, require_precondition: bool) -> Guard | None:
        if_match, if_none_match = conditions.if_match, conditions.if_none_match
        if if_match is not None:
            if if_none_match is not None:
                return None
            if if_match.any:
                return cls(exists=True)
            strong = frozenset(t.opaque for t in if_match.tags if not t.weak)
            # A weak tag never matches If-Match (§13.1.1); with no strong tag
            # the answer is 412 (or 404), found by evaluation.
            return cls(exists=True, etags=strong) if strong else None
        if conditions.if_unmodified_since is not None:
            return None
        if if_none_match is not None:
            return cls(exists=False) if if_none_match.any else None
        return cls(exists=False) if require_precondition else cls()


class WriteOutcome(enum.Enum):
    """How a conditional write ended."""

    WRITTEN = "written"
    #: The precondition held and the state asked for is the current state:
    #: nothing was written, and that is a success.
    UNCHANGED = "unchanged"
    NOT_FOUND = "not-found"
    PRECONDITION_FAILED = "precondition-failed"
    PRECONDITION_REQUIRED = "precondition-required"
    #: Every attempt lost a race with another writer.
    CONTENDED = "contended"


@dataclass(frozen=True, slots=True)
class Read:
    """Command: send back the current validators (None if absent)."""


@dataclass(frozen=True, slots=True)
class Write:
    """Command: write if `guard` holds; send back a `WriteResult`."""

    guard: Guard


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a store reports for a `Write`: done, or refused with the current state.

    ``created`` is true when the write made a resource exist that did not.
    """

    written: bool
    current: Validators | None = None
    created: bool = False


@dataclass(frozen=True, slots=True)
class WriteDecision:
    """The end of a write flow, with the validators that explain it."""

    outcome: WriteOutcome
    current: Validators | None = None
    created: bool = False


Command: TypeAlias = Read | Write
Reply: TypeAlias = Validators | WriteResult | None
WriteFlow: TypeAlias = Generator[Command, Reply, WriteDecision]

_OUTCOMES: Final = {
    Decision.PRECONDITION_FAILED: WriteOutcome.PRECONDITION_FAILED,
    Decision.PRECONDITION_REQUIRED: WriteOutcome.PRECONDITION_REQUIRED,
    # NOT_MODIFIED only arises for GET and HEAD, which do not write.
    Decision.NOT_MODIFIED: WriteOutcome.PRECONDITION_FAILED,
}


def write_flow(
    method: str,
    conditions: Conditions,
    *,
    requested: ETag | None,
    require_precondition: bool = True,
    creates: bool | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    now: datetime | None = None,
) -> WriteFlow:
    """The conditional write algorithm as a generator of commands.

    `requested` is the entity-tag the resource has after the write, when it
    is known before writing (None for DELETE, and for stores whose tags
    count writes). Stores must refuse a write whose result equals the
    stored state (same entity-tag), so no-op writes leave no new version;
    the flow answers UNCHANGED for them when their precondition holds.
    `now` is the time the write is stamped with: with it, a write guarded
    by If-Unmodified-Since alone is refused in the second of the current
    version (see the module's docstring).
    """
    method = method.upper()
    creating = creates if creates is not None else method == "PUT"

    def judge(current: Validators | None) -> WriteOutcome | None:
        if current is None and not creating:
            return WriteOutcome.NOT_FOUND
        decision = evaluate(
            method,
            conditions,
            current,
            require_precondition=require_precondition,
            creates=creates,
        )
        if decision is not Decision.PROCEED:
            return _OUTCOMES[decision]
        if same_second(conditions, current, now):
            return WriteOutcome.PRECONDITION_FAILED
        etag = current.etag if current is not None else None
        if etag is not None and requested is not None and etag.strong_compare(requested):
            return WriteOutcome.UNCHANGED
        return None

    guard = Guard.from_conditions(
        conditions, require_precondition=require_precondition, creates=creating
    )
    if guard is None:
        current = yield Read()
        assert not isinstance(current, WriteResult)
        verdict = judge(current)
        if verdict is not None:
            return WriteDecision(verdict, current)
        guard = Guard.pinned(current)
    for _ in range(attempts):
        result = yield Write(guard)
        assert isinstance(result, WriteResult)
        if result.written:
            return WriteDecision(WriteOutcome.WRITTEN, result.current, result.created)
        verdict = judge(result.current)
        if verdict is not None:
            return WriteDecision(verdict, result.current)
        # The state changed between the evaluation and the write such that
        # the request now passes: try again against the state just seen.
        guard = Guard.pinned(result.current)
    return WriteDecision(WriteOutcome.CONTENDED, None)


def same_second(conditions: Conditions, current: Validators | None, now: datetime | None) -> bool:
    """Whether a write guarded by If-Unmodified-Since alone lands in the second of `current`."""
    if now is None or current is None or current.last_modified is None:
        return False
    if conditions.if_match is not None or conditions.if_unmodified_since is None:
        return False
    return int(now.timestamp()) <= int(current.last_modified.timestamp())


def run_write(
    flow: WriteFlow,
    read: Callable[[], Validators | None],
    write: Callable[[Guard], WriteResult],
) -> WriteDecision:
    """Drive a write flow with blocking store primitives."""
    try:
        command = next(flow)
        while True:
            reply: Reply = read() if isinstance(command, Read) else write(command.guard)
            command = flow.send(reply)
    except StopIteration as stop:
        decision: WriteDecision = stop.value
        return decision


async def arun_write(
    flow: WriteFlow,
    read: Callable[[], Awaitable[Validators | None]],
    write: Callable[[Guard], Awaitable[WriteResult]],
) -> WriteDecision:
    """Drive a write flow with async store primitives."""
    try:
        command = next(flow)
        while True:
            reply: Reply = await read() if isinstance(command, Read) else await write(command.guard)
            command = flow.send(reply)
    except StopIteration as stop:
        decision: WriteDecision = stop.value
        return decision
