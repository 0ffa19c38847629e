"""The elements of a list-based field line (RFC 9110 §5.6.1), split outside quoted strings.

A quoted string (a Prefer value, RFC 7240 §2) may hold commas, so a line
is split at the commas outside quotes, in one pass: a regex that tries
each quote as the start of a string is quadratic on a field full of
unclosed quotes.
"""

from __future__ import annotations


def list_elements(line: str) -> list[str]:
    """The list elements of a field line: split at the commas outside quoted strings.

    Elements are returned as written, spaces and empty ones included.
    """
    elements: list[str] = []
    start, quoted, escaped = 0, False, False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            elements.append(line[start:i])
            start = i + 1
    elements.append(line[start:])
    return elements
