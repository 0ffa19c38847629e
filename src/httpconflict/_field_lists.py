"""The elements of a list-based field line (RFC 9110 §5.6.1), split outside quoted strings.

A quoted string (a Prefer value, RFC 7240 §2) may hold commas, so a line
is split at the commas outside quotes. Each element is found by one match
of a possessive pattern, which never tries a quote twice: a regex that
tries each quote as the start of a string is quadratic on a field full of
unclosed quotes, and a loop over the characters in Python took 10-100 ms
for a field of 64 KiB. A line of more than `MAX_LIST_ELEMENTS` elements
(empty ones too: RFC 9110 §5.6.1 asks a recipient to ignore "a reasonable
number" of them) is refused with `HeaderFieldTooLarge` (431).
"""

from __future__ import annotations

import re
from typing import Final

from ._errors import HeaderFieldTooLarge

#: The most elements, empty ones included, a list-based field line may hold.
MAX_LIST_ELEMENTS: Final = 1000

# An element: text outside quotes up to a comma, and quoted strings, whose
# quoted-pairs may escape a quote or a comma. A quote left open runs to
# the end of the line, as does a backslash it ends with.
_ELEMENT: Final = re.compile(
    r'[^",]*+(?:"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)[^",]*+)*+', re.DOTALL
)


def list_elements(line: str) -> list[str]:
    """The list elements of a field line: split at the commas outside quoted strings.

    Elements are returned as written, spaces and empty ones included.
    Raises `HeaderFieldTooLarge` past `MAX_LIST_ELEMENTS`.
    """
    if '"' not in line:
        elements = line.split(",", MAX_LIST_ELEMENTS)
    else:
        elements, start = [], 0
        while len(elements) <= MAX_LIST_ELEMENTS:
            element = _ELEMENT.match(line, start)
            assert element is not None  # the pattern matches the empty string
            end = element.end()
            elements.append(line[start:end])
            if end == len(line):
                break
            start = end + 1  # past the comma the element stopped at
    if len(elements) > MAX_LIST_ELEMENTS:
        raise HeaderFieldTooLarge(
            f"the list holds more than {MAX_LIST_ELEMENTS} elements",
            value=line,
            max_elements=MAX_LIST_ELEMENTS,
        )
    return elements
