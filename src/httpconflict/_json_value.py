"""JSON values as `json.loads` returns them: equality, copying, absence.

Theory of operation: a JSON value is None, a bool, an int or float, a str,
a list of JSON values or a dict from str to JSON values. Python's ``==``
is not JSON's equality: ``True == 1`` and ``False == 0.0`` hold in Python,
while JSON's true is not the number 1. `json_equal` is the comparison every
patch, diff and merge in this package uses. `MISSING` stands for "no value
here" (an absent object member), which is not the same as JSON null.
"""

from __future__ import annotations

import enum
from typing import Any, Final, TypeAlias

# Any, not a recursive union: a caller's list[int] or dict[str, str] would
# not be accepted where a list or dict of a union is expected (invariance).
Json: TypeAlias = Any


class _Missing(enum.Enum):
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        # `if value:` must not quietly treat absence like an empty value.
        raise TypeError("MISSING has no truth value; compare with `is MISSING`")


#: No value: an object member that is absent. Compare with ``is``.
MISSING: Final = _Missing.MISSING


def json_equal(first: Json, second: Json) -> bool:
    """Whether two JSON values are equal as JSON, not as Python, values.

    Booleans equal only booleans (``true`` is not ``1``); numbers compare by
    value (``1`` equals ``1.0``); objects compare by members regardless of
    order; arrays compare element by element, in order. `MISSING` equals
    only itself. Values of any depth compare without recursion.
    """
    pairs = [(first, second)]
    while pairs:
        one, other = pairs.pop()
        if isinstance(one, bool) or isinstance(other, bool):
            if not (isinstance(one, bool) and isinstance(other, bool) and one is other):
                return False
        elif isinstance(one, int | float):
            if not (isinstance(other, int | float) and one == other):
                return False
        elif isinstance(one, dict):
            if not isinstance(other, dict) or one.keys() != other.keys():
                return False
            pairs.extend((value, other[name]) for name, value in one.items())
        elif isinstance(one, list):
            if not isinstance(other, list) or len(one) != len(other):
                return False
            pairs.extend(zip(one, other, strict=True))
        elif isinstance(one, str):
            if not (isinstance(other, str) and one == other):
                return False
        elif one is None or one is MISSING:
            if other is not one:
                return False
        else:
            raise TypeError(f"not a JSON value: {type(one).__name__}")
    return True


def copy_json(value: Json) -> Json:
    """A deep copy of a JSON value, sharing nothing mutable with it (any depth, no recursion)."""
    if not isinstance(value, dict | list):
        return value
    top = dict(value) if isinstance(value, dict) else list(value)
    # Each container is copied shallowly, then its member containers in turn.
    stack: list[Any] = [top]
    while stack:
        container = stack.pop()
        keys = container.keys() if isinstance(container, dict) else range(len(container))
        for key in keys:
            member = container[key]
            if isinstance(member, dict | list):
                copied: Any = dict(member) if isinstance(member, dict) else list(member)
                container[key] = copied
                stack.append(copied)
    return top


def json_type(value: Json) -> str:
    """The JSON name of a value's type: object, array, string, number, boolean, null."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    raise TypeError(f"not a JSON value: {type(value).__name__}")
