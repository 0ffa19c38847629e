"""How big a JSON value is as text: the measure a patch's result is held to.

Theory of operation: a document is stored as compact UTF-8 JSON text
(``separators=(",", ":")``, ``ensure_ascii=False``), so that text's length
in bytes is the size a limit speaks of, for a PUT body and for the result
of a PATCH alike. `json_size` measures a whole value with the C encoder.
A patch that changes one place does not need the whole document measured
again: the text of a container is its brackets, its elements (an object's
members also ``"name":``) and one comma between each two, so inserting or
removing an element changes the size by the element's own size plus the
few bytes `member_size` and `separator_size` give.
"""

from __future__ import annotations

import json

from ._json_value import Json

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_size(value: Json) -> int:
    """The length in bytes of `value` as compact UTF-8 JSON text."""
    return _utf8_length(_ENCODER.encode(value))


def json_values(value: Json) -> int:
    """How many JSON values `value` is made of: itself, and every member and element at any depth.

    The measure of what comparing two versions walks (`httpconflict._rebase`):
    a value of 1 MB in one string is one value, a 1 MB object of small members
    is a hundred thousand.
    """
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def member_size(name: str) -> int:
    """The bytes an object member adds besides its value: ``"name":``."""
    return _utf8_length(_ENCODER.encode(name)) + 1


def separator_size(elements: int) -> int:
    """The comma an element adds or removes beside `elements` others (0 or 1)."""
    return 1 if elements else 0


def _utf8_length(text: str) -> int:
    if text.isascii():
        return len(text)
    # "surrogatepass": a lone surrogate (which the service refuses on input)
    # counts as the 3 bytes it would take, instead of failing the count.
    return len(text.encode("utf-8", "surrogatepass"))
