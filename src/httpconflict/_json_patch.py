"""JSON Patch (RFC 6902): apply a patch, all or nothing, with typed errors.

Theory of operation: a patch is first read as a whole (`read_operations`), with
no document in sight, so a malformed patch is refused as such even when an
earlier operation would have failed on the document. Then the operations
run one after the other on a `PatchedDocument`, which copies the
containers an operation changes, as it changes them, and never changes the
caller's. RFC 6902 §5: "If a normative requirement is violated by a JSON
Patch document, or if an operation is not successful, evaluation of the
JSON Patch document SHOULD terminate and application of the entire patch
document SHALL NOT be deemed successful." The copies are dropped on the
first error, so the caller's document is never changed and nothing is ever
half-applied.

With limits, an operation is refused before it runs when it would make
the document larger than `max_bytes` (`PatchTooLarge`, 413: see
`httpconflict._patch_budget`) or nest a value deeper than `max_depth`
(`JsonLimitExceeded`, 422).

The errors say whose fault a failure is, because a server answers each
differently:

    JsonPatchError (ValueError)      .index (the operation's position), .pointer
     +-- MalformedPatch              the patch is not a valid JSON Patch
     +-- PatchTestFailed             a `test` found another value, or none
     +-- PatchNotApplicable          an operation names a location the document lacks

Two operations no document could satisfy are malformed as well: moving a
location into one of its own children (RFC 6902 §4.4 forbids it), and
removing the whole document (which would leave none).

A pointer whose tokens fit no array (``/01``, ``/1e0``, ``/-`` outside
`add`) is well-formed: it names an object member just as well. Against an
array it names nothing, so the operation is not applicable (for `test`,
the test fails).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from . import _problem
from ._errors import JsonLimitExceeded, ProblemError
from ._json_domain import DEPTH
from ._json_pointer import InvalidPointer, JsonPointer, PointerNotFound, array_index
from ._json_size import member_size, separator_size
from ._json_value import MISSING, Json, copy_json, json_equal, json_type
from ._patch_budget import PatchBudget
from ._patched_document import PatchedDocument


class JsonPatchError(ProblemError, ValueError):
    """A JSON Patch could not be applied; nothing was changed.

    `index` is the failing operation's position in the patch (None when the
    patch as a whole is wrong) and `pointer` the location it could not use,
    as written in the patch (its ``path``, or its ``from``), if any. As a
    problem, they are ``operation`` and ``pointer``.
    """

    def __init__(self, detail: str, *, index: int | None, pointer: str | None = None) -> None:
        extensions: dict[str, Any] = {}
        if index is not None:
            extensions["operation"] = index
        if pointer is not None:
            extensions["pointer"] = pointer
        super().__init__(detail, **extensions)
        self.detail = detail
        self.index = index
        self.pointer = pointer


class MalformedPatch(JsonPatchError):
    """The patch is not a JSON Patch: an unknown op, a missing member, a bad pointer."""

    problem_type = _problem.MALFORMED_PATCH


class PatchTestFailed(JsonPatchError):
    """A `test` operation found a different value at its path, or no value."""

    problem_type = _problem.PATCH_TEST_FAILED


class PatchNotApplicable(JsonPatchError):
    """An operation names a location the document does not have."""

    problem_type = _problem.PATCH_NOT_APPLICABLE


class Op(enum.Enum):
    """The six operations of RFC 6902 §4."""

    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"
    MOVE = "move"
    COPY = "copy"
    TEST = "test"


_OPS: Final = {op.value: op for op in Op}
# RFC 6902 §4: which operations need a "value" and which a "from" member.
_NEEDS_VALUE: Final = frozenset({Op.ADD, Op.REPLACE, Op.TEST})
_NEEDS_FROM: Final = frozenset({Op.MOVE, Op.COPY})


@dataclass(frozen=True, slots=True)
class _Operation:
    """One operation, checked: its ``value`` is the patch's own (never placed as it is)."""

    index: int
    op: Op
    path: JsonPointer
    value: Json = MISSING
    source: JsonPointer | None = None  # the "from" member

    def describe(self) -> str:
        source = f" from {str(self.source)!r}" if self.source is not None else ""
        return f"operation {self.index} ({self.op.value} {str(self.path)!r}{source})"

    @property
    def label(self) -> str:
        return self.describe()

    @property
    def pointer(self) -> str:
        return str(self.path)


#: A patch as read by `read_operations`.
Operations: TypeAlias = tuple[_Operation, ...]


def apply_json_patch(
    document: Json,
    patch: Json,
    *,
    max_bytes: int | None = None,
    max_depth: int | None = None,
) -> Json:
    """The result of applying a JSON Patch to `document`, which is left unchanged.

    Raises `MalformedPatch`, `PatchTestFailed` or `PatchNotApplicable`
    (all `JsonPatchError`) and then applies nothing.

    With `max_bytes`, what the patch builds, and the work it takes, are
    held to that many bytes as it runs (`httpconflict._patch_budget`):
    an operation that would leave the document larger than that as compact
    UTF-8 JSON text raises `PatchTooLarge` (413) before it runs. With
    `max_depth`, an operation that would put a value more than that many
    arrays and objects deep raises `JsonLimitExceeded` (422) before it
    runs. A ``copy`` duplicates nothing until one of its two places is
    changed (`httpconflict._patched_document`).
    """
    return apply_operations(
        document, read_operations(patch), max_bytes=max_bytes, max_depth=max_depth
    )


def apply_operations(
    document: Json,
    operations: Operations,
    *,
    max_bytes: int | None = None,
    max_depth: int | None = None,
) -> Json:
    """`apply_json_patch` for a patch read already (`read_operations`), as often as need be."""
    budget = PatchBudget.of(document, max_bytes) if max_bytes is not None else None
    target = PatchedDocument(document, budget)
    for operation in operations:
        if budget is not None:
            budget.begin()
        _apply(target, operation, max_depth)
    return target.result()


def pointers_touched_by_json_patch(patch: Json) -> frozenset[JsonPointer]:
    """The locations a patch may change: every ``path``, and the ``from`` of a `move`.

    `test` changes nothing and `copy` only reads its ``from``; see
    `pointers_read_by_json_patch`. An insertion into or removal from an
    array also shifts the elements after it: compare with `changed_pointers`,
    which names a changed array by one pointer, so overlaps still show.
    """
    return touched_by(read_operations(patch))


def touched_by(operations: Operations) -> frozenset[JsonPointer]:
    """`pointers_touched_by_json_patch` of a patch read already."""
    touched: set[JsonPointer] = set()
    for operation in operations:
        if operation.op is not Op.TEST:
            touched.add(operation.path)
        if operation.op is Op.MOVE and operation.source is not None:
            touched.add(operation.source)
    return frozenset(touched)


def pointers_read_by_json_patch(patch: Json) -> frozenset[JsonPointer]:
    """The locations whose values a patch depends on: `test` paths and `copy` sources."""
    return read_by(read_operations(patch))


def read_by(operations: Operations) -> frozenset[JsonPointer]:
    """`pointers_read_by_json_patch` of a patch read already."""
    read: set[JsonPointer] = set()
    for operation in operations:
        if operation.op is Op.TEST:
            read.add(operation.path)
        elif operation.op is Op.COPY and operation.source is not None:
            read.add(operation.source)
    return frozenset(read)


def read_operations(patch: Json) -> Operations:
    """A patch's operations, each checked (`MalformedPatch`), applicable to any document.

    The operations hold the patch's own values: each is copied when it is
    placed in a document, so one reading serves any number of applications.
    """
    # RFC 6902 §3: "A JSON Patch document is a JSON document that represents
    # an array of objects."
    if not isinstance(patch, list):
        raise MalformedPatch(
            f"a JSON Patch is an array of operations, not a JSON {_type_name(patch)}", index=None
        )
    return tuple(_read_operation(index, operation) for index, operation in enumerate(patch))


def _read_operation(index: int, operation: Json) -> _Operation:
    if not isinstance(operation, dict):
        raise MalformedPatch(
            f"operation {index} is a JSON {_type_name(operation)}, not an object", index=index
        )
    # RFC 6902 §4: "Members that are not explicitly defined for the
    # operation in question MUST be ignored".
    name = operation.get("op", MISSING)
    op = _OPS.get(name) if isinstance(name, str) else None
    if op is None:
        known = ", ".join(o.value for o in Op)
        what = "has no 'op' member" if name is MISSING else f"has the unknown op {name!r}"
        raise MalformedPatch(f"operation {index} {what}; ops are {known}", index=index)
    path = _read_pointer(index, op, operation, "path")
    value = operation.get("value", MISSING)
    if op in _NEEDS_VALUE and value is MISSING:
        raise MalformedPatch(
            f"operation {index} ({op.value}) has no 'value' member", index=index, pointer=str(path)
        )
    source = _read_pointer(index, op, operation, "from") if op in _NEEDS_FROM else None
    if op is Op.REMOVE and path.is_root:
        raise MalformedPatch(
            f"operation {index} removes the whole document; a patch cannot leave no document",
            index=index,
            pointer="",
        )
    # RFC 6902 §4.4: "The "from" location MUST NOT be a proper prefix of the
    # "path" location; i.e., a location cannot be moved into one of its
    # children."
    if op is Op.MOVE and source is not None and source.is_ancestor_of(path):
        raise MalformedPatch(
            f"operation {index} moves {str(source)!r} into its own child {str(path)!r}",
            index=index,
            pointer=str(path),
        )
    return _Operation(index, op, path, value, source)


def _read_pointer(index: int, op: Op, operation: Mapping[str, Any], member: str) -> JsonPointer:
    text = operation.get(member, MISSING)
    if not isinstance(text, str):
        what = "has no" if text is MISSING else f"has a JSON {_type_name(text)} as its"
        raise MalformedPatch(
            f"operation {index} ({op.value}) {what} '{member}' member; it must be a JSON pointer",
            index=index,
        )
    try:
        return JsonPointer.parse(text)
    except InvalidPointer as error:
        raise MalformedPatch(
            f"operation {index} ({op.value}) '{member}': {error}", index=index, pointer=text
        ) from None


def _apply(target: PatchedDocument, operation: _Operation, max_depth: int | None) -> None:
    """Apply one operation to the document being patched."""
    op, path = operation.op, operation.path
    if op is Op.ADD:
        _place(target, path, copy_json(operation.value), operation, max_depth, insert=True)
    elif op is Op.REPLACE:
        # RFC 6902 §4.3: "The target location MUST exist for the operation to
        # be successful."
        _resolve(target.root, path, operation, PatchNotApplicable)
        _place(target, path, copy_json(operation.value), operation, max_depth, insert=False)
    elif op is Op.REMOVE:
        _take(target, path, operation)
    elif op is Op.TEST:
        found = _resolve(target.root, path, operation, PatchTestFailed)
        if not json_equal(found, operation.value):
            raise PatchTestFailed(
                f"{operation.describe()} failed: the value there is "
                f"{_differs(found, operation.value)}",
                index=operation.index,
                pointer=str(path),
            )
    else:
        assert operation.source is not None
        source = operation.source
        if op is Op.COPY:
            value = target.share(_resolve(target.root, source, operation, PatchNotApplicable))
            _place(target, path, value, operation, max_depth, insert=True)
        # Op.MOVE: RFC 6902 §4.4, "functionally identical to a "remove"
        # operation on the "from" location, followed immediately by an "add"
        # operation at the target location with the value that was just removed."
        elif source == path:
            _resolve(target.root, source, operation, PatchNotApplicable)
        else:
            value, size = _take(target, source, operation)
            _place(target, path, value, operation, max_depth, insert=True, size=size)


def _place(
    target: PatchedDocument,
    path: JsonPointer,
    value: Json,
    operation: _Operation,
    max_depth: int | None,
    *,
    insert: bool,
    size: int | None = None,
) -> None:
    """Put `value` at `path` (into an array: inserted, or in place of the element there).

    `size`: the value's size, when the caller measured it already.
    """
    budget = target.budget
    if max_depth is not None:
        depth = len(path.tokens) + target.depth(value)
        if depth > max_depth:
            raise JsonLimitExceeded(
                f"{operation.describe()} would nest the document {depth} arrays and objects "
                f"deep, more than {max_depth}",
                limit=DEPTH,
                maximum=max_depth,
                pointer=str(path),
            )
    if budget is not None and size is None:
        # Measured after the depth check: a value nested too deep for the
        # encoder's recursion is never measured.
        size = target.size(value, operation)
    if path.is_root:
        if budget is not None and size is not None:
            budget.grow(size - budget.size, operation)
        target.root = value
        return
    # RFC 6902 §4.1: "If the target location specifies an object member
    # that does exist, that member's value is replaced", and for an array
    # "the specified index MUST NOT be greater than the number of elements".
    container = _resolve(target.root, path.parent, operation, PatchNotApplicable, of=path)
    token = path.tokens[-1]
    delta = 0
    if isinstance(container, dict):
        if budget is not None and size is not None:
            old = container.get(token, MISSING)
            delta = size
            if old is MISSING:
                delta += member_size(token) + separator_size(len(container))
            else:
                delta -= target.size(old, operation)
            budget.grow(delta, operation)
        chain = target.writable(path.parent)
        chain[-1][token] = value
    elif isinstance(container, list):
        index = array_index(token, len(container))
        if index is None:
            raise _not_applicable(
                operation,
                path,
                f"names no position in an array of {len(container)} elements "
                f"(0 to {len(container)}, or '-' for the end)",
            )
        if budget is not None and size is not None:
            delta = size
            if insert:
                budget.shift(len(container) - index, operation)
                delta += separator_size(len(container))
            else:
                delta -= target.size(container[index], operation)
            budget.grow(delta, operation)
        chain = target.writable(path.parent)
        if insert:
            chain[-1].insert(index, value)
        else:
            chain[-1][index] = value
    else:
        raise _not_applicable(
            operation, path, f"is inside a {json_type(container)}, which has no members"
        )
    target.changed(chain, delta, value)


def _take(
    target: PatchedDocument, path: JsonPointer, operation: _Operation
) -> tuple[Json, int | None]:
    """Remove the value at `path` (not the root); return it and its size (if measured)."""
    budget = target.budget
    container = _resolve(target.root, path.parent, operation, PatchNotApplicable, of=path)
    token = path.tokens[-1]
    key: str | int | None = None
    if isinstance(container, dict) and token in container:
        key = token
    elif isinstance(container, list):
        index = array_index(token, len(container))
        if index is not None and index < len(container):
            key = index
            if budget is not None:
                budget.shift(len(container) - index - 1, operation)
    if key is None:
        _resolve(target.root, path, operation, PatchNotApplicable)
        raise AssertionError("unreachable: the location was found but is not removable")
    value = container[key]
    delta, size = 0, None
    if budget is not None:
        size = target.size(value, operation)
        delta = -size - separator_size(len(container) - 1)
        if isinstance(key, str):
            delta -= member_size(key)
        budget.grow(delta, operation)
    chain = target.writable(path.parent)
    del chain[-1][key]
    target.changed(chain, delta)
    return value, size


def _resolve(
    document: Json,
    pointer: JsonPointer,
    operation: _Operation,
    error: type[JsonPatchError],
    *,
    of: JsonPointer | None = None,
) -> Json:
    """The value at `pointer`, or `error` naming `of` (the pointer as the op wrote it)."""
    try:
        return pointer.resolve(document)
    except PointerNotFound as missing:
        reported = pointer if of is None else of
        raise error(
            f"{operation.describe()} failed: {missing}",
            index=operation.index,
            pointer=str(reported),
        ) from None


def _not_applicable(operation: _Operation, path: JsonPointer, why: str) -> PatchNotApplicable:
    return PatchNotApplicable(
        f"{operation.describe()} failed: {str(path)!r} {why}",
        index=operation.index,
        pointer=str(path),
    )


def _differs(found: Json, expected: Json) -> str:
    found_type, expected_type = json_type(found), json_type(expected)
    if found_type != expected_type:
        return f"{_a(found_type)}, not {_a(expected_type)}"
    return f"a different {found_type}"


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _type_name(value: Json) -> str:
    try:
        return json_type(value)
    except TypeError:
        return type(value).__name__
