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
    only itself.
    """
    if isinstance(first, bool) or isinstance(second, bool):
        return isinstance(first, bool) and isinstance(second, bool) and first is second
    if isinstance(first, int | float):
        return isinstance(second, int | float) and first == second
    if isinstance(first, dict):
        if not isinstance(second, dict) or first.keys() != second.keys():
            return False
        return all(json_equal(value, second[name]) for name, value in first.items())
    if isinstance(first, list):
        if not isinstance(second, list) or len(first) != len(second):
            return False
        return all(json_equal(a, b) for a, b in zip(first, second, strict=True))
    if isinstance(first, str):
        return isinstance(second, str) and first == second
    if first is None or first is MISSING:
        return second is first
    raise TypeError(f"not a JSON value: {type(first).__name__}")


def copy_json(value: Json) -> Json:
    """A deep copy of a JSON value, sharing nothing mutable with it."""
    if isinstance(value, dict):
        return {name: copy_json(member) for name, member in value.items()}
    if isinstance(value, list):
        return [copy_json(element) for element in value]
    return value


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
