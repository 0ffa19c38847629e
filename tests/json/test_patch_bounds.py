"""A patch's result and work held to a byte limit as the patch runs (`max_bytes`).

The running size is checked against sizes measured independently (the
compact UTF-8 text of each intermediate document), and the amplifying
patches of the issue (copies that double the document, copies undone by
removals, removals at the front of a long array) are refused early: before
their result is allocated, after a bounded amount of work.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import sys
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import (
    ContentTooLarge,
    JsonLimitExceeded,
    JsonPointer,
    Patch,
    PatchTooLarge,
    apply_json_patch,
    apply_merge_patch,
    changed_pointers,
    json_equal,
    json_patch_diff,
    merge3,
    merge_patch_diff,
    rebase,
)
from httpconflict._json_domain import MAX_DEPTH
from httpconflict._json_value import copy_json
from httpconflict._patch_budget import MEASURED_PER_BYTE, SHIFTS_PER_BYTE
from tests.json.strategies import OBJECTS, VALUES

MiB = 1 << 20


def size(value: Any) -> int:
    """The size a limit speaks of, measured the way the service stores a document."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def nested(document: dict[str, Any], depth: int) -> dict[str, Any]:
    """`document` under `depth` objects of one member, "a"."""
    for _ in range(depth):
        document = {"a": document}
    return document


def depth(value: Any) -> int:
    """How many arrays and objects deep a value nests (``{}`` is 1)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        here, level = stack.pop()
        if isinstance(here, dict | list):
            level += 1
            deepest = max(deepest, level)
            members = here.values() if isinstance(here, dict) else here
            stack.extend((member, level) for member in members)
    return deepest


def doubling(copies: int) -> list[dict[str, str]]:
    """The issue's patch: each copy appends the array to itself, doubling the document."""
    return [{"op": "copy", "from": "/a", "path": "/a/-"} for _ in range(copies)]


# --- the running size is the size of the document ---------------------------------


def pointers_in(document: Any) -> list[str]:
    """Every pointer a document has, and for each array and object one past its members."""
    found = [""]
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        here, value = stack.pop()
        if isinstance(value, dict | list):
            found.append(here + "/-")
            members = value.items() if isinstance(value, dict) else enumerate(value)
            for token, member in members:
                pointer = str(JsonPointer.parse(here).child(token))
                found.append(pointer)
                stack.append((pointer, member))
    return found


@st.composite
def patches(draw: st.DrawFn, document: dict[str, Any]) -> list[dict[str, Any]]:
    """Operations on pointers the document has when each runs (most apply): every op but test."""
    ops: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 8))):
        paths = st.sampled_from(pointers_in(document))
        op = draw(st.sampled_from(["add", "remove", "replace", "move", "copy", "copy"]))
        operation: dict[str, Any] = {"op": op, "path": draw(paths)}
        if op in ("add", "replace"):
            operation["value"] = draw(VALUES)
        if op in ("move", "copy"):
            operation["from"] = draw(paths)
        ops.append(operation)
        try:
            document = apply_json_patch(document, [operation])
        except (ValueError, LookupError):
            break
    return ops


def steps(document: Any, ops: list[dict[str, Any]]) -> tuple[list[Any], int]:
    """Each intermediate document (until an op fails), and at most how much is measured.

    The values an operation places, takes out or overwrites are measured
    (each at most once), so their sizes bound what the patch measures.
    """
    documents, measured = [document], 0
    for operation in ops:
        before = documents[-1]
        try:
            documents.append(apply_json_patch(before, [operation]))
        except (ValueError, LookupError):
            break
        if "value" in operation:
            measured += size(operation["value"])
        for member in ("path", "from"):
            with contextlib.suppress(KeyError, LookupError):
                measured += size(JsonPointer.parse(operation[member]).resolve(before))
    return documents, measured


@given(st.data())
def test_a_patch_is_refused_exactly_when_a_step_grows_the_document_past_the_limit(
    data: st.DataObject,
) -> None:
    """The limit is met at its byte: a document reaching it is built, one byte more is not."""
    document = data.draw(OBJECTS)
    ops = data.draw(patches(document))
    documents, measured = steps(document, ops)
    if len(documents) <= len(ops):
        return  # an op that does not apply: not a question of size
    sizes = [size(d) for d in documents]
    grown = [after for before, after in itertools.pairwise(sizes) if after > before]
    # Limits this low also bound the measuring (MEASURED_PER_BYTE x the limit).
    enough = -(-measured // MEASURED_PER_BYTE)
    assert apply_json_patch(document, ops, max_bytes=max([*grown, enough, 1])) == documents[-1]
    if grown and max(grown) - 1 >= enough:
        with pytest.raises(PatchTooLarge):
            apply_json_patch(document, ops, max_bytes=max(grown) - 1)


@given(st.data())
def test_copy_on_write_builds_what_operations_one_at_a_time_build(data: st.DataObject) -> None:
    """A patch run whole (copies shared until written) equals its operations run one by one.

    Run one at a time, no operation shares anything with the next; the
    input is never changed, and the result shares nothing with it.
    """
    document = data.draw(OBJECTS)
    ops = data.draw(patches(document))
    documents, _ = steps(document, ops)
    if len(documents) <= len(ops):
        return
    pristine = copy.deepcopy(document)
    result = apply_json_patch(document, ops, max_bytes=MiB, max_depth=128)
    assert json.dumps(result, sort_keys=True) == json.dumps(documents[-1], sort_keys=True)
    assert document == pristine
    for container in containers(result):
        if isinstance(container, dict):
            container["changed"] = True
        else:
            container.append("changed")
    assert document == pristine
    assert len({id(c) for c in containers(result)}) == len(containers(result))


def containers(value: Any) -> list[Any]:
    """Every array and object in a value, as often as it appears."""
    found, stack = [], [value]
    while stack:
        here = stack.pop()
        if isinstance(here, dict | list):
            found.append(here)
            stack.extend(here.values() if isinstance(here, dict) else here)
    return found


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


def test_copies_undone_by_removals_duplicate_nothing() -> None:
    """A copy shares its value until one of its places is written: copying and removing is cheap."""
    document = {"big": ["x" * 100] * 10_000}  # a megabyte
    cycle = [{"op": "copy", "from": "/big", "path": "/c"}, {"op": "remove", "path": "/c"}]
    started = time.process_time()
    assert apply_json_patch(document, cycle * 10_000, max_bytes=2 * MiB) == document
    assert time.process_time() - started < 2.0


def test_a_result_shares_nothing_with_the_input_or_itself() -> None:
    """Copies are made whole at the end: changing the result changes no input, no other copy."""
    document = {"a": {"n": [1]}}
    ops = [{"op": "copy", "from": "/a", "path": "/b"}, {"op": "copy", "from": "/a", "path": "/c"}]
    result = apply_json_patch(document, ops, max_bytes=MiB)
    result["b"]["n"].append(2)
    result["a"]["m"] = 1
    assert result == {"a": {"n": [1], "m": 1}, "b": {"n": [1, 2]}, "c": {"n": [1]}}
    assert document == {"a": {"n": [1]}}


def test_writing_inside_a_copy_leaves_the_original() -> None:
    """Copy on write: an operation inside one place of a copied value changes only that place."""
    document = {"a": {"n": [1], "o": {"p": 1}}}
    ops = [
        {"op": "copy", "from": "/a", "path": "/b"},
        {"op": "add", "path": "/b/o/q", "value": 2},
        {"op": "remove", "path": "/a/n/0"},
        {"op": "copy", "from": "/b/o", "path": "/a/o2"},
        {"op": "replace", "path": "/b/o/p", "value": 3},
    ]
    assert apply_json_patch(document, ops, max_bytes=MiB) == {
        "a": {"n": [], "o": {"p": 1}, "o2": {"p": 1, "q": 2}},
        "b": {"n": [1], "o": {"p": 3, "q": 2}},
    }
    assert document == {"a": {"n": [1], "o": {"p": 1}}}


def test_taking_a_nested_value_apart_level_by_level_is_bounded() -> None:
    """Moving each level of a deep value to the top measures it again: at most 4 x the limit."""
    document = nested({"payload": "x" * 2_000}, 50)  # each level holds the payload
    ops = [{"op": "move", "from": "/a", "path": ""}] * 50
    assert apply_json_patch(document, ops[:3], max_bytes=3_000) == nested(
        {"payload": "x" * 2_000}, 47
    )
    with pytest.raises(PatchTooLarge) as refused:
        apply_json_patch(document, ops, max_bytes=3_000)
    assert refused.value.index == 5  # 2 KB measured for each of moves 0 to 5: over 12 KB
    assert "takes apart" in str(refused.value)


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


# --- depth held as the patch runs ---------------------------------------------------


def test_copies_that_nest_the_document_into_itself_are_refused_at_the_depth_limit() -> None:
    """Each copy of /a into /a nests it one level deeper: refused before passing max_depth."""
    ops = [{"op": "copy", "from": "/a", "path": "/a/x"}] * 20
    # {"a":{}} is 2 deep; each copy adds a level: 8 copies make it 10.
    assert depth(apply_json_patch({"a": {}}, ops[:8], max_depth=10)) == 10
    with pytest.raises(JsonLimitExceeded) as refused:
        apply_json_patch({"a": {}}, ops, max_depth=10)
    assert refused.value.limit == "depth"
    assert refused.value.maximum == 10
    assert refused.value.pointer == "/a/x"
    assert "operation 8" in str(refused.value)
    assert refused.value.status == 422


def test_moves_that_chain_a_wide_document_deep_are_refused_at_the_depth_limit() -> None:
    """Moves cannot add values, but they can stack 200 flat objects 200 deep; not past the limit."""
    document: dict[str, Any] = {f"c{i}": {} for i in range(200)}
    ops = [
        {"op": "move", "from": f"/c{i}", "path": "".join(f"/c{j}" for j in range(i + 1))}
        for i in range(1, 200)
    ]
    # 200 objects nested, under the root: 201 deep, with the library's default of no limit.
    assert depth(apply_json_patch(document, ops)) == 201
    with pytest.raises(JsonLimitExceeded) as refused:
        Patch("application/json-patch+json", ops).apply(document)
    assert refused.value.maximum == 128


def test_a_deep_value_is_refused_before_it_is_walked() -> None:
    """A value nested 900 deep (a Python value, not parsed) is refused, not recursed into."""
    deep: Any = 0
    for _ in range(900):
        deep = [deep]
    ops = [{"op": "add", "path": "/deep", "value": deep}, {"op": "test", "path": "/d", "value": 1}]
    with pytest.raises(JsonLimitExceeded):
        apply_json_patch({}, ops, max_depth=128)
    assert depth(apply_json_patch({}, ops[:1])) == 901


def test_values_of_any_depth_are_copied_and_compared_without_recursion() -> None:
    """copy_json and json_equal walk values deeper than the interpreter's recursion limit."""
    deep: Any = "end"
    for _ in range(sys.getrecursionlimit() * 2):
        deep = {"a": [deep]}
    copied = copy_json(deep)
    assert copied is not deep
    assert json_equal(copied, deep)
    assert not json_equal(copied, {"a": [0]})


def test_every_walk_takes_a_value_at_the_depth_limit_from_a_deep_stack() -> None:
    """Diffs, merges and patches of values 128 deep need few frames: a server's stack is deep."""
    base: Any = 0
    for _ in range(MAX_DEPTH):
        base = {"a": base}
    changed = json.loads(json.dumps(base).replace("0", "1"))

    def walk_everything() -> None:
        assert merge3(base, changed, base).document == changed
        assert apply_json_patch(base, json_patch_diff(base, changed)) == changed
        assert apply_merge_patch(base, merge_patch_diff(base, changed)) == changed
        assert len(changed_pointers(base, changed)) == 1
        patch = Patch("application/merge-patch+json", changed)
        assert rebase(patch, base, base).document == changed

    def from_depth(frames: int) -> None:
        if frames:
            from_depth(frames - 1)
        else:
            walk_everything()

    # Leave 128 levels twice over, plus room, below the interpreter's limit.
    from_depth(sys.getrecursionlimit() - 2 * MAX_DEPTH - 100)


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


def test_a_patch_is_held_to_a_mebibyte_unless_told_otherwise() -> None:
    """`Patch` and `Patch.parse` bound what a patch builds (1 MiB) by default; None lifts it.

    20 copies of a 30-byte document into itself make 31 MB: a 1 KB request.
    """
    ops = [{"op": "copy", "from": "", "path": f"/k{i}"} for i in range(20)]
    document = {"title": "a note", "body": ""}
    json_patch = "application/json-patch+json"
    for patch in (Patch(json_patch, ops), Patch.parse(json_patch, json.dumps(ops).encode())):
        with pytest.raises(PatchTooLarge) as refused:
            patch.apply(document)
        assert refused.value.problem.extensions["max_bytes"] == 1 << 20
    unbounded = Patch(json_patch, ops[:12], max_bytes=None).apply(document)
    assert len(json.dumps(unbounded)) > 1 << 17
