"""Request targets folded into route templates: ``/v1/notes/42?x=1`` -> ``/v1/notes/{id}``.

Logs record the URL asked for, not the route that served it, so the
template is guessed segment by segment. The query string and fragment are
dropped, a scheme and host (an absolute-form target, as proxies log) are
dropped, and a path segment becomes ``{id}`` when it is

- a number: ``42``;
- a UUID, with or without dashes: ``0b5f9c8e-1d7a-4c1e-9b3a-2f6e8d4c7a10``;
- a hex id: 8 or more hex digits with at least one digit (``5f3a9c2e``,
  a 24-digit ObjectId, a SHA); ``deadbeef``, all letters, stays a word;
- an issue key: ``PROJ-1234``;
- a random token: 11 or more of ``A-Z a-z 0-9 _ -`` with letters and
  digits, most of whose letters are not in words (a word: 3 or more
  letters, lower case or Capitalised, with a vowel); of 16 or more, also
  one whose character class (lower, upper, digit) changes at least once
  every four letters or digits (unless three quarters of its letters are
  in words of 4 or more, Capitalised or apart from digits), or letters
  alone of both cases, not in words.
  ULIDs, base64url ids (``dQw4w9WgXcQ``), nanoids and
  ``cus_NffrFeUfNV2Hib`` collapse; ``release-notes-2024``,
  ``win10-pro-x64``, ``getUserProfileSettings2`` and
  ``getUserProfileSettings`` stay.

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
_TOKEN: Final = re.compile(r"(?=[\w-]*[A-Za-z])[A-Za-z0-9_-]{11,}", re.ASCII)
#: A token this long is random when its class (lower, upper, digit) changes often enough.
_LONG: Final = 16
#: Letters in words (`_in_words`): at least half, text; three quarters (strictly), whatever
#: its classes.
_SOME_WORDS: Final = 0.5
_WORDS: Final = 0.75
_ISSUE_KEY: Final = re.compile(r"[A-Z][A-Z0-9]{1,9}-[0-9]+")
# A token's runs of letters: a lower-case run (Capitalised or not), or an upper-case one.
_LETTERS: Final = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_VOWELS: Final = frozenset("aeiouyAEIOUY")
_ABSOLUTE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
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


def _in_words(token: str, *, strict: bool = False) -> float:
    """The share of a token's letters in words: runs of 3 or more letters, lower case or
    Capitalised, with a vowel (``release``, ``Profile``; not ``Nffr``, ``ZK``, ``qpx``).

    `strict`: words of 4 letters or more, each Capitalised or not touching a digit (random
    lower-case letters between digits often have a vowel; ``User`` in
    ``getUserProfileSettings2``, ``notes`` in ``release-notes-2024`` are words).
    """
    letters = sum(char.isalpha() for char in token)
    worded = 0
    for found in _LETTERS.finditer(token):
        run = found.group()
        if len(run) < (4 if strict else 3) or run.isupper() or _VOWELS.isdisjoint(run):
            continue
        if strict and not run[0].isupper():
            before = token[found.start() - 1] if found.start() else ""
            after = token[found.end()] if found.end() < len(token) else ""
            if before.isdigit() or after.isdigit():
                continue
        worded += len(run)
    return worded / letters if letters else 0.0


def is_id(segment: str) -> bool:
    """Whether a path segment looks like an identifier (see the module docstring)."""
    if segment.isascii() and segment.isdigit():
        return True
    if _UUID.fullmatch(segment) or _HEX.fullmatch(segment):
        return True
    if _ISSUE_KEY.fullmatch(segment):
        return True
    if _TOKEN.fullmatch(segment) is None:
        return False
    worded = _in_words(segment)
    if not any(char.isdigit() for char in segment):
        # Letters alone: random only when long, of both cases, and not words.
        mixed = not segment.islower() and not segment.isupper()
        return len(segment) >= _LONG and mixed and worded < _SOME_WORDS
    if len(segment) >= _LONG and _in_words(segment, strict=True) < _WORDS:
        changes, characters = _class_changes(segment)
        if changes * 4 >= characters:
            return True
    return worded < _SOME_WORDS


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
    if _ABSOLUTE.match(path):  # a proxy's absolute-form target; not "/proxy/http://..."
        path = "/" + path.partition("://")[2].partition("/")[2]
    if not path.startswith("/"):
        return path or "/"  # "*" (OPTIONS), "-" (no request line): nothing to fold
    return "/".join(_template_segment(segment) for segment in path.split("/"))
