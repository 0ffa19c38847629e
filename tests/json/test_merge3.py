"""Three-way merge: each rule, the shape of a conflict, and the laws."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import (
    MISSING,
    Conflict,
    JsonPointer,
    MergeResult,
    changed_pointers,
    json_equal,
    merge3,
)
from tests.json.strategies import NAMES, OBJECTS, VALUES, versions

AT_A = JsonPointer(("a",))

CLEAN = [
    pytest.param({"a": 1}, {"a": 2}, {"a": 1}, {"a": 2}, id="rule3-only-current-changed"),
    pytest.param({"a": 1}, {"a": 1}, {"a": 2}, {"a": 2}, id="rule2-only-requested-changed"),
    pytest.param({"a": 1}, {"a": 2}, {"a": 2}, {"a": 2}, id="rule1-same-change-on-both"),
    pytest.param({"a": 1}, {"a": 2.0}, {"a": 2}, {"a": 2.0}, id="rule1-same-change-as-json"),
    pytest.param(
        {"a": 1, "b": 1},
        {"a": 2, "b": 1},
        {"a": 1, "b": 2},
        {"a": 2, "b": 2},
        id="rule4-disjoint-members",
    ),
    pytest.param(
        {"a": 1, "b": 1},
        {"b": 1},
        {"a": 1, "b": 2},
        {"b": 2},
        id="rule2-deleted-and-unchanged-is-deleted",
    ),
    pytest.param(
        {"a": 1, "b": 1},
        {"a": 1, "b": 2},
        {"b": 1},
        {"b": 2},
        id="rule3-unchanged-and-deleted-is-deleted",
    ),
    pytest.param({"a": 1}, {}, {}, {}, id="rule1-deleted-on-both"),
    pytest.param({}, {"a": 1}, {"b": 2}, {"a": 1, "b": 2}, id="rule4-different-members-added"),
    pytest.param({}, {"a": [1]}, {"a": [1]}, {"a": [1]}, id="rule1-same-member-added"),
    pytest.param(
        {"o": {"x": 1, "y": 1}},
        {"o": {"x": 2, "y": 1}},
        {"o": {"x": 1, "y": 2}},
        {"o": {"x": 2, "y": 2}},
        id="rule4-nested-objects",
    ),
    pytest.param(
        {"a": [1, 2]},
        {"a": [1, 2, 3]},
        {"a": [1, 2]},
        {"a": [1, 2, 3]},
        id="rule3-array-changed-on-one-side",
    ),
    pytest.param(
        {"a": {"b": 1}}, {"a": 5}, {"a": {"b": 1}}, {"a": 5}, id="rule3-type-change-on-one-side"
    ),
    pytest.param(
        {"a": None}, {"a": None, "b": 1}, {"a": None}, {"a": None, "b": 1}, id="null-is-a-value"
    ),
]


@pytest.mark.parametrize(("base", "current", "requested", "merged"), CLEAN)
def test_clean_merges(base: Any, current: Any, requested: Any, merged: Any) -> None:
    """Edits that do not clash are all kept, and no conflict is reported."""
    result = merge3(base, current, requested)
    assert result == MergeResult(merged, ())
    assert json_equal(result.document, merged)


CONFLICTS = [
    pytest.param(
        {"a": 1}, {"a": 2}, {"a": 3}, Conflict(AT_A, 1, 2, 3), id="rule5-changed-differently"
    ),
    pytest.param(
        {"a": 1}, {}, {"a": 3}, Conflict(AT_A, 1, MISSING, 3), id="rule5-deleted-and-changed"
    ),
    pytest.param(
        {"a": 1}, {"a": 2}, {}, Conflict(AT_A, 1, 2, MISSING), id="rule5-changed-and-deleted"
    ),
    pytest.param(
        {}, {"a": 1}, {"a": 2}, Conflict(AT_A, MISSING, 1, 2), id="rule5-added-differently"
    ),
    pytest.param(
        {},
        {"a": {"x": 1}},
        {"a": {"y": 1}},
        Conflict(AT_A, MISSING, {"x": 1}, {"y": 1}),
        id="rule5-objects-added-without-base",
    ),
    pytest.param(
        {"a": [1, 2]},
        {"a": [1, 2, 3]},
        {"a": [0, 1, 2]},
        Conflict(AT_A, [1, 2], [1, 2, 3], [0, 1, 2]),
        id="rule5-arrays-are-atomic",
    ),
    pytest.param(
        {"a": {"b": 1}},
        {"a": 5},
        {"a": {"b": 2}},
        Conflict(AT_A, {"b": 1}, 5, {"b": 2}),
        id="rule5-type-change-and-change-no-descent",
    ),
    pytest.param(
        {"a": {"b": 1}},
        {"a": {"b": 2}},
        {"a": [1]},
        Conflict(AT_A, {"b": 1}, {"b": 2}, [1]),
        id="rule5-change-and-type-change",
    ),
    pytest.param(
        {"a": 1}, {"a": True}, {"a": 1.5}, Conflict(AT_A, 1, True, 1.5), id="rule5-true-is-not-1"
    ),
    pytest.param(1, 2, 3, Conflict(JsonPointer(), 1, 2, 3), id="rule5-whole-documents"),
]


@pytest.mark.parametrize(("base", "current", "requested", "conflict"), CONFLICTS)
def test_conflicts(base: Any, current: Any, requested: Any, conflict: Conflict) -> None:
    """Both sides changed one place differently: one conflict there; the document keeps current."""
    result = merge3(base, current, requested)
    assert result.conflicts == (conflict,)
    assert json_equal(result.document, current)


def test_conflicts_are_sorted_and_the_rest_merges() -> None:
    """Several conflicts come sorted by pointer, and the clean parts are still merged."""
    base = {"z": 1, "a": {"y": 1, "x": 1}, "m": 1, "keep": 1}
    current = {"z": 2, "a": {"y": 2, "x": 2}, "m": 2, "keep": 1}
    requested = {"z": 3, "a": {"y": 3, "x": 3}, "m": 1, "keep": 9}
    result = merge3(base, current, requested)
    assert [str(c.pointer) for c in result.conflicts] == ["/a/x", "/a/y", "/z"]
    assert result.document == {"z": 2, "a": {"y": 2, "x": 2}, "m": 2, "keep": 9}


def test_conflict_to_json_leaves_out_absent_sides() -> None:
    """to_json gives the pointer as text and every side that is there, null included."""
    deleted = Conflict(JsonPointer(("a/b",)), None, MISSING, {"c": [1]})
    assert deleted.to_json() == {"pointer": "/a~1b", "base": None, "requested": {"c": [1]}}
    added = Conflict(JsonPointer(), MISSING, 1, 2)
    assert added.to_json() == {"pointer": "", "current": 1, "requested": 2}


def test_the_result_shares_nothing() -> None:
    """Changing the merged document or a conflict's JSON changes no argument."""
    base, current, requested = {"a": [1], "c": 0}, {"a": [1], "b": [2], "c": 1}, {"a": [1], "c": 2}
    before = copy.deepcopy((base, current, requested))
    result = merge3(base, current, requested)
    result.document["a"].append(9)
    result.document["b"].append(9)
    result.conflicts[0].to_json()["pointer"] = "/x"
    assert (base, current, requested) == before


@given(VALUES, VALUES)
def test_unchanged_current_takes_requested(base: Any, requested: Any) -> None:
    """merge3(base, base, requested) is requested, with no conflict."""
    result = merge3(base, copy.deepcopy(base), requested)
    assert json_equal(result.document, requested)
    assert result.conflicts == ()


@given(VALUES, VALUES)
def test_unchanged_requested_takes_current(base: Any, current: Any) -> None:
    """merge3(base, current, base) is current, with no conflict."""
    result = merge3(base, current, copy.deepcopy(base))
    assert json_equal(result.document, current)
    assert result.conflicts == ()


EDITS = st.dictionaries(NAMES, VALUES | st.just(MISSING), max_size=3)


def _edited(base: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    result = {k: v for k, v in base.items() if edits.get(k) is not MISSING}
    result.update((k, v) for k, v in edits.items() if v is not MISSING)
    return result


@given(OBJECTS, EDITS, EDITS)
def test_edits_to_disjoint_members_both_survive(
    base: dict[str, Any], current_edits: dict[str, Any], requested_edits: dict[str, Any]
) -> None:
    """Edits to different members of base are all kept, whichever side made them."""
    requested_edits = {k: v for k, v in requested_edits.items() if k not in current_edits}
    current, requested = _edited(base, current_edits), _edited(base, requested_edits)
    result = merge3(base, current, requested)
    swapped = merge3(base, requested, current)
    assert result.conflicts == swapped.conflicts == ()
    assert json_equal(result.document, swapped.document)
    for name in base.keys() | current_edits.keys() | requested_edits.keys():
        side = current if name in current_edits else requested
        assert json_equal(result.document.get(name, MISSING), side.get(name, MISSING))


@given(versions())
def test_conflicts_lie_where_both_sides_changed(versions: tuple[Any, Any, Any]) -> None:
    """Each conflict overlaps a change of each side; the merge changes only what a side changed."""
    base, current, requested = versions
    result = merge3(base, current, requested)
    ours, theirs = changed_pointers(base, requested), changed_pointers(base, current)
    for conflict in result.conflicts:
        assert any(conflict.pointer.overlaps(p) for p in ours)
        assert any(conflict.pointer.overlaps(p) for p in theirs)
    for changed in changed_pointers(current, result.document):
        assert any(changed.overlaps(p) for p in ours)
    if not any(p.overlaps(q) for p in ours for q in theirs):
        assert result.conflicts == ()
    assert list(result.conflicts) == sorted(result.conflicts, key=lambda c: c.pointer)


@given(versions())
def test_sides_are_symmetric(versions: tuple[Any, Any, Any]) -> None:
    """Swapping current and requested swaps each conflict's sides; a clean merge is the same."""
    base, current, requested = versions
    result, swapped = merge3(base, current, requested), merge3(base, requested, current)
    assert [c.pointer for c in result.conflicts] == [c.pointer for c in swapped.conflicts]
    for ours, theirs in zip(result.conflicts, swapped.conflicts, strict=True):
        assert json_equal(ours.current, theirs.requested)
    if not result.conflicts:
        assert json_equal(result.document, swapped.document)
