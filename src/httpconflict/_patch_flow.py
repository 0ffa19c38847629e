"""Conditional PATCH, and rebasing it when asked: the whole algorithm as a generator.

Theory of operation: like `write_flow`, `patch_flow` does no I/O. It yields
commands and is sent back what they found: `ReadDocument` (the current
validators and document, as a `Snapshot`, or None when there is none),
`ReadBase` (the kept version an If-Match tag names, as a `Base`, or None)
and `WriteDocument` (store the document if the `Guard` holds, in the same
statement; a `WriteResult`). Any store, sync or async, drives it
(`run_patch`, `arun_patch`).

Each attempt reads the document and evaluates the preconditions on it
(RFC 9110 §13.2.2). When they hold, the patch is applied to it; when
If-Match is stale, the answer is 412, unless the client asked for a rebase
(``Prefer: rebase``, `httpconflict._rebase`): then the patch is applied to
the current document if it touches nothing that changed since the version
If-Match names (since each kept version it lists, when it lists several:
which one the patch came from is not said), and is a conflict (409) if it
does; a version the store no longer keeps cannot be merged from (412). The
write is pinned to the snapshot it was computed from (`Guard.pinned`), so a
writer that slips in between makes it fail and the next attempt computes it
again, from the same bases, a bounded number of times (then CONTENDED: 503).
A rebase whose comparisons, summed over the bases and the attempts, would
pass `rebase_budget` is declined before it starts (REBASE_DECLINED: 412).
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypeAlias

from ._errors import InvalidDocument
from ._json_size import json_values
from ._json_value import Json, json_equal
from ._merge3 import Conflict
from ._patch import Patch
from ._preconditions import Conditions, Decision, Validators, evaluate
from ._rebase import rebase_budget, rebase_from_any
from ._write import DEFAULT_ATTEMPTS, Guard, WriteResult, same_second


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The current state of a resource: its validators and its document."""

    validators: Validators
    document: Json


@dataclass(frozen=True, slots=True)
class Base:
    """A kept version a patch was made from: its entity-tag (opaque) and document."""

    etag: str
    document: Json


@dataclass(frozen=True, slots=True)
class ReadDocument:
    """Command: send back the current `Snapshot`, or None if there is no resource."""


@dataclass(frozen=True, slots=True)
class ReadBase:
    """Command: send back the kept version whose entity-tag is one of `etags`, or None."""

    etags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WriteDocument:
    """Command: store `document` if `guard` holds (checked in the write); reply a `WriteResult`.

    `rebased_from`: the entity-tag of the version a rebased patch was made
    from (the answer names it), else None.
    """

    document: Json
    guard: Guard
    rebased_from: str | None = None


class PatchOutcome(enum.Enum):
    """How a conditional patch ended."""

    WRITTEN = "written"
    #: The precondition held and the patch changes nothing: nothing written.
    UNCHANGED = "unchanged"
    NOT_FOUND = "not-found"
    PRECONDITION_FAILED = "precondition-failed"
    PRECONDITION_REQUIRED = "precondition-required"
    #: A rebase was asked for, but the version If-Match names is not kept.
    BASE_UNKNOWN = "base-unknown"
    #: A rebase was asked for, and the patch touches what changed since its base.
    CONFLICT = "conflict"
    #: A rebase was asked for, and would compare more than its budget allows.
    REBASE_DECLINED = "rebase-declined"
    CONTENDED = "contended"


@dataclass(frozen=True, slots=True)
class PatchDecision:
    """The end of a patch flow.

    `document` is the document as patched (WRITTEN, UNCHANGED); `current`
    the validators after the write, or those that explain a refusal;
    `rebased_from` the entity-tag of the version a rebased patch was made
    from; `conflicts` what a CONFLICT clashed on.
    """

    outcome: PatchOutcome
    document: Json = None
    current: Validators | None = None
    rebased_from: str | None = None
    conflicts: tuple[Conflict, ...] = ()


PatchCommand: TypeAlias = ReadDocument | ReadBase | WriteDocument
PatchReply: TypeAlias = Snapshot | Base | WriteResult | None
PatchFlow: TypeAlias = Generator[PatchCommand, PatchReply, PatchDecision]

_REFUSED: Final = {
    Decision.PRECONDITION_FAILED: PatchOutcome.PRECONDITION_FAILED,
    Decision.PRECONDITION_REQUIRED: PatchOutcome.PRECONDITION_REQUIRED,
    # NOT_MODIFIED only arises for GET and HEAD.
    Decision.NOT_MODIFIED: PatchOutcome.PRECONDITION_FAILED,
}


def patch_flow(
    conditions: Conditions,
    patch: Patch,
    *,
    rebase: bool = False,
    require_precondition: bool = True,
    now: datetime | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    fixed_members: bool = False,
) -> PatchFlow:
    """The conditional PATCH algorithm (see the module's docstring).

    `rebase`: the client asked for a stale patch to be rebased (``Prefer:
    rebase``). `now` is the time the write is stamped with (see
    `write_flow`). `fixed_members`: the document is a row's fields, which
    a patch may change but not add to or take from (`check_same_members`).
    Raises what `Patch.apply` raises for a patch that does not apply (a
    failed ``test``: 409), and `InvalidDocument` (422) for a document a
    row cannot be.
    """
    # The kept versions If-Match lists: the patch was made from one of them.
    bases: tuple[Base, ...] = ()
    # What rebasing costs (`rebase_budget`): the JSON values of the bases and
    # of the patch, counted once; those compared so far, over all attempts.
    base_values: list[int] = []
    patch_values = compared = 0
    budget = rebase_budget(patch)
    for _ in range(attempts):
        snapshot = yield ReadDocument()
        if snapshot is None:
            return PatchDecision(PatchOutcome.NOT_FOUND)
        assert isinstance(snapshot, Snapshot)
        current = snapshot.validators
        decision = evaluate(
            "PATCH", conditions, current, require_precondition=require_precondition, creates=False
        )
        if decision is Decision.PROCEED and not bases:
            if same_second(conditions, current, now):
                return PatchDecision(PatchOutcome.PRECONDITION_FAILED, current=current)
            document = patch.apply(snapshot.document)
        elif decision is Decision.PRECONDITION_REQUIRED or not rebase:
            return PatchDecision(_REFUSED.get(decision, PatchOutcome.CONTENDED), current=current)
        else:
            # Each base is compared with the current document, and the patch
            # applied to it: the values of all three, per base.
            per_base = json_values(snapshot.document)
            if not bases:
                tags = _base_tags(conditions)
                if not tags:
                    return PatchDecision(PatchOutcome.PRECONDITION_FAILED, current=current)
                patch_values = json_values(patch.document)
                per_base += patch_values
                kept: list[Base] = []
                # One lookup a tag: every kept version listed is a base. The
                # budget is checked as each is found, before the next is read.
                for tag in tags:
                    found = yield ReadBase((tag,))
                    if found is not None:
                        assert isinstance(found, Base)
                        kept.append(found)
                        base_values.append(json_values(found.document))
                        compared += base_values[-1] + per_base
                        if budget is not None and compared > budget:
                            return PatchDecision(PatchOutcome.REBASE_DECLINED, current=current)
                if not kept:
                    return PatchDecision(PatchOutcome.BASE_UNKNOWN, current=current)
                bases = tuple(kept)
            else:
                # Another attempt: the same bases, against what was written meanwhile.
                compared += sum(base_values) + len(bases) * (per_base + patch_values)
                if budget is not None and compared > budget:
                    return PatchDecision(PatchOutcome.REBASE_DECLINED, current=current)
            merged, clashed = rebase_from_any(
                patch, [kept_base.document for kept_base in bases], snapshot.document
            )
            if merged.conflicts:
                return PatchDecision(
                    PatchOutcome.CONFLICT,
                    current=current,
                    rebased_from=bases[clashed].etag,
                    conflicts=merged.conflicts,
                )
            document = merged.document
        if fixed_members:
            check_same_members(document, snapshot.document)
        rebased_from = bases[0].etag if bases else None
        if json_equal(document, snapshot.document):
            return PatchDecision(PatchOutcome.UNCHANGED, document, current, rebased_from)
        result = yield WriteDocument(document, Guard.pinned(current), rebased_from)
        assert isinstance(result, WriteResult)
        if result.written:
            return PatchDecision(PatchOutcome.WRITTEN, document, result.current, rebased_from)
        # Another write landed between the read and this one: compute the
        # patch again on what it wrote, from the same base.
    return PatchDecision(PatchOutcome.CONTENDED)


def check_same_members(patched: Json, document: Json) -> None:
    """Raise `InvalidDocument` (422) unless `patched` is an object with `document`'s members.

    A row has the fields it has: a patch that makes its document something
    other than an object, or adds a member (an ``add`` of a new name, the
    ``-`` of an object), or removes one (``remove``, a merge patch's null),
    asks for a row that cannot be stored, and nothing is written.
    """
    if not isinstance(patched, dict):
        raise InvalidDocument(
            f"the patched document is {_kind(patched)}, not an object: patch its members instead"
        )
    if not isinstance(document, dict) or patched.keys() == document.keys():
        return
    added = sorted(patched.keys() - document.keys())
    removed = sorted(document.keys() - patched.keys())
    says = [f"adds {_names(added)}"] if added else []
    says += [f"removes {_names(removed)}"] if removed else []
    raise InvalidDocument(
        f"the patch {' and '.join(says)}; the document has the members "
        f"{_names(sorted(document))} and no others, each of which a patch may replace",
        added=added[:_SHOWN_NAMES],
        removed=removed[:_SHOWN_NAMES],
    )


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:_SHOWN_NAMES])
    more = len(names) - _SHOWN_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def _kind(value: Json) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


_SHOWN_NAMES: Final = 10
#: The If-Match tags a rebase looks for in the history, in the field's order:
#: each is a lookup (a statement), and a field of 64 KiB lists 2700 tags.
MAX_BASE_TAGS: Final = 8


def _base_tags(conditions: Conditions) -> tuple[str, ...]:
    """The strong If-Match tags a rebase may start from (none: nothing to merge from).

    A weak tag never matches If-Match; If-None-Match or If-Unmodified-Since
    name no version at all. Each kept version listed is a base the patch
    may have been made from (`rebase_from_any`); a tag listed twice is looked
    for once, and only the first `MAX_BASE_TAGS` are looked for, so that a
    list of thousands of made-up tags does not cost thousands of history
    lookups.
    """
    if conditions.if_match is None or conditions.if_none_match is not None:
        return ()
    strong = dict.fromkeys(tag.opaque for tag in conditions.if_match.tags if not tag.weak)
    return tuple(itertools.islice(strong, MAX_BASE_TAGS))


def run_patch(
    flow: PatchFlow,
    read: Callable[[], Snapshot | None],
    read_base: Callable[[tuple[str, ...]], Base | None],
    write: Callable[[WriteDocument], WriteResult],
) -> PatchDecision:
    """Drive a patch flow with blocking store primitives."""
    try:
        command = next(flow)
        while True:
            reply: PatchReply
            if isinstance(command, ReadDocument):
                reply = read()
            elif isinstance(command, ReadBase):
                reply = read_base(command.etags)
            else:
                reply = write(command)
            command = flow.send(reply)
    except StopIteration as stop:
        decision: PatchDecision = stop.value
        return decision


async def arun_patch(
    flow: PatchFlow,
    read: Callable[[], Awaitable[Snapshot | None]],
    read_base: Callable[[tuple[str, ...]], Awaitable[Base | None]],
    write: Callable[[WriteDocument], Awaitable[WriteResult]],
) -> PatchDecision:
    """Drive a patch flow with async store primitives."""
    try:
        command = next(flow)
        while True:
            reply: PatchReply
            if isinstance(command, ReadDocument):
                reply = await read()
            elif isinstance(command, ReadBase):
                reply = await read_base(command.etags)
            else:
                reply = await write(command)
            command = flow.send(reply)
    except StopIteration as stop:
        decision: PatchDecision = stop.value
        return decision
