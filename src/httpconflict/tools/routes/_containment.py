"""Whether one segment's regex takes every text another's takes, for regexes of characters.

A regex read here is a sequence of *atoms*, each one character repeated
within a range: a literal character, a class (``[-\\w]``, ``[0-9a-f]``),
``\\d``, ``\\w``, ``\\s`` or ``.``, with an optional quantifier (``+``, ``*``,
``?``, ``{n}``, ``{n,}``, ``{n,m}``). Each text of such a regex is made of
the characters of its atoms, and is as long as their counts add up to.
A regex of ONE atom takes every text of its characters within its range:
so `takes_all(a, b)` holds when `a` is one atom that takes every character
of `b`'s atoms, within a range that holds `b`'s. Django's ``<int:pk>``
(``[0-9]+``) and ``<uuid:id>`` are such sequences; ``(?P<pk>\\d+)``,
``(?P<code>[-\\w]+)`` and ``(?P<id>[0-9a-fA-F-]{36})`` are atoms that take
all of them.

A class's characters are known by trying it on one character of each kind
that classes of ASCII characters, ``\\d``, ``\\w``, ``\\s`` and ``.`` can tell
apart: every ASCII character, and outside ASCII a letter, a digit, a space
and a symbol. A class that names a character outside ASCII, or one by its
code, is not read (None): its characters are not all among those tried.
"""

from __future__ import annotations

import math
import re
from typing import Final

from ._regex import _class_end

#: One character of each kind the atoms read here can tell apart.
_PROBES: Final = (
    *(chr(code) for code in range(128)),
    "é",  # a letter outside ASCII: \w
    "日",
    "٣",  # a digit outside ASCII: \d and \w
    "\u2003",  # a space outside ASCII: \s
    "€",  # none of them
)
_QUANTIFIER: Final = re.compile(r"(?:([*+?])|\{(\d+)(?:(,)(\d*))?\})[?+]?")
_CLASS_ESCAPES: Final = frozenset("dwsDWS")
_META: Final = frozenset("()|^$*+?{}")

#: An atom: the characters it takes (None: a literal character, itself), and its count's range.
_Atom = tuple[str, int, float]


def takes_all(wide: str, narrow: str) -> bool:
    """Whether `wide` fully matches every text that `narrow` fully matches (False in doubt)."""
    outer = _atoms(wide)
    inner = _atoms(narrow)
    if outer is None or inner is None or len(outer) != 1:
        return False
    atom, low, high = outer[0]
    takes = re.compile(atom)
    if sum(a[1] for a in inner) < low or sum(a[2] for a in inner) > high:
        return False
    return all(takes.fullmatch(char) for char in _characters(inner))


#: A run of whole segments, each one atom's text and a slash: ``(?:[\w\-]+/)*`` (Wagtail's
#: page tree), ``+`` for one or more.
_EACH_SEGMENT: Final = re.compile(r"\(\?:(?P<atom>.+)/\)(?P<count>[*+])")


def each_segment(regex: str) -> tuple[str, int] | None:
    r"""For a regex of repeated whole segments (``(?:ATOM/)*``), ATOM and the least count.

    ATOM must be one atom that takes no slash (``[\w\-]+``); None for anything else.
    """
    found = _EACH_SEGMENT.fullmatch(regex)
    if found is None:
        return None
    atom = found.group("atom")
    atoms = _atoms(atom)
    if atoms is None or len(atoms) != 1 or re.fullmatch(atom, "/") or re.fullmatch(atom, ""):
        return None
    if any(re.fullmatch(atom, f"a/{char}") for char in "a0-_"):
        return None
    return atom, 1 if found.group("count") == "+" else 0


def _characters(atoms: list[_Atom]) -> set[str]:
    found: set[str] = set()
    for atom, _, high in atoms:
        if high == 0:
            continue
        compiled = re.compile(atom)
        found.update(char for char in _PROBES if compiled.fullmatch(char))
        if len(atom) == 1 or (atom.startswith("\\") and not atom[1:].isalnum()):
            found.add(atom[-1])  # a literal character, tried or not
    return found


def _atoms(regex: str) -> list[_Atom] | None:
    """`regex` as a sequence of atoms, or None when it is anything else."""
    atoms: list[_Atom] = []
    position = 0
    while position < len(regex):
        char = regex[position]
        if char == "[":
            end = _class_end(regex, position)
            if end is None:
                return None
            atom = regex[position:end]
            if not atom.isascii() or re.search(r"\\[0-9xuUN]", atom):
                return None
        elif char == "\\":
            escaped = regex[position + 1 : position + 2]
            if not escaped or (escaped.isalnum() and escaped not in _CLASS_ESCAPES):
                return None  # \b, \A, a character by its code, a back reference
            atom = regex[position : position + 2]
        elif char in _META:
            return None
        else:
            atom = char
        position += len(atom)
        low, high = 1, 1.0
        quantifier = _QUANTIFIER.match(regex, position)
        if quantifier is not None:
            low, high = _counts(quantifier)
            position = quantifier.end()
        atoms.append((atom, low, high))
    return atoms


def _counts(quantifier: re.Match[str]) -> tuple[int, float]:
    symbol, least, comma, most = quantifier.groups()
    if symbol is not None:
        return {"*": (0, math.inf), "+": (1, math.inf), "?": (0, 1.0)}[symbol]
    if comma is None:
        return int(least), float(least)
    return int(least), float(most) if most else math.inf
