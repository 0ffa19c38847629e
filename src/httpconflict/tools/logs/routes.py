"""Request targets folded into route templates: ``/v1/notes/42?x=1`` -> ``/v1/notes/{id}``.

Logs record the URL asked for, not the route that served it, so the
template is guessed segment by segment. The query string and fragment are
dropped, a scheme and host (an absolute-form target, as proxies log) are
dropped, and a path segment becomes ``{id}`` when it is

- a number: ``42``;
- a UUID, with or without dashes: ``0b5f9c8e-1d7a-4c1e-9b3a-2f6e8d4c7a10``;
- a hex id: 8 or more hex digits with at least one digit (``5f3a9c2e``,
  a 24-digit ObjectId, a SHA); ``deadbeef``, all letters, stays a word;
- a long random token: 16 or more of ``A-Z a-z 0-9 _ -``, with letters and
  digits, and "random" - the character class (lower, upper, digit) changes
  at least once every four letters or digits. ULIDs, base64url ids and
  ``cus_NffrFeUfNV2Hib`` collapse; ``release-notes-2024`` (one change) and
  ``getUserProfileSettings`` (no digit) stay.

A segment ending in a short extension keeps it: ``42.json`` -> ``{id}.json``.
"""

from __future__ import annotations

import re
from typing import Final

ID: Final = "{id}"

_UUID: Final = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
_HEX: Final = re.compile(r"(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}")
_TOKEN: Final = re.compile(r"(?=[\w-]*[0-9])(?=[\w-]*[A-Za-z])[A-Za-z0-9_-]{16,}", re.ASCII)
_EXTENSION: Final = re.compile(r"(.+)(\.[A-Za-z][A-Za-z0-9]{0,4})")


def _class_changes(token: str) -> tuple[int, int]:
    """How often the class (lower, upper, digit) changes along the letters and digits."""
    changes = characters = 0
    previous = ""
    for char in token:
        if char.isdigit():
            kind = "d"
        elif char.islower():
            kind = "l"
        elif char.isupper():
            kind = "u"
        else:
            continue
        characters += 1
        if previous and kind != previous:
            changes += 1
        previous = kind
    return changes, characters


def is_id(segment: str) -> bool:
    """Whether a path segment looks like an identifier (see the module docstring)."""
    if segment.isascii() and segment.isdigit():
        return True
    if _UUID.fullmatch(segment) or _HEX.fullmatch(segment):
        return True
    if _TOKEN.fullmatch(segment):
        changes, characters = _class_changes(segment)
        return changes * 4 >= characters
    return False


def _template_segment(segment: str) -> str:
    if not segment:
        return segment
    if is_id(segment):
        return ID
    if (match := _EXTENSION.fullmatch(segment)) and is_id(match[1]):
        return ID + match[2]
    return segment


def route_template(target: str) -> str:
    """The route a request target was most likely served by (see the module docstring)."""
    path = target.partition("?")[0].partition("#")[0]
    if "://" in path:
        path = "/" + path.partition("://")[2].partition("/")[2]
    if not path.startswith("/"):
        return path or "/"  # "*" (OPTIONS), "-" (no request line): nothing to fold
    return "/".join(_template_segment(segment) for segment in path.split("/"))
