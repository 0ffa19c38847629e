"""Rebasing a stale patch: the Prefer preference, and which pointers clash."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import (
    Conditions,
    JsonPointer,
    MergeConflict,
    Patch,
    PatchDecision,
    PatchOutcome,
    ProblemError,
    changed_pointers,
    json_equal,
    json_patch_diff,
    merge3,
    merge_patch_diff,
    prefers_rebase,
    rebase,
)
from httpconflict._merge_patch import MergePatchUnreachable
from httpconflict._pointer_trie import overlaps, pointers, trie_of
from httpconflict._rebase import preferences
from httpconflict._refusals import patch_refusal
from tests.json.strategies import VALUES, merge_patches, versions


@pytest.mark.parametrize(
    ("lines", "names"),
    [
        pytest.param(["rebase"], {"rebase"}, id="rfc7240-2-token"),
        pytest.param(["REBASE"], {"rebase"}, id="rfc7240-2-case-insensitive"),
        pytest.param(["respond-async, wait=5"], {"respond-async", "wait"}, id="rfc7240-2-list"),
        pytest.param(["return=minimal; foo", "rebase"], {"return", "rebase"}, id="two-lines"),
        pytest.param(['x="a, rebase"'], {"x"}, id="comma-inside-a-quoted-string"),
        pytest.param(['x="a \\" , rebase"'], {"x"}, id="escaped-quote-inside-a-string"),
        pytest.param(['x="unclosed, rebase'], {"x"}, id="unclosed-string-to-the-end"),
        pytest.param(["rebase ; p=1 , wait = 3"], {"rebase", "wait"}, id="ows-around-parameters"),
        pytest.param(["(rebase)", "", ",,"], set(), id="not-a-token-ignored"),
    ],
)
def test_preference_names(lines: list[str], names: set[str]) -> None:
    """The preference names of Prefer field lines, split outside quoted strings."""
    assert preferences(lines) == names
    assert prefers_rebase(lines) is ("rebase" in names)


paths = st.lists(st.sampled_from("abc"), max_size=3).map(JsonPointer.from_tokens)


def pairwise(
    touched: frozenset[JsonPointer], changed: frozenset[JsonPointer]
) -> frozenset[JsonPointer]:
    """The definition, in quadratic time: for each overlapping pair, the shorter pointer."""
    return frozenset(
        min(t, c, key=lambda p: len(p.tokens)) for t in touched for c in changed if t.overlaps(c)
    )


@given(st.frozensets(paths, max_size=6), st.frozensets(paths, max_size=6))
def test_overlaps_are_those_of_every_pair(
    touched: frozenset[JsonPointer], changed: frozenset[JsonPointer]
) -> None:
    """The clashes found by walking two tries are, for each overlapping pair, the shorter one."""
    assert pointers(trie_of(touched)) == touched
    assert overlaps(trie_of(touched), trie_of(changed)) == pairwise(touched, changed)


@given(st.data())
def test_a_rebase_clashes_exactly_where_the_quadratic_definition_does(data: st.DataObject) -> None:
    """The conflicts of a rebase are the pairwise overlaps of touched and changed pointers."""
    base, current, _ = data.draw(versions())
    patch = Patch("application/merge-patch+json", data.draw(merge_patches(base)))
    clashes = pairwise(patch.touched(base), changed_pointers(base, current))
    merged = rebase(patch, base, current)
    assert {c.pointer for c in merged.conflicts} == clashes
    if not clashes:
        assert merged.document == patch.apply(current)


def members(n: int, value: int) -> dict[str, int]:
    """An object of `n` members, all `value`."""
    return {f"k{i}": value for i in range(n)}


def nested(document: dict[str, Any], depth: int) -> dict[str, Any]:
    """`document` under `depth` objects of one member."""
    for _ in range(depth):
        document = {"a": document}
    return document


@pytest.mark.parametrize("depth", [0, 100], ids=["top-level", "under-100-objects"])
@pytest.mark.parametrize("overlap", [False, True], ids=["apart", "overlapping"])
def test_a_stale_merge_patch_of_10000_by_10000_pointers_is_decided_quickly(
    depth: int, overlap: bool
) -> None:
    """10,000 changed pointers against 10,000 touched ones: decided in linear time.

    Touched times changed pointers would be 10**8 comparisons (the issue's
    99 KB patch blocked a worker for 23 s). The bound is generous, for a
    loaded machine; bench/patch_bounds.py measures the time (well under
    0.5 s).
    """
    n = 10_000
    base = nested({"x": members(n, 0), "y": members(n, 0)}, depth)
    current = nested({"x": members(n, 1), "y": members(n, 0)}, depth)
    patch = Patch("application/merge-patch+json", nested({"xy"[not overlap]: members(n, 2)}, depth))
    started = time.process_time()
    merged = rebase(patch, base, current)
    spent = time.process_time() - started
    assert len(merged.conflicts) == (n if overlap else 0)
    if not overlap:
        assert merged.document == nested({"x": members(n, 1), "y": members(n, 2)}, depth)
    assert spent < 5.0


def test_a_clash_is_a_clash_even_when_the_values_agree() -> None:
    """Two clients that read 3 and both set 4 made two increments: the second clashes."""
    patch = Patch("application/merge-patch+json", {"n": 4})
    merged = rebase(patch, {"n": 3, "a": 1}, {"n": 4, "a": 1})
    assert [(str(c.pointer), c.base, c.current, c.requested) for c in merged.conflicts] == [
        ("/n", 3, 4, 4)
    ]


def test_a_patch_beside_the_changes_is_applied_to_the_current_document() -> None:
    """Another member changed since the base: the patch lands on the current document."""
    patch = Patch("application/json-patch+json", [{"op": "replace", "path": "/b", "value": 2}])
    merged = rebase(patch, {"a": 1, "b": 1}, {"a": 9, "b": 1})
    assert (merged.document, merged.conflicts) == ({"a": 9, "b": 2}, ())


def test_a_conflict_answer_names_a_few_pointers_and_lists_them_all() -> None:
    """The 409's detail names the first ten clashes; its `conflicts` member lists every one."""
    n = 30
    patch = Patch("application/merge-patch+json", {"x": members(n, 2)})
    merged = rebase(patch, {"x": members(n, 0)}, {"x": members(n, 1)})
    decision = PatchDecision(PatchOutcome.CONFLICT, current=None, conflicts=merged.conflicts)
    error = patch_refusal(decision, Conditions())
    assert isinstance(error, MergeConflict)
    assert len(error.conflicts) == n
    assert error.problem.detail is not None
    assert "and 20 more (see conflicts)" in error.problem.detail
    assert error.problem.detail.count("/x/") == 10


_POINTERS = st.lists(st.sampled_from(["a", "b", "0", "1", "-", "~", ""]), max_size=3).map(
    lambda tokens: str(JsonPointer(tuple(tokens)))
)
_OPERATIONS = st.lists(
    st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test"]),
            "path": _POINTERS,
            "from": _POINTERS,
            "value": VALUES,
        }
    ),
    min_size=1,
    max_size=3,
)


@given(versions(), st.sampled_from(["merge", "diff", "operations"]), _OPERATIONS)
def test_a_clean_rebase_is_the_three_way_merge(
    versions: tuple[Any, Any, Any], made: str, operations: list[Any]
) -> None:
    """A rebase with no conflict keeps both edits: it is `merge3` of base, current and requested.

    So a patch merged from a stale version never undoes a change made since,
    whichever way it was made: a merge patch, a JSON Patch diffed from the
    edit, or arbitrary operations (pointer-hostile names, ``-``, moves).
    """
    base, current, edited = versions
    try:
        if made == "merge":
            patch = Patch("application/merge-patch+json", merge_patch_diff(base, edited))
        elif made == "diff":
            patch = Patch("application/json-patch+json", json_patch_diff(base, edited))
        else:
            patch = Patch("application/json-patch+json", operations)
        requested = patch.apply(base)
    except (MergePatchUnreachable, ProblemError):
        return
    result, merged = rebase(patch, base, current), merge3(base, current, requested)
    if not result.conflicts:
        assert merged.conflicts == ()
        assert json_equal(result.document, merged.document)
