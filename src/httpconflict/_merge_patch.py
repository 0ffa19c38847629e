"""JSON Merge Patch (RFC 7396): apply, diff, and the pointers a patch touches.

Theory of operation: a merge patch looks like the part of the document it
changes. An object in the patch merges into the target member by member;
null removes a member; any other value (an array too) replaces the target
whole. So a merge patch cannot say everything: it cannot set a member to
null (null means "remove"), and it cannot change one element of an array
(the array is replaced). `merge_patch_diff` raises `MergePatchUnreachable`
when the new document needs a null member the old one lacks; every array
change it expresses by sending the whole new array.

Nothing here changes its arguments: results are built fresh and share no
mutable value with the target or the patch.
"""

from __future__ import annotations

from typing import Any

from ._json_pointer import JsonPointer
from ._json_size import json_size
from ._json_value import MISSING, Json, copy_json, json_equal
from ._patch_budget import PatchTooLarge
from ._pointer_trie import END, Place, Trie, node_of, pointers

_ROOT = JsonPointer()


class MergePatchUnreachable(ValueError):
    """No merge patch turns one value into the other: `pointer` would have to be null."""

    def __init__(self, detail: str, *, pointer: JsonPointer) -> None:
        super().__init__(detail)
        self.pointer = pointer


def apply_merge_patch(target: Json, patch: Json, *, max_bytes: int | None = None) -> Json:
    """The result of applying merge `patch` to `target` (RFC 7396 §2).

    With `max_bytes`, a result larger than that as compact UTF-8 JSON text
    (and larger than `target`) raises `PatchTooLarge` (413). A merge patch
    copies nothing, so what it builds is never larger than the target and
    the patch together, and is measured once it is built.
    """
    result = _merge(target, patch)
    if max_bytes is not None:
        size = json_size(result)
        if size > max_bytes and size > json_size(target):
            raise PatchTooLarge(
                f"the patched document would be {size} bytes as JSON text, "
                f"over the limit of {max_bytes}",
                max_bytes=max_bytes,
            )
    return result


def _merge(target: Json, patch: Json) -> Json:
    # RFC 7396 §2, MergePatch(Target, Patch): "if Patch is an Object: if
    # Target is not an Object: Target = {} ... for each Name/Value pair in
    # Patch: if Value is null: if Name exists in Target: remove the
    # Name/Value pair from Target; else: Target[Name] = MergePatch(Target[Name],
    # Value) ... else: return Patch".
    if not isinstance(patch, dict):
        return copy_json(patch)
    base: dict[str, Any] = target if isinstance(target, dict) else {}
    result: dict[str, Any] = {}
    for name, value in base.items():
        change = patch.get(name, MISSING)
        if change is MISSING:
            result[name] = copy_json(value)
        elif change is not None:
            result[name] = _merge(value, change)
    for name, change in patch.items():
        if name not in base and change is not None:
            result[name] = _merge(MISSING, change)
    return result


def merge_patch_diff(old: Json, new: Json) -> Json:
    """A merge patch that turns `old` into `new`: ``{}`` when they are equal.

    Raises `MergePatchUnreachable` when `new` has a null member that `old`
    has not (null in a patch removes; an array holding null is fine, as
    arrays are sent whole).
    """
    if isinstance(old, dict) and isinstance(new, dict):
        return _object_diff(old, new, _ROOT)
    if not isinstance(new, dict):
        # A patch that is not an object replaces the target whole.
        return copy_json(new)
    # An object patch makes a non-object target {} first, then adds to it.
    return _object_diff({}, new, _ROOT)


def _object_diff(old: dict[str, Any], new: dict[str, Any], here: JsonPointer) -> dict[str, Any]:
    patch: dict[str, Any] = {name: None for name in old if name not in new}
    for name, value in new.items():
        before = old.get(name, MISSING)
        if before is not MISSING and json_equal(before, value):
            continue
        if value is None:
            raise MergePatchUnreachable(
                f"a merge patch cannot set {str(here.child(name))!r} to null: "
                "null in a merge patch removes the member; use a JSON Patch",
                pointer=here.child(name),
            )
        if isinstance(value, dict):
            patch[name] = _object_diff(
                before if isinstance(before, dict) else {}, value, here.child(name)
            )
        else:
            patch[name] = copy_json(value)
    return patch


def pointers_touched_by_merge_patch(
    patch: Json, *, target: Json = MISSING
) -> frozenset[JsonPointer]:
    """The pointers a merge patch sets or removes.

    A nested object in the patch descends; any other value (null, an array,
    a string) is a leaf, named by its own pointer. A patch that is not an
    object replaces the whole document, ``""``.

    Where the target is not an object, an object in the patch replaces it
    instead of merging into it, so it touches its own pointer. Pass `target`
    (the document the patch applies to) to have each member judged against
    what is there. Without it, the document is taken to be an object and
    every nested object to land on an object, except an empty nested object:
    that one is named itself, since over a non-object it is a replacement
    with ``{}`` (and over an object it changes nothing).
    """
    return pointers(touched_trie(patch, target=target))


def touched_trie(patch: Json, *, target: Json = MISSING) -> Trie:
    """`pointers_touched_by_merge_patch` as a trie (`httpconflict._pointer_trie`), in one walk."""
    root: Trie = {}
    if not isinstance(patch, dict) or (target is not MISSING and not isinstance(target, dict)):
        root[END] = True
        return root
    stack: list[tuple[dict[str, Any], Json, Place | Trie]] = [(patch, target, root)]
    while stack:
        members, under, place = stack.pop()
        for name, value in members.items():
            if isinstance(value, dict):
                if under is MISSING:
                    if value:
                        stack.append((value, MISSING, Place(place, name)))
                        continue
                    # An empty object, over what may not be an object (which
                    # it would replace with {}): named itself.
                else:
                    member = under.get(name, MISSING)
                    if isinstance(member, dict):
                        stack.append((value, member, Place(place, name)))
                        continue
            node_of(place).setdefault(name, {})[END] = True
    return root
