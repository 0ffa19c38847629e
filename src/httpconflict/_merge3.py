"""Three-way merge of JSON documents: keep both edits, or name the clash.

Theory of operation: a client read version `base`, edited it into
`requested`, and meanwhile someone else turned `base` into `current`.
`merge3` walks the three together and decides each location by these
rules, in order (equality is JSON's, see `json_equal`; an absent member is
`MISSING` and takes part like any value, so a deletion is a change):

1. current equals requested: take it (both made the same change, or
   neither changed anything).
2. current equals base: take requested (only the client changed it; a
   deletion deletes).
3. requested equals base: take current (only the other writer changed it).
4. all three are objects: merge member by member, by these same rules.
5. otherwise both changed it, differently: a `Conflict` at this pointer,
   with no descent. Arrays are atomic, so this is where two different
   edits to one array end; so do an object turned into something else on
   one side and changed on the other, a member deleted on one side and
   changed on the other, and a member added on both sides with different
   values (even two objects: with no common base there is nothing to merge
   them against).

At a conflict the merged document keeps the current value, so it is always
a whole document; a caller that finds conflicts should report them rather
than store it. Conflicts are returned as data, sorted by pointer, and the
result shares no mutable value with the arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._json_pointer import JsonPointer
from ._json_value import MISSING, Json, copy_json, json_equal


@dataclass(frozen=True, slots=True)
class Conflict:
    """Both sides changed the value at `pointer`, differently.

    Each side is the value there, or `MISSING` where the member is absent.
    """

    pointer: JsonPointer
    base: Json
    current: Json
    requested: Json

    def to_json(self) -> dict[str, Any]:
        """``{"pointer", "base", "current", "requested"}``, leaving out absent sides."""
        out: dict[str, Any] = {"pointer": str(self.pointer)}
        sides = (("base", self.base), ("current", self.current), ("requested", self.requested))
        out.update((side, copy_json(value)) for side, value in sides if value is not MISSING)
        return out


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The merged document, and the conflicts (empty when the merge is clean)."""

    document: Json
    conflicts: tuple[Conflict, ...] = ()


def merge3(base: Json, current: Json, requested: Json) -> MergeResult:
    """Merge the edits base → current and base → requested (see the module's rules)."""
    conflicts: list[Conflict] = []
    document = _merge(base, current, requested, JsonPointer(), conflicts)
    return MergeResult(document, tuple(sorted(conflicts, key=lambda c: c.pointer)))


def _merge(
    base: Json, current: Json, requested: Json, here: JsonPointer, conflicts: list[Conflict]
) -> Json:
    if json_equal(current, requested):
        return copy_json(current)
    if json_equal(base, current):
        return copy_json(requested)
    if json_equal(base, requested):
        return copy_json(current)
    if isinstance(base, dict) and isinstance(current, dict) and isinstance(requested, dict):
        merged: dict[str, Any] = {}
        # Current's member order first: it is what readers see now.
        for name in [*current, *(n for n in requested if n not in current)]:
            value = _merge(
                base.get(name, MISSING),
                current.get(name, MISSING),
                requested.get(name, MISSING),
                here.child(name),
                conflicts,
            )
            if value is not MISSING:
                merged[name] = value
        return merged
    conflicts.append(Conflict(here, copy_json(base), copy_json(current), copy_json(requested)))
    return copy_json(current)
