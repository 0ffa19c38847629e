"""Where two JSON values differ, and a JSON Patch from one to the other."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given

from httpconflict import apply_json_patch, changed_pointers, json_equal, json_patch_diff
from tests.json.strategies import VALUES, versions

CHANGES = [
    pytest.param({"a": 1}, {"a": 1}, set(), id="equal"),
    pytest.param({"a": 1}, {"a": 1.0}, set(), id="1-and-1.0-are-equal"),
    pytest.param({"a": 1}, {"a": True}, {"/a"}, id="1-and-true-are-not"),
    pytest.param({"a": 1}, {}, {"/a"}, id="removed"),
    pytest.param({}, {"a": {"b": 1}}, {"/a"}, id="added-object-is-one-change"),
    pytest.param({"a": {"b": 1, "c": 1}}, {"a": {"b": 2, "c": 1}}, {"/a/b"}, id="deepest-object"),
    pytest.param({"a": [1, {"b": 1}]}, {"a": [1, {"b": 2}]}, {"/a"}, id="arrays-are-atomic"),
    pytest.param({"a": {"b": 1}}, {"a": [1]}, {"/a"}, id="object-became-array"),
    pytest.param({"a/b": 1, "~": 1}, {"a/b": 2, "~": 2}, {"/a~1b", "/~0"}, id="escaped"),
    pytest.param([1], [2], {""}, id="array-documents"),
    pytest.param({"a": 1}, 1, {""}, id="object-became-number"),
]


@pytest.mark.parametrize(("old", "new", "expected"), CHANGES)
def test_changed_pointers(old: Any, new: Any, expected: set[str]) -> None:
    """Changes are named at the deepest object level; arrays and type changes are one pointer."""
    assert {str(p) for p in changed_pointers(old, new)} == expected
    assert {str(p) for p in changed_pointers(new, old)} == expected


@given(VALUES)
def test_nothing_changed(value: Any) -> None:
    """changed_pointers(a, a) is empty."""
    assert changed_pointers(value, copy.deepcopy(value)) == frozenset()


@given(VALUES, VALUES)
def test_changed_pointers_are_empty_exactly_when_equal(old: Any, new: Any) -> None:
    """No changed pointer means JSON-equal; every changed pointer really differs."""
    changed = changed_pointers(old, new)
    assert (not changed) == json_equal(old, new)
    for pointer in changed:
        assert pointer.is_root or (isinstance(old, dict) and isinstance(new, dict))


PATCHES = [
    pytest.param({"a": 1}, {"a": 1}, [], id="equal-needs-nothing"),
    pytest.param(
        {"a": 1, "b": {"c": 1}},
        {"b": {"c": 2}, "d": 3},
        [
            {"op": "remove", "path": "/a"},
            {"op": "replace", "path": "/b/c", "value": 2},
            {"op": "add", "path": "/d", "value": 3},
        ],
        id="objects-recurse",
    ),
    pytest.param([1, 2, 3], [1, 2, 3, 4], [{"op": "add", "path": "/3", "value": 4}], id="append"),
    pytest.param([1, 2, 3], [1, 3], [{"op": "remove", "path": "/1"}], id="remove-one"),
    pytest.param([1, 2, 3], [0, 1, 2, 3], [{"op": "add", "path": "/0", "value": 0}], id="prepend"),
    pytest.param(
        [{"a": 1}, 2], [{"a": 5}, 2], [{"op": "replace", "path": "/0/a", "value": 5}], id="deep"
    ),
    pytest.param({"a": True}, {"a": 1}, [{"op": "replace", "path": "/a", "value": 1}], id="type"),
    pytest.param({"a": 1}, [1], [{"op": "replace", "path": "", "value": [1]}], id="document"),
]


@pytest.mark.parametrize(("old", "new", "expected"), PATCHES)
def test_json_patch_diff(old: Any, new: Any, expected: list[dict[str, Any]]) -> None:
    """The diff is the short patch one would write by hand."""
    assert json_patch_diff(old, new) == expected


@given(VALUES, VALUES)
def test_diff_then_apply_gives_the_new_value(old: Any, new: Any) -> None:
    """apply_json_patch(a, json_patch_diff(a, b)) equals b, and leaves a and b alone."""
    old_before, new_before = copy.deepcopy(old), copy.deepcopy(new)
    assert json_equal(apply_json_patch(old, json_patch_diff(old, new)), new)
    assert old == old_before
    assert new == new_before


@given(versions())
def test_diff_of_related_versions(versions: tuple[Any, Any, Any]) -> None:
    """Between versions sharing structure the diff still arrives, touching only what changed."""
    base, edited, _ = versions
    patch = json_patch_diff(base, edited)
    assert json_equal(apply_json_patch(base, patch), edited)
    changed = changed_pointers(base, edited)
    for operation in patch:
        path = operation["path"]
        assert any(str(c) == path or path.startswith(str(c) + "/") for c in changed)
