"""JSON Pointer (RFC 6901): parse, format, resolve, relate.

Theory of operation: a `JsonPointer` is its list of reference tokens,
unescaped; ``/a~1b/0`` is ``("a/b", "0")`` and the empty string is the
whole document, ``()``. Parsing checks only the syntax: whether ``0`` names
an array element or an object member depends on the document, so the
array-index rules (no leading zeros, ``-`` for "after the last element")
are applied while resolving, by `array_index`.

Two pointers *overlap* when one is the other or an ancestor of it: a
change at one may change the value at the other. ``/a`` overlaps ``/a/b``;
``/a`` does not overlap ``/ab``, because tokens, not characters, are
compared. Pointers order by their tokens, so a sorted list of pointers is
deterministic and lists a parent before its children.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ._json_value import Json, json_type

# RFC 6901 §3:
#   json-pointer    = *( "/" reference-token )
#   reference-token = *( unescaped / escaped )
#   escaped         = "~" ( "0" / "1" )
_BAD_ESCAPE: Final = re.compile(r"~(?![01])")

# RFC 6901 §4: array-index = %x30 / ( %x31-39 *(%x30-39) ), "note that
# leading zeros are not allowed". ASCII only: str.isdigit() accepts "١".
_ARRAY_INDEX: Final = re.compile(r"0|[1-9][0-9]*")

#: RFC 6901 §4: "exactly the single character "-", which ... refers to the
#: (nonexistent) member after the last array element."
END_OF_ARRAY: Final = "-"


class InvalidPointer(ValueError):
    """A string is not a JSON Pointer (RFC 6901 §3)."""

    def __init__(self, detail: str, *, text: str) -> None:
        super().__init__(detail)
        self.text = text


class PointerNotFound(LookupError):
    """A pointer names no value in a document; `found` is the longest prefix that does."""

    def __init__(self, detail: str, *, pointer: JsonPointer, found: JsonPointer) -> None:
        super().__init__(detail)
        self.pointer = pointer
        self.found = found


@dataclass(frozen=True, slots=True, order=True)
class JsonPointer:
    """A JSON Pointer as its unescaped reference tokens; ``str()`` formats it."""

    tokens: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> JsonPointer:
        """Parse ``""`` (the whole document) or ``/token/...``, unescaping ``~1`` and ``~0``."""
        if text == "":
            return cls()
        if text[0] == "/" and "~" not in text:
            return cls(tuple(text[1:].split("/")))  # nothing escaped: the common case
        if not text.startswith("/"):
            raise InvalidPointer(
                f"a JSON pointer starts with '/' (or is empty, for the whole document): {text!r}",
                text=text,
            )
        if _BAD_ESCAPE.search(text) is not None:
            raise InvalidPointer(
                f"'~' in a JSON pointer must be followed by 0 or 1 ('~0' is '~', '~1' is '/'): "
                f"{text!r}",
                text=text,
            )
        # RFC 6901 §4: "first transforming any occurrence of the sequence
        # '~1' to '/', and then transforming any occurrence of the sequence
        # '~0' to '~'", so "~01" is "~1", not "/".
        return cls(tuple(t.replace("~1", "/").replace("~0", "~") for t in text[1:].split("/")))

    @classmethod
    def from_tokens(cls, tokens: Iterable[str | int]) -> JsonPointer:
        """A pointer from tokens, array indices given as ints or strings."""
        return cls(tuple(str(token) for token in tokens))

    def __str__(self) -> str:
        return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in self.tokens)

    def __repr__(self) -> str:
        return f"JsonPointer({str(self)!r})"

    @property
    def is_root(self) -> bool:
        """Whether this pointer is ``""``, the whole document."""
        return not self.tokens

    @property
    def parent(self) -> JsonPointer:
        """The pointer to the containing object or array; the root has none."""
        if not self.tokens:
            raise ValueError("the whole document has no parent")
        return JsonPointer(self.tokens[:-1])

    def child(self, token: str | int) -> JsonPointer:
        """The pointer to a member (str) or element (int) of the value here."""
        return JsonPointer((*self.tokens, str(token)))

    def is_ancestor_of(self, other: JsonPointer) -> bool:
        """Whether `other` lies strictly inside the value this pointer names."""
        return len(self.tokens) < len(other.tokens) and other.tokens[: len(self.tokens)] == (
            self.tokens
        )

    def overlaps(self, other: JsonPointer) -> bool:
        """Whether the two are equal or one is an ancestor of the other."""
        shorter = min(len(self.tokens), len(other.tokens))
        return self.tokens[:shorter] == other.tokens[:shorter]

    def resolve(self, document: Json) -> Json:
        """The value this pointer names in `document`; `PointerNotFound` if none."""
        value = document
        for depth, token in enumerate(self.tokens):
            if isinstance(value, dict):
                if token not in value:
                    raise self._not_found(depth, f"has no member {token!r}")
                value = value[token]
            elif isinstance(value, list):
                index = array_index(token, len(value))
                if index is None or index == len(value):
                    raise self._not_found(depth, _no_element(token, len(value)))
                value = value[index]
            else:
                # Neither a string, a number, a boolean nor null has members.
                raise self._not_found(depth, f"is a {json_type(value)}, which has no members")
        return value

    def _not_found(self, depth: int, why: str) -> PointerNotFound:
        found = JsonPointer(self.tokens[:depth])
        where = f"the value at {str(found)!r}" if found.tokens else "the document"
        return PointerNotFound(
            f"{str(self)!r} names nothing: {where} {why}", pointer=self, found=found
        )


def array_index(token: str, length: int) -> int | None:
    """The array position a token names in an array of `length` elements, or None.

    ``-`` names `length`, the position after the last element, where only
    `add` can put a value; a number above `length`, or written with a
    leading zero or sign, names no position.
    """
    if token == END_OF_ARRAY:
        return length
    # More digits than the length has cannot be a position in it (and
    # int() refuses a text of over 4300 digits).
    if len(token) > len(str(length)) or _ARRAY_INDEX.fullmatch(token) is None:
        return None
    index = int(token)
    return index if index <= length else None


def _no_element(token: str, length: int) -> str:
    if token == END_OF_ARRAY:
        return "is an array, and '-' names the position after its last element"
    if _ARRAY_INDEX.fullmatch(token) is None:
        return f"is an array, and {token!r} is not an array index (digits, no leading zero)"
    return f"is an array of {length} elements, so index {token} is out of range"
