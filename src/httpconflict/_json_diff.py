"""Differences between two JSON values: where they differ, and a JSON Patch between them.

Theory of operation: both functions walk the two values together, and
descend only where both sides are objects. `changed_pointers` treats an
array as one value, so a change anywhere inside an array is reported at
the array's pointer: elements have no identity across versions (an
insertion shifts every later index), so ``/tags/2`` in one version need not
be the same element as ``/tags/2`` in the next.

`json_patch_diff` goes one step further for arrays, since its output is
applied to exactly the old value: it keeps the common head and tail,
diffs the elements in between pairwise, then removes or adds the rest.
That is not a minimal edit script (no longest-common-subsequence search),
but it is short for the common edits (append, change one element, insert
or remove a run) and always correct.
"""

from __future__ import annotations

from typing import Any

from ._json_pointer import JsonPointer
from ._json_value import Json, copy_json, json_equal
from ._pointer_trie import END, Place, Trie, node_of, pointers

_ROOT = JsonPointer()


def changed_pointers(old: Json, new: Json) -> frozenset[JsonPointer]:
    """The pointers at which `new` differs from `old`.

    Each is as deep as both sides are objects: a member added, removed or
    changed is named by its own pointer; a changed array or other value, or
    an object that became something else, by the pointer to it. Equal
    values (as JSON: ``1`` equals ``1.0``, ``true`` does not equal ``1``)
    have no changed pointers.
    """
    return pointers(changed_trie(old, new))


def changed_trie(old: Json, new: Json) -> Trie:
    """`changed_pointers` as a trie (`httpconflict._pointer_trie`), built in one walk."""
    root: Trie = {}
    if not (isinstance(old, dict) and isinstance(new, dict)):
        if not json_equal(old, new):
            root[END] = True
        return root
    stack: list[tuple[dict[str, Any], dict[str, Any], Place | Trie]] = [(old, new, root)]
    while stack:
        before, after, place = stack.pop()
        for name in before.keys() | after.keys():
            if name not in before or name not in after:
                node_of(place).setdefault(name, {})[END] = True
                continue
            was, now = before[name], after[name]
            if isinstance(was, dict) and isinstance(now, dict):
                stack.append((was, now, Place(place, name)))
            elif not json_equal(was, now):
                node_of(place).setdefault(name, {})[END] = True
    return root


def json_patch_diff(old: Json, new: Json) -> list[dict[str, Any]]:
    """A JSON Patch (RFC 6902) that turns `old` into `new`; empty when they are equal.

    The operations carry copies of `new`'s values, so the patch shares
    nothing with either argument.
    """
    operations: list[dict[str, Any]] = []
    _diff(old, new, _ROOT, operations)
    return operations


def _diff(old: Json, new: Json, here: JsonPointer, out: list[dict[str, Any]]) -> None:
    if json_equal(old, new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for name, value in old.items():
            if name not in new:
                out.append({"op": "remove", "path": str(here.child(name))})
            else:
                _diff(value, new[name], here.child(name), out)
        for name, value in new.items():
            if name not in old:
                out.append({"op": "add", "path": str(here.child(name)), "value": copy_json(value)})
    elif isinstance(old, list) and isinstance(new, list):
        _diff_arrays(old, new, here, out)
    else:
        out.append({"op": "replace", "path": str(here), "value": copy_json(new)})


def _diff_arrays(
    old: list[Any], new: list[Any], here: JsonPointer, out: list[dict[str, Any]]
) -> None:
    shortest = min(len(old), len(new))
    head = 0
    while head < shortest and json_equal(old[head], new[head]):
        head += 1
    tail = 0
    while tail < shortest - head and json_equal(old[-1 - tail], new[-1 - tail]):
        tail += 1
    old_middle, new_middle = len(old) - head - tail, len(new) - head - tail
    paired = min(old_middle, new_middle)
    # Change the paired elements in place; indices stay put meanwhile.
    for index in range(head, head + paired):
        _diff(old[index], new[index], here.child(index), out)
    # Then remove the surplus from the back, so each index is still valid...
    out.extend(
        {"op": "remove", "path": str(here.child(index))}
        for index in reversed(range(head + paired, head + old_middle))
    )
    # ...or insert the missing elements, front to back, before the tail.
    out.extend(
        {"op": "add", "path": str(here.child(index)), "value": copy_json(new[index])}
        for index in range(head + paired, head + new_middle)
    )
