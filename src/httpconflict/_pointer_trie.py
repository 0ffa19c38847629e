"""Sets of JSON pointers as tries: built, and compared, in time linear in their size.

Theory of operation: a trie holds a set of pointers by their tokens, one
nested dict per token, with `END` marking a node whose own pointer is in
the set. A set of pointers made by walking a document (the members a
merge patch sets, the places two versions differ) is built as a trie in
the same walk, so a pointer's tokens are never copied out (a set of
`JsonPointer`s costs their depth each: a wide change deep in a document
would cost its width times its depth).

Two sets *overlap* where a pointer of one equals, or is an ancestor of, a
pointer of the other (`JsonPointer.overlaps`). `overlaps` finds, for every
overlapping pair, the shorter pointer of the two, by walking only the
paths both tries share: a node where one set ends and the other goes on
(or ends too) names a clash. Its cost is the size of the paths the tries
share, instead of one trie's size times the other's; `clashes` picks up
the values at each clash in documents walked alongside.

Every node of a trie ends a pointer or leads to one that does: a walk
makes a node only when it adds a pointer at or under it (`Place`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, TypeAlias

from ._json_pointer import JsonPointer, array_index
from ._json_value import MISSING, Json

#: The key that marks a node whose own pointer is in the set (a token is a str).
END: Final = None

#: A node: a token's child node for each token, and ``END: True`` if it ends a pointer.
Trie: TypeAlias = dict[Any, Any]

# A node's place, as a chain of links to the root: (parent's link, token).
_Link: TypeAlias = tuple[Any, str] | None


def trie_of(pointers: frozenset[JsonPointer] | set[JsonPointer]) -> Trie:
    """The trie of a set of pointers."""
    root: Trie = {}
    for pointer in pointers:
        node = root
        for token in pointer.tokens:
            node = node.setdefault(token, {})
        node[END] = True
    return root


class Place:
    """A node a walk may need, made only when a pointer at or under it is added.

    A walk that descends into every object of a document would otherwise
    leave a node for each, most of them empty; a place costs as little and
    leaves nothing behind.
    """

    __slots__ = ("_node", "_parent", "_token")

    def __init__(self, parent: Place | Trie, token: str) -> None:
        self._node: Trie | None = None
        self._parent = parent
        self._token = token

    def node(self) -> Trie:
        """This place's node, made (with the nodes above it that are missing) if need be."""
        pending: list[Place] = []
        place: Place | Trie = self
        while isinstance(place, Place) and place._node is None:
            pending.append(place)
            place = place._parent
        node = place if not isinstance(place, Place) else place._node
        assert node is not None
        for waiting in reversed(pending):
            node = node.setdefault(waiting._token, {})
            waiting._node = node
        return node


def node_of(place: Place | Trie) -> Trie:
    """The node of a place, or the node itself."""
    return place.node() if isinstance(place, Place) else place


def pointers(root: Trie) -> frozenset[JsonPointer]:
    """The pointers a trie holds."""
    found: list[JsonPointer] = []
    stack: list[tuple[Trie, _Link]] = [(root, None)]
    while stack:
        node, link = stack.pop()
        if END in node:
            found.append(JsonPointer(_tokens(link)))
        stack.extend((child, (link, token)) for token, child in node.items() if token is not END)
    return frozenset(found)


def overlaps(first: Trie, second: Trie) -> frozenset[JsonPointer]:
    """For each pair of overlapping pointers, one from each trie, the shorter of the two."""
    return frozenset(pointer for pointer, _ in clashes(first, second))


def clashes(
    first: Trie, second: Trie, documents: Sequence[Json] = ()
) -> list[tuple[JsonPointer, tuple[Json, ...]]]:
    """`overlaps`, in pointer order, each with the value it names in each of `documents`.

    A document with no value at a pointer has `MISSING` there. The values
    are found in the same walk, not by resolving each pointer again.
    """
    found: list[tuple[JsonPointer, tuple[Json, ...]]] = []
    stack: list[tuple[Trie, Trie, tuple[str, ...], tuple[Json, ...]]] = [
        (first, second, (), tuple(documents))
    ]
    while stack:
        one, other, tokens, values = stack.pop()
        one_ends, other_ends = END in one, END in other
        # A pointer ending here overlaps one of the other set ending here or below it.
        if (one_ends and (other_ends or len(other) > other_ends)) or (
            other_ends and len(one) > one_ends
        ):
            found.append((JsonPointer(tokens), values))
        small, large = (one, other) if len(one) <= len(other) else (other, one)
        shared = sorted(token for token in small if token is not END and token in large)
        # Pushed last to first, so they come off the stack in order: each
        # pointer after its ancestors, siblings sorted, as `sorted` would.
        stack.extend(
            (
                one[token],
                other[token],
                (*tokens, token),
                tuple(_member(value, token) for value in values),
            )
            for token in reversed(shared)
        )
    return found


def _member(value: Json, token: str) -> Json:
    if isinstance(value, dict):
        return value.get(token, MISSING)
    if isinstance(value, list):
        index = array_index(token, len(value))
        if index is not None and index < len(value):
            return value[index]
    return MISSING


def _tokens(link: _Link) -> tuple[str, ...]:
    tokens: list[str] = []
    while link is not None:
        link, token = link
        tokens.append(token)
    return tuple(reversed(tokens))
