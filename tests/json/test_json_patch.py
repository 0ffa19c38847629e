"""JSON Patch (RFC 6902): operations, array indices, typed errors, atomicity.

The RFC's own examples and the public suite run in test_json_patch_suite.py;
these tests pin what the suite leaves open.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from httpconflict import (
    JsonPatchError,
    JsonPointer,
    MalformedPatch,
    PatchNotApplicable,
    PatchTestFailed,
    apply_json_patch,
    pointers_read_by_json_patch,
    pointers_touched_by_json_patch,
)


def _op(name: str, path: str, *, source: Any = None, **members: Any) -> dict[str, Any]:
    """One operation; `source` is its "from" member."""
    operation = {"op": name, "path": path, **members}
    if source is not None:
        operation["from"] = source
    return operation


APPLIED = [
    pytest.param(
        {"a": [1, 2]},
        [_op("add", "/a/-", value=3)],
        {"a": [1, 2, 3]},
        id="rfc6902-4.1-dash-appends",
    ),
    pytest.param(
        {"a": [1, 2]},
        [_op("add", "/a/2", value=3)],
        {"a": [1, 2, 3]},
        id="rfc6902-4.1-index-equal-to-length-appends",
    ),
    pytest.param(
        {"a": [1, 2]}, [_op("add", "/a/0", value=0)], {"a": [0, 1, 2]}, id="rfc6902-4.1-add-inserts"
    ),
    pytest.param(
        {"a": 1}, [_op("add", "/a", value=2)], {"a": 2}, id="rfc6902-4.1-add-replaces-a-member"
    ),
    pytest.param(
        {"a": 1}, [_op("add", "", value=[1])], [1], id="rfc6902-4.1-add-at-root-replaces-document"
    ),
    pytest.param(
        {"a": [1, 2, 3]},
        [_op("replace", "/a/1", value=9)],
        {"a": [1, 9, 3]},
        id="rfc6902-4.3-replace-element",
    ),
    pytest.param(
        {"a": 1, "b": 2},
        [_op("replace", "/a", value=9)],
        {"a": 9, "b": 2},
        id="rfc6902-4.3-replace-member",
    ),
    pytest.param(
        {"a": [1, 2, 3]},
        [_op("move", "/a/-", source="/a/0")],
        {"a": [2, 3, 1]},
        id="rfc6902-4.4-move-is-remove-then-add",
    ),
    pytest.param(
        {"a": {"b": 1}},
        [_op("move", "/a/b", source="/a/b")],
        {"a": {"b": 1}},
        id="rfc6902-4.4-move-to-itself",
    ),
    pytest.param(
        {"a": {"b": 1}}, [_op("move", "", source="/a")], {"b": 1}, id="rfc6902-4.4-move-up-to-root"
    ),
    pytest.param(
        {"a": {"b": [1]}},
        [_op("copy", "/c", source="/a")],
        {"a": {"b": [1]}, "c": {"b": [1]}},
        id="rfc6902-4.5-copy",
    ),
    pytest.param(
        {"a": 1}, [_op("test", "/a", value=1.0)], {"a": 1}, id="rfc6902-4.6-numbers-equal-by-value"
    ),
    pytest.param(
        {"a": {"x": 1, "y": [2]}},
        [_op("test", "/a", value={"y": [2], "x": 1})],
        {"a": {"x": 1, "y": [2]}},
        id="rfc6902-4.6-objects-equal-regardless-of-order",
    ),
    pytest.param(
        {"a": 1},
        [_op("remove", "/a", value="ignored", extra=1)],
        {},
        id="rfc6902-4-unknown-members-ignored",
    ),
    pytest.param(
        {"01": 1, "-": 2},
        [_op("remove", "/01"), _op("remove", "/-")],
        {},
        id="index-like-member-names",
    ),
    pytest.param({}, [], {}, id="empty-patch"),
]


@pytest.mark.parametrize(("document", "patch", "expected"), APPLIED)
def test_apply(document: Any, patch: list[Any], expected: Any) -> None:
    """Each operation does what RFC 6902 §4 says."""
    assert apply_json_patch(document, patch) == expected


FAILURES = [
    pytest.param(
        [1], [_op("test", "/0", value=True)], PatchTestFailed, "/0", id="rfc6902-4.6-true-is-not-1"
    ),
    pytest.param(
        [0],
        [_op("test", "/0", value=False)],
        PatchTestFailed,
        "/0",
        id="rfc6902-4.6-false-is-not-0",
    ),
    pytest.param(
        {},
        [_op("test", "/a", value=None)],
        PatchTestFailed,
        "/a",
        id="test-of-missing-member-fails",
    ),
    pytest.param(
        {"a": None},
        [_op("test", "/a/b", value=1)],
        PatchTestFailed,
        "/a/b",
        id="test-below-a-scalar-fails",
    ),
    pytest.param([1], [_op("test", "/-", value=1)], PatchTestFailed, "/-", id="test-of-dash-fails"),
    pytest.param(
        [1],
        [_op("remove", "/-")],
        PatchNotApplicable,
        "/-",
        id="rfc6901-4-dash-names-nothing-to-remove",
    ),
    pytest.param(
        [1],
        [_op("replace", "/1", value=2)],
        PatchNotApplicable,
        "/1",
        id="rfc6902-4.3-replace-needs-a-target",
    ),
    pytest.param(
        {"a": 1},
        [_op("add", "/a/b", value=2)],
        PatchNotApplicable,
        "/a/b",
        id="add-inside-a-number",
    ),
    pytest.param(
        {"a": 1},
        [_op("add", "/b/c", value=2)],
        PatchNotApplicable,
        "/b/c",
        id="rfc6902-4.1-parent-must-exist",
    ),
    pytest.param(
        [1], [_op("add", "/01", value=2)], PatchNotApplicable, "/01", id="rfc6901-4-leading-zero"
    ),
    pytest.param(
        {"a": 1},
        [_op("move", "/c", source="/b")],
        PatchNotApplicable,
        "/b",
        id="move-from-missing-names-from",
    ),
    pytest.param(
        {"a": 1},
        [_op("move", "/b/c", source="/a")],
        PatchNotApplicable,
        "/b/c",
        id="move-to-missing-parent",
    ),
    pytest.param(
        {"a": 1},
        [_op("copy", "/b", source="/a/0")],
        PatchNotApplicable,
        "/a/0",
        id="copy-from-inside-a-number",
    ),
    pytest.param(
        {"a": 1},
        [_op("move", "/a/b", source="/a")],
        MalformedPatch,
        "/a/b",
        id="rfc6902-4.4-move-into-own-child",
    ),
    pytest.param(
        {"a": 1},
        [_op("move", "/a", source="")],
        MalformedPatch,
        "/a",
        id="rfc6902-4.4-move-root-into-child",
    ),
    pytest.param({"a": 1}, [_op("remove", "")], MalformedPatch, "", id="remove-the-whole-document"),
    pytest.param(
        {"a": 1}, [_op("add", "/~2", value=1)], MalformedPatch, "/~2", id="rfc6901-3-bad-escape"
    ),
    pytest.param(
        {"a": 1}, [_op("copy", "/b", source=3)], MalformedPatch, None, id="from-is-a-number"
    ),
    pytest.param({"a": 1}, [{"path": "/a"}], MalformedPatch, None, id="no-op-member"),
    pytest.param(
        {"a": 1}, [_op("ADD", "/a", value=1)], MalformedPatch, None, id="ops-are-case-sensitive"
    ),
    pytest.param({"a": 1}, [["op", "add"]], MalformedPatch, None, id="operation-is-not-an-object"),
]


@pytest.mark.parametrize(("document", "patch", "error", "pointer"), FAILURES)
def test_failures(
    document: Any, patch: list[Any], error: type[JsonPatchError], pointer: str | None
) -> None:
    """Each failure raises its own class, naming the operation and its pointer as written."""
    with pytest.raises(JsonPatchError) as raised:
        apply_json_patch(document, patch)
    assert type(raised.value) is error
    assert raised.value.index == 0
    assert raised.value.pointer == pointer
    assert isinstance(raised.value, ValueError)
    assert "operation 0" in str(raised.value)


def test_the_error_classes_are_distinct() -> None:
    """The three failures share a base class and none is another."""
    classes = [MalformedPatch, PatchTestFailed, PatchNotApplicable]
    for cls in classes:
        assert issubclass(cls, JsonPatchError)
        assert [issubclass(cls, other) for other in classes].count(True) == 1


@pytest.mark.parametrize("patch", [{"op": "add"}, "[]", None], ids=["object", "string", "null"])
def test_a_patch_is_an_array(patch: Any) -> None:
    """RFC 6902 §3: a patch that is not an array is malformed, with no operation index."""
    with pytest.raises(MalformedPatch, match="array of operations") as raised:
        apply_json_patch({}, patch)
    assert raised.value.index is None


def test_a_malformed_operation_is_found_before_any_is_applied() -> None:
    """A malformed later operation is reported even though an earlier one would fail."""
    patch = [{"op": "test", "path": "/a", "value": 2}, {"op": "bogus"}]
    with pytest.raises(MalformedPatch) as raised:
        apply_json_patch({"a": 1}, patch)
    assert raised.value.index == 1


def test_a_failure_changes_nothing() -> None:
    """Operations before the failing one leave no trace, in the input or anywhere."""
    document = {"a": [1, 2], "b": {"c": 1}}
    before = copy.deepcopy(document)
    patch = [
        {"op": "add", "path": "/a/-", "value": 3},
        {"op": "remove", "path": "/b/c"},
        {"op": "replace", "path": "/b", "value": 0},
        {"op": "test", "path": "/b", "value": 1},
    ]
    with pytest.raises(PatchTestFailed) as raised:
        apply_json_patch(document, patch)
    assert raised.value.index == 3
    assert document == before


def test_success_changes_neither_input() -> None:
    """The result is new: the document and the patch's values are left as they were."""
    document = {"a": {"b": [1]}}
    value = {"x": [1]}
    patch = [
        {"op": "add", "path": "/v", "value": value},
        {"op": "copy", "from": "/a", "path": "/c"},
    ]
    result = apply_json_patch(document, patch)
    result["v"]["x"].append(2)
    result["c"]["b"].append(2)
    result["a"]["b"].append(3)
    assert document == {"a": {"b": [1]}}
    assert value == {"x": [1]}


def test_later_operations_see_earlier_ones() -> None:
    """Operations apply in order, each to the result of the one before."""
    patch = [
        {"op": "add", "path": "/a", "value": {}},
        {"op": "add", "path": "/a/b", "value": [1]},
        {"op": "copy", "from": "/a/b", "path": "/a/c"},
        {"op": "add", "path": "/a/c/-", "value": 2},
        {"op": "test", "path": "/a", "value": {"b": [1], "c": [1, 2]}},
    ]
    assert apply_json_patch({}, patch) == {"a": {"b": [1], "c": [1, 2]}}


def test_pointers_touched_and_read() -> None:
    """Paths but a test's, and a move's from, are touched; test paths and copy sources are read."""
    patch = [
        {"op": "add", "path": "/a", "value": 1},
        {"op": "remove", "path": "/b/0"},
        {"op": "replace", "path": "/c~1d", "value": 1},
        {"op": "move", "from": "/e", "path": "/f"},
        {"op": "copy", "from": "/g", "path": "/h"},
        {"op": "test", "path": "/i", "value": 1},
    ]
    touched = {str(p) for p in pointers_touched_by_json_patch(patch)}
    assert touched == {"/a", "/b/0", "/c~1d", "/e", "/f", "/h"}
    assert pointers_read_by_json_patch(patch) == {JsonPointer(("g",)), JsonPointer(("i",))}


def test_pointers_of_a_malformed_patch() -> None:
    """Asking which pointers a malformed patch touches raises the same MalformedPatch."""
    with pytest.raises(MalformedPatch):
        pointers_touched_by_json_patch([{"op": "add", "path": "a", "value": 1}])
