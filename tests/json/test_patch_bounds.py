"""A patch's result and work held to a byte limit as the patch runs (`max_bytes`).

The running size is checked against sizes measured independently (the
compact UTF-8 text of each intermediate document), and the amplifying
patches of the issue (copies that double the document, copies undone by
removals, removals at the front of a long array) are refused early: before
their result is allocated, after a bounded amount of work.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import (
    ContentTooLarge,
    JsonPointer,
    Patch,
    PatchTooLarge,
    apply_json_patch,
    apply_merge_patch,
)
from httpconflict._patch_budget import SHIFTS_PER_BYTE
from tests.json.strategies import OBJECTS, VALUES

MiB = 1 << 20


def size(value: Any) -> int:
    """The size a limit speaks of, measured the way the service stores a document."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def doubling(copies: int) -> list[dict[str, str]]:
    """The issue's patch: each copy appends the array to itself, doubling the document."""
    return [{"op": "copy", "from": "/a", "path": "/a/-"} for _ in range(copies)]


# --- the running size is the size of the document ---------------------------------


@st.composite
def patches(draw: st.DrawFn, document: dict[str, Any]) -> list[dict[str, Any]]:
    """Operations on pointers the document has (and some it has not): every op but test."""
    pointers = [""]
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        here, value = stack.pop()
        if isinstance(value, dict | list):
            members = value.items() if isinstance(value, dict) else enumerate(value)
            for token, member in members:
                pointer = str(JsonPointer.parse(here).child(token))
                pointers.append(pointer)
                stack.append((pointer, member))
    paths = st.sampled_from(pointers) | st.sampled_from(pointers).map(lambda p: p + "/-")
    ops = []
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["add", "remove", "replace", "move", "copy"]))
        operation: dict[str, Any] = {"op": op, "path": draw(paths)}
        if op in ("add", "replace"):
            operation["value"] = draw(VALUES)
        if op in ("move", "copy"):
            operation["from"] = draw(paths)
        ops.append(operation)
    return ops


def steps(document: Any, ops: list[dict[str, Any]]) -> tuple[list[Any], list[int]]:
    """Each intermediate document (until an op fails), and the bytes each copy duplicates."""
    documents, copied = [document], []
    for operation in ops:
        try:
            documents.append(apply_json_patch(documents[-1], [operation]))
        except (ValueError, LookupError):
            break
        if operation["op"] == "copy":
            copied.append(size(JsonPointer.parse(operation["from"]).resolve(documents[-2])))
    return documents, copied


@given(st.data())
def test_a_patch_is_refused_exactly_when_a_step_grows_the_document_past_the_limit(
    data: st.DataObject,
) -> None:
    """The limit is met at its byte: a document reaching it is built, one byte more is not."""
    document = data.draw(OBJECTS)
    ops = data.draw(patches(document))
    documents, copied = steps(document, ops)
    if len(documents) <= len(ops):
        return  # an op that does not apply: not a question of size
    sizes = [size(d) for d in documents]
    grown = [after for before, after in itertools.pairwise(sizes) if after > before]
    limit = max([*grown, sum(copied), 1])
    assert apply_json_patch(document, ops, max_bytes=limit) == documents[-1]
    if grown and max(grown) >= sum(copied):
        with pytest.raises(PatchTooLarge):
            apply_json_patch(document, ops, max_bytes=max(grown) - 1)


@given(OBJECTS, OBJECTS)
def test_a_merge_patch_is_held_to_the_limit(target: dict[str, Any], patch: Any) -> None:
    """A merge patch's result at the limit is built; one byte over it (and grown) is refused."""
    result = apply_merge_patch(target, patch)
    assert apply_merge_patch(target, patch, max_bytes=size(result)) == result
    if size(result) > size(target):
        with pytest.raises(PatchTooLarge):
            apply_merge_patch(target, patch, max_bytes=size(result) - 1)


# --- amplification refused early ----------------------------------------------------


def test_copies_that_double_the_document_are_refused_before_it_is_built() -> None:
    """The issue's 1 KB patch of 23 copies (33.5 MB unbounded) stops at the copy past 1 MiB."""
    document = {"a": [1]}
    started = time.process_time()
    with pytest.raises(PatchTooLarge) as refused:
        apply_json_patch(document, doubling(23), max_bytes=MiB)
    spent = time.process_time() - started
    # After n copies the document is 2**(n+2) + 5 bytes: the 18th copy
    # (index 17) is the first that would take it past 1 MiB; it is refused
    # before it is made, so at most half a megabyte was ever built.
    assert size(apply_json_patch(document, doubling(5))) == 2 ** (5 + 2) + 5
    assert 2 ** (17 + 2) + 5 <= MiB < 2 ** (18 + 2) + 5
    assert refused.value.index == 17
    assert refused.value.pointer == "/a/-"
    assert refused.value.max_bytes == MiB
    assert document == {"a": [1]}
    # Unbounded, the patch ran 7.5 s and held 376 MB. Bounded, it does half a megabyte of
    # copying: bench/patch_bounds.py measures it (tens of milliseconds);
    # this bound only has to hold on a loaded machine.
    assert spent < 1.0


def test_copies_undone_by_removals_are_refused_by_the_copy_allowance() -> None:
    """Copying and removing in turn keeps the document small, but copies at most max_bytes."""
    document = {"big": "x" * 1000}
    cycle = [{"op": "copy", "from": "/big", "path": "/c"}, {"op": "remove", "path": "/c"}]
    assert apply_json_patch(document, cycle * 9, max_bytes=10_000) == document
    with pytest.raises(PatchTooLarge) as refused:
        apply_json_patch(document, cycle * 10, max_bytes=10_000)
    assert refused.value.index == 18
    assert "copies" in str(refused.value)


def test_removals_at_the_front_of_an_array_are_refused_by_the_shift_allowance() -> None:
    """Each removal at index 0 moves every later element; the moves are counted and bounded."""
    limit = 1_000
    document = {"a": [0] * 400}
    # Each removal at 0 moves the elements after it: 399, 398, ...
    moved = 0
    removals = 0
    while moved + 399 - removals <= SHIFTS_PER_BYTE * limit:
        moved += 399 - removals
        removals += 1
    ops = [{"op": "remove", "path": "/a/0"}] * (removals + 1)
    with pytest.raises(PatchTooLarge) as refused:
        apply_json_patch(document, ops, max_bytes=limit)
    assert refused.value.index == removals
    assert "moves" in str(refused.value)
    assert apply_json_patch(document, ops[:removals], max_bytes=limit) == {
        "a": [0] * (400 - removals)
    }


def test_appending_and_removing_at_the_end_moves_nothing() -> None:
    """Only the elements after an insertion or removal move: at the end, none do."""
    ops = [{"op": "add", "path": "/a/-", "value": 1}, {"op": "remove", "path": "/a/400"}] * 500
    document = {"a": [0] * 400}
    assert apply_json_patch(document, ops, max_bytes=2_000) == document


def test_a_move_is_sized_without_measuring_what_it_moves() -> None:
    """A move changes the size only by the member names: a big value moved in a full document."""
    document = {"old": "x" * 1000}
    assert apply_json_patch(
        document, [{"op": "move", "from": "/old", "path": "/new"}], max_bytes=size(document)
    ) == {"new": "x" * 1000}
    with pytest.raises(PatchTooLarge):
        apply_json_patch(
            document, [{"op": "move", "from": "/old", "path": "/newer"}], max_bytes=size(document)
        )


def test_a_document_over_the_limit_may_shrink_but_not_grow() -> None:
    """A document stored before the limit was lowered can still be patched smaller."""
    document = {"a": "x" * 100, "b": 1}
    assert apply_json_patch(document, [{"op": "remove", "path": "/b"}], max_bytes=50) == {
        "a": "x" * 100
    }
    with pytest.raises(PatchTooLarge):
        apply_json_patch(document, [{"op": "add", "path": "/c", "value": 1}], max_bytes=50)
    assert apply_merge_patch(document, {"b": None}, max_bytes=50) == {"a": "x" * 100}
    with pytest.raises(PatchTooLarge):
        apply_merge_patch(document, {"c": 1}, max_bytes=50)


def test_without_a_limit_nothing_is_refused() -> None:
    """`max_bytes` is opt-in: the library applies any patch by default."""
    assert size(apply_json_patch({"a": [1]}, doubling(12))) > 16_000
    with pytest.raises(PatchTooLarge):
        apply_json_patch({"a": [1]}, doubling(12), max_bytes=16_000)


def test_non_ascii_text_counts_its_utf8_bytes() -> None:
    """Sizes are bytes of UTF-8, as stored, not characters; escapes count as written."""
    document = {"é": "€\n"}  # {"é":"€\n"}: 1 + (1+2+1) + 1 + (1+3+2+1) + 1 bytes
    assert size(document) == 14
    ops = [{"op": "copy", "from": "/é", "path": "/ü"}]  # adds ,"ü":"€\n"
    assert apply_json_patch(document, ops, max_bytes=14 + 1 + 4 + 1 + 7)
    with pytest.raises(PatchTooLarge):
        apply_json_patch(document, ops, max_bytes=14 + 1 + 4 + 1 + 7 - 1)


# --- the error ------------------------------------------------------------------------


def test_the_refusal_is_a_413_naming_the_limit_and_the_operation() -> None:
    """PatchTooLarge is the PUT body's 413 content-too-large, with the operation and pointer."""
    with pytest.raises(PatchTooLarge) as refused:
        apply_json_patch({"a": "x"}, [{"op": "add", "path": "/b", "value": "y" * 20}], max_bytes=20)
    error = refused.value
    assert isinstance(error, ContentTooLarge)
    assert isinstance(error, ValueError)
    assert error.status == 413
    problem = error.problem.to_dict()
    assert problem["type"].endswith("/content-too-large")
    assert problem["max_bytes"] == 20
    assert problem["operation"] == 0
    assert problem["pointer"] == "/b"


def test_a_patch_carries_its_limit() -> None:
    """`Patch.parse(..., max_bytes=)` holds every application of the patch to the limit."""
    body = json.dumps(doubling(10)).encode()
    patch = Patch.parse("application/json-patch+json", body, max_bytes=1000)
    with pytest.raises(PatchTooLarge):
        patch.apply({"a": [1]})
    assert Patch.parse("application/json-patch+json", body).apply({"a": [1]})
