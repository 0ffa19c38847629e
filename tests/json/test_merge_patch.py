"""JSON Merge Patch (RFC 7396): the RFC's examples, diffs, and touched pointers."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import (
    MISSING,
    JsonPointer,
    MergePatchUnreachable,
    apply_merge_patch,
    changed_pointers,
    json_equal,
    merge_patch_diff,
    pointers_touched_by_merge_patch,
)
from tests.json.strategies import NAMES, OBJECTS, SCALARS, VALUES

# RFC 7396 Appendix A, every row: original, patch, result.
APPENDIX_A = [
    pytest.param({"a": "b"}, {"a": "c"}, {"a": "c"}, id="rfc7396-A-1-replace-member"),
    pytest.param({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}, id="rfc7396-A-2-add-member"),
    pytest.param({"a": "b"}, {"a": None}, {}, id="rfc7396-A-3-remove-member"),
    pytest.param({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}, id="rfc7396-A-4-remove-one"),
    pytest.param({"a": ["b"]}, {"a": "c"}, {"a": "c"}, id="rfc7396-A-5-array-to-string"),
    pytest.param({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}, id="rfc7396-A-6-string-to-array"),
    pytest.param(
        {"a": {"b": "c"}},
        {"a": {"b": "d", "c": None}},
        {"a": {"b": "d"}},
        id="rfc7396-A-7-nested-merge-and-remove-absent",
    ),
    pytest.param({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}, id="rfc7396-A-8-arrays-replaced"),
    pytest.param(["a", "b"], ["c", "d"], ["c", "d"], id="rfc7396-A-9-array-document"),
    pytest.param({"a": "b"}, ["c"], ["c"], id="rfc7396-A-10-array-patch-replaces-object"),
    pytest.param({"a": "foo"}, None, None, id="rfc7396-A-11-null-patch"),
    pytest.param({"a": "foo"}, "bar", "bar", id="rfc7396-A-12-string-patch"),
    pytest.param({"e": None}, {"a": 1}, {"e": None, "a": 1}, id="rfc7396-A-13-null-member-kept"),
    pytest.param([1, 2], {"a": "b", "c": None}, {"a": "b"}, id="rfc7396-A-14-object-over-array"),
    pytest.param(
        {}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}, id="rfc7396-A-15-nested-new-objects"
    ),
]

# RFC 7396 §3, the worked example.
RFC_TARGET = {
    "title": "Goodbye!",
    "author": {"givenName": "John", "familyName": "Doe"},
    "tags": ["example", "sample"],
    "content": "This will be unchanged",
}
RFC_PATCH = {
    "title": "Hello!",
    "phoneNumber": "+01-123-456-7890",
    "author": {"familyName": None},
    "tags": ["example"],
}
RFC_RESULT = {
    "title": "Hello!",
    "author": {"givenName": "John"},
    "tags": ["example"],
    "content": "This will be unchanged",
    "phoneNumber": "+01-123-456-7890",
}


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [*APPENDIX_A, pytest.param(RFC_TARGET, RFC_PATCH, RFC_RESULT, id="rfc7396-3-example")],
)
def test_rfc_examples(target: Any, patch: Any, expected: Any) -> None:
    """Each example of RFC 7396 gives its result and leaves its inputs as they were."""
    target_before, patch_before = copy.deepcopy(target), copy.deepcopy(patch)
    assert apply_merge_patch(target, patch) == expected
    assert target == target_before
    assert patch == patch_before


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [*APPENDIX_A, pytest.param(RFC_TARGET, RFC_PATCH, RFC_RESULT, id="rfc7396-3-example")],
)
def test_diff_of_rfc_examples(target: Any, patch: Any, expected: Any) -> None:
    """The diff of each example's original and result gets there too."""
    diff = merge_patch_diff(target, expected)
    assert json_equal(apply_merge_patch(target, diff), expected)


def test_result_shares_nothing() -> None:
    """Changing the result changes neither the target nor the patch."""
    target, patch = {"a": {"b": [1]}, "c": [2]}, {"d": {"e": [3]}}
    result = apply_merge_patch(target, patch)
    result["a"]["b"].append(9)
    result["c"].append(9)
    result["d"]["e"].append(9)
    assert target == {"a": {"b": [1]}, "c": [2]}
    assert patch == {"d": {"e": [3]}}


DIFFS = [
    pytest.param({"a": 1}, {"a": 1}, {}, id="equal-objects-need-nothing"),
    pytest.param({"a": 1, "b": 2}, {"a": 1}, {"b": None}, id="removed-member-is-null"),
    pytest.param({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}}, {"a": {"c": 3}}, id="nested"),
    pytest.param({"a": [1, 2]}, {"a": [1, 3]}, {"a": [1, 3]}, id="array-sent-whole"),
    pytest.param({"a": True}, {"a": 1}, {"a": 1}, id="true-to-1-is-a-change"),
    pytest.param({"a": 1}, {"a": 1.0}, {}, id="1-to-1.0-is-not"),
    pytest.param({"a": None}, {"a": None, "b": 1}, {"b": 1}, id="existing-null-member-kept"),
    pytest.param({"a": 5}, {"a": {"b": 1}}, {"a": {"b": 1}}, id="object-over-number"),
    pytest.param(5, None, None, id="document-to-null"),
    pytest.param(5, 5, 5, id="equal-scalars-resent"),
    pytest.param([1], {"a": [None]}, {"a": [None]}, id="null-inside-an-array-is-fine"),
]


@pytest.mark.parametrize(("old", "new", "patch"), DIFFS)
def test_diff(old: Any, new: Any, patch: Any) -> None:
    """merge_patch_diff gives the expected (smallest) patch, which reaches `new`."""
    assert merge_patch_diff(old, new) == patch
    assert json_equal(apply_merge_patch(old, patch), new)


UNREACHABLE = [
    pytest.param({"a": 1}, {"a": None}, "/a", id="member-set-to-null"),
    pytest.param({}, {"a": None}, "/a", id="new-null-member"),
    pytest.param({"a": 1}, {"a": {"b": {"c": None}}}, "/a/b/c", id="null-inside-new-object"),
    pytest.param([1], {"x~y": None}, "/x~0y", id="object-over-array-with-null"),
]


@pytest.mark.parametrize(("old", "new", "pointer"), UNREACHABLE)
def test_unreachable(old: Any, new: Any, pointer: str) -> None:
    """A null member a merge patch cannot create raises MergePatchUnreachable naming it."""
    with pytest.raises(MergePatchUnreachable, match="null") as raised:
        merge_patch_diff(old, new)
    assert str(raised.value.pointer) == pointer
    assert isinstance(raised.value, ValueError)


@given(VALUES, VALUES)
def test_diff_reaches_any_reachable_value(old: Any, new: Any) -> None:
    """apply(a, diff(a, b)) equals b, or diff says b cannot be reached (b has a new null)."""
    unreachable: JsonPointer | None = None
    try:
        patch = merge_patch_diff(old, new)
    except MergePatchUnreachable as error:
        unreachable = error.pointer
    if unreachable is not None:
        assert unreachable.resolve(new) is None
    else:
        assert json_equal(apply_merge_patch(old, patch), new)


NULL_FREE = st.recursive(
    SCALARS.filter(lambda v: v is not None),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(NAMES, children, max_size=3),
    max_leaves=8,
)


@given(VALUES, NULL_FREE)
def test_diff_reaches_every_null_free_value(old: Any, new: Any) -> None:
    """Without null members, every value is reachable from every other."""
    assert json_equal(apply_merge_patch(old, merge_patch_diff(old, new)), new)


@given(OBJECTS)
def test_diff_of_equal_objects_is_empty(value: dict[str, Any]) -> None:
    """Nothing changed, nothing to send: {}."""
    assert merge_patch_diff(value, copy.deepcopy(value)) == {}


TOUCHED = [
    pytest.param({"a": 1, "b": None}, MISSING, {"/a", "/b"}, id="leaves-set-and-removed"),
    pytest.param({"a": {"b": 1, "c": {"d": None}}}, MISSING, {"/a/b", "/a/c/d"}, id="descends"),
    pytest.param({"a": [1, {"b": 2}]}, MISSING, {"/a"}, id="array-is-a-leaf"),
    pytest.param({"a~b": {"c/d": 1}}, MISSING, {"/a~0b/c~1d"}, id="escaped"),
    pytest.param({"a": {}}, MISSING, {"/a"}, id="empty-object-may-replace"),
    pytest.param({}, MISSING, set(), id="empty-patch-touches-nothing"),
    pytest.param([1], MISSING, {""}, id="array-patch-replaces-document"),
    pytest.param(None, MISSING, {""}, id="null-patch-replaces-document"),
    pytest.param({"a": {"b": 1}}, {"a": 5}, {"/a"}, id="object-over-number-replaces"),
    pytest.param({"a": {"b": 1}}, {}, {"/a"}, id="object-over-absent-creates"),
    pytest.param({"a": {"b": 1}}, {"a": {"c": 2}}, {"/a/b"}, id="object-over-object-descends"),
    pytest.param({"a": {}}, {"a": {"c": 2}}, set(), id="empty-object-over-object-is-a-no-op"),
    pytest.param({"a": 1}, [1, 2], {""}, id="object-patch-over-array-document"),
]


@pytest.mark.parametrize(("patch", "target", "expected"), TOUCHED)
def test_pointers_touched(patch: Any, target: Any, expected: set[str]) -> None:
    """Nested objects descend, other values are leaves; a non-object target is replaced."""
    assert {str(p) for p in pointers_touched_by_merge_patch(patch, target=target)} == expected


@given(OBJECTS, OBJECTS)
def test_touched_pointers_cover_every_change(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Wherever applying a patch changes the target, a touched pointer overlaps it."""
    touched = pointers_touched_by_merge_patch(patch, target=target)
    for changed in changed_pointers(target, apply_merge_patch(target, patch)):
        assert any(changed.overlaps(t) for t in touched)
