"""A document while a JSON Patch runs: shared until written, its sizes and depths remembered.

Theory of operation. Copy on write: a patch starts from the caller's
document itself, not a deep copy of it, and a ``copy`` operation puts the
very value it copies in a second place. A container that something else
may hold too is *shared* (the input's root, each value a ``copy`` put in
a second place) and is never changed: the walk to a container an operation
changes (`writable`) replaces each shared container on its way by a
shallow copy, whose member containers are shared in turn. So an operation
costs the width of the containers on its path, a ``copy`` costs nothing
until one of its two places is written, and `result` copies whatever is
still shared, once, at the end: the result shares nothing with the input
or the patch, as a deep copy at the start would have made sure.

Measuring. A container's size as JSON text and its depth are measured at
most once and remembered. A shared container never changes; a written one
lies on the path `writable` walked, so after each change the sizes
remembered along that path move by the change's own delta (`changed`),
and the depths remembered there rise to what was placed below them. A
removal leaves remembered depths as they were: they are then upper bounds,
which may refuse a patch that removes the deep part of a value and then
moves that value deeper, never one that nests too deep. Remembered values
hold their containers, so an id is never reused while it is remembered.
"""

from __future__ import annotations

from typing import Any, Final

from ._json_pointer import JsonPointer, array_index
from ._json_size import json_size
from ._json_value import MISSING, Json, copy_json
from ._patch_budget import PatchBudget, Step

# Strings this long are remembered like containers: moving one about
# should not measure it again each time.
_LONG: Final = 64


class PatchedDocument:
    """The document a JSON Patch is changing; `root` is its current top value."""

    __slots__ = ("_depths", "_shared", "_sizes", "budget", "root")

    def __init__(self, document: Json, budget: PatchBudget | None = None) -> None:
        self.root = document
        #: Charged for every measuring `size` does (None: no limit).
        self.budget = budget
        # Ids of containers held elsewhere too. An id left here by a
        # container since freed can only make a later one be copied for
        # nothing, never be written while shared.
        self._shared: set[int] = {id(document)}
        self._sizes: dict[int, tuple[Json, int]] = {}
        self._depths: dict[int, tuple[Json, int]] = {}

    def share(self, value: Json) -> Json:
        """Mark `value` as held in another place too (a ``copy``); return it."""
        if isinstance(value, dict | list):
            self._shared.add(id(value))
        return value

    def writable(self, pointer: JsonPointer) -> list[Any]:
        """The containers from the root to the one at `pointer`, none of them shared.

        The pointer must name a container (the caller resolved it already).
        """
        node = self.root
        if id(node) in self._shared:
            node = self.root = self._unshare(node)
        chain = [node]
        for token in pointer.tokens:
            key: str | int | None = (
                token if isinstance(node, dict) else array_index(token, len(node))
            )
            assert key is not None, "the caller resolved the pointer"
            child = node[key]
            if id(child) in self._shared:
                child = node[key] = self._unshare(child)
            chain.append(child)
            node = child
        return chain

    def _unshare(self, container: Any) -> Any:
        """A shallow copy of a shared container, its member containers shared from now on."""
        copy: Any = dict(container) if isinstance(container, dict) else list(container)
        members = container.values() if isinstance(container, dict) else container
        self._shared.update(id(m) for m in members if isinstance(m, dict | list))
        for remembered in (self._sizes, self._depths):
            known = remembered.get(id(container))
            if known is not None and known[0] is container:
                remembered[id(copy)] = (copy, known[1])
        return copy

    def size(self, value: Json, step: Step) -> int:
        """`value`'s size as compact UTF-8 JSON text, measured once (and charged to the budget)."""
        remember = isinstance(value, dict | list) or (
            isinstance(value, str) and len(value) >= _LONG
        )
        if remember:
            known = self._sizes.get(id(value))
            if known is not None and known[0] is value:
                return known[1]
        size = json_size(value)
        if remember:
            self._sizes[id(value)] = (value, size)
        if self.budget is not None:
            self.budget.measure(size, step)
        return size

    def depth(self, value: Json) -> int:
        """`value`'s depth (``{}`` is 1 deep, a scalar 0), or more after a removal inside it."""
        if not isinstance(value, dict | list):
            return 0
        known = self._depths.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        # Post-order without recursion: members before their container,
        # each container walked once (a copied one may be in two places),
        # remembered ones not walked again.
        order: list[Any] = [value]
        walked = {id(value)}
        index = 0
        while index < len(order):
            container = order[index]
            members = container.values() if isinstance(container, dict) else container
            for member in members:
                if isinstance(member, dict | list) and id(member) not in walked:
                    seen = self._depths.get(id(member))
                    if seen is None or seen[0] is not member:
                        order.append(member)
                        walked.add(id(member))
            index += 1
        for container in reversed(order):
            members = container.values() if isinstance(container, dict) else container
            deepest = 0
            for member in members:
                if isinstance(member, dict | list):
                    deepest = max(deepest, self._depths[id(member)][1])
            self._depths[id(container)] = (container, deepest + 1)
        return self._depths[id(value)][1]

    def changed(self, chain: list[Any], delta: int, placed: Json = MISSING) -> None:
        """After a change of `delta` bytes in ``chain[-1]``, where `placed` was put (if any).

        Without a budget, sizes are neither measured nor remembered, and
        `delta` is 0.
        """
        below: int | None = None
        if placed is not MISSING:
            below = self._known_depth(placed)
        for height, container in enumerate(reversed(chain), start=1):
            size = self._sizes.get(id(container))
            if size is not None and size[0] is container:
                self._sizes[id(container)] = (container, size[1] + delta)
            depth = self._depths.get(id(container))
            if placed is MISSING or depth is None or depth[0] is not container:
                continue
            if below is None:
                # What was placed here was never measured: its depth is not
                # known, so neither is this container's any more.
                del self._depths[id(container)]
            elif below + height > depth[1]:
                self._depths[id(container)] = (container, below + height)

    def _known_depth(self, value: Json) -> int | None:
        if not isinstance(value, dict | list):
            return 0
        known = self._depths.get(id(value))
        return known[1] if known is not None and known[0] is value else None

    def result(self) -> Json:
        """The patched document, sharing nothing with the input or the patch."""
        if isinstance(self.root, dict | list) and id(self.root) in self._shared:
            return copy_json(self.root)
        stack = [self.root] if isinstance(self.root, dict | list) else []
        while stack:
            container = stack.pop()
            keys = container.keys() if isinstance(container, dict) else range(len(container))
            for key in keys:
                member = container[key]
                if isinstance(member, dict | list):
                    if id(member) in self._shared:
                        container[key] = copy_json(member)
                    else:
                        stack.append(member)
        return self.root
