"""Which of many strings a text holds, found in one scan of it.

Theory of operation. ``string in text`` for each of the knowledge base's
1,400 needed strings (`literals.needs`) reads the whole text 1,400 times:
6 s of a 24 MB log. Two things make it one read.

A log repeats itself: its lines differ mostly in their numbers (times,
ids, durations). A string with no digit and no newline is in the text if
and only if it is in one of its distinct lines with every ASCII digit made
``0`` (a match holds no digit, so the digits changed are not in it), so
those strings are looked for in the text's `distinct_lines`: for a log, a
small part of it. A string with a digit is in the text only if the string
with its digits made ``0`` is in the distinct lines; the few that are (``409``)
are looked for in the whole text.

Where they are looked for, the strings are one regex shaped as their trie
(shared prefixes written once: ``dup(?:e|licate)``), searched from each
position where one may start (`re` skips the positions whose character
starts none). The trie's tails are optional and greedy, so a match is the
longest string starting where it starts; every other string starting there
is a prefix of it. The search resumes one character after each match's
start, so every place a string starts is visited: the strings held are
exactly the matched strings and the strings they contain. A word repeated
a million times would be matched a million times: after `REBUILD_AFTER`
matches the strings known to be held leave the regex, and the search goes
on with twice as many matches before the next rebuild.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

#: Matches after which the regex is rebuilt without the strings found (when some were).
REBUILD_AFTER: Final = 4096
#: Fewer strings than this are each looked for alone (``in``): no regex to compile.
FEW: Final = 8
#: A shorter text is searched as it is: its distinct lines would save little.
SMALL: Final = 65_536
#: The text is cut into distinct lines this many characters at a time (bounded memory).
CHUNK: Final = 1 << 20

_DIGITS: Final = "0123456789"
_ZEROED: Final = str.maketrans(_DIGITS, "0" * len(_DIGITS))
_ZEROED_BYTES: Final = bytes.maketrans(_DIGITS.encode(), b"0" * len(_DIGITS))
# ("0" too: a line's "0" may have been another digit.)
_HAS_DIGIT_OR_NEWLINE: Final = re.compile("[0-9\n]")

# A trie: the next character to the node it leads to; "" marks the end of a string.
_Trie = dict[str, "_Trie"]


class LiteralSet:
    """Strings (non-empty), to find in a text all at once."""

    def __init__(self, strings: Iterable[str]) -> None:
        self.strings = frozenset(s for s in strings if s)

    def found_in(self, text: str) -> frozenset[str]:
        """The strings `text` holds: ``{s for s in self.strings if s in text}``."""
        if len(text) < SMALL:
            return _found(self.strings, text)
        lines = distinct_lines(text)
        plain = frozenset(s for s in self.strings if not _HAS_DIGIT_OR_NEWLINE.search(s))
        others = self.strings - plain
        # Those with a digit: the ones whose zeroed form a line holds may be in the text.
        zeroed_forms = {s: zeroed(s) for s in others if "\n" not in s}
        present = _found(frozenset(zeroed_forms.values()), lines)
        maybe = frozenset(s for s in others if zeroed_forms.get(s) in present or "\n" in s)
        return _found(plain, lines) | _found(maybe, text)


def zeroed(text: str) -> str:
    """`text` with each ASCII digit made ``0``."""
    return text.translate(_ZEROED)


def distinct_lines(text: str) -> str:
    """The lines of `text`, digits zeroed (`zeroed`), each once, in order, joined by newlines.

    Made in UTF-8 (``bytes.translate`` and ``split`` are fast), a chunk of lines at a time;
    the bytes are those of `text` but for the digits, so they decode back to text.
    """
    seen: dict[bytes, None] = {}
    start = 0
    while start < len(text):
        end = text.find("\n", start + CHUNK)
        end = len(text) if end < 0 else end
        chunk = text[start:end].encode("utf-8", "surrogatepass").translate(_ZEROED_BYTES)
        seen.update(dict.fromkeys(chunk.split(b"\n")))
        start = end + 1
    return b"\n".join(seen).decode("utf-8", "surrogatepass")


def _found(strings: frozenset[str], text: str) -> frozenset[str]:
    """The `strings` that `text` holds, in one search of it (a few: one ``in`` each)."""
    if len(strings) < FEW:
        return frozenset(s for s in strings if s in text)
    held: set[str] = set()
    left, at, budget = strings, 0, REBUILD_AFTER
    while left:
        matched, at = _scan(_regex(left), text, at, budget)
        held.update(left & _pieces(matched))
        if at < 0:
            break
        left, budget = left - held, 2 * budget
    return frozenset(held)


def _pieces(matched: set[str]) -> set[str]:
    """Every string some matched string holds (``s in m``): a few dozen matches, each a
    few dozen characters, have fewer pieces than there are strings to try against them
    (`_found` of a short text spent most of its time so)."""
    return {m[i:j] for m in matched for i in range(len(m)) for j in range(i + 1, len(m) + 1)}


def _scan(pattern: re.Pattern[str], text: str, at: int, budget: int) -> tuple[set[str], int]:
    """The strings `pattern` matches from `at` on (each the longest at its start), and
    where to go on after `budget` matches (-1: the end was reached)."""
    matched: set[str] = set()
    search = pattern.search
    for _ in range(budget):
        match = search(text, at)
        if match is None:
            return matched, -1
        matched.add(match.group())
        at = match.start() + 1
    return matched, at


@lru_cache(maxsize=16)
def _regex(strings: frozenset[str]) -> re.Pattern[str]:
    """A regex of `strings` shaped as their trie, its tails greedy: each match is the longest
    of the strings starting where it starts."""
    trie: _Trie = {}
    for string in strings:
        node = trie
        for char in string:
            node = node.setdefault(char, {})
        node[""] = {}
    return re.compile(_source(trie))


def _source(node: _Trie) -> str:
    """The regex of the strings below `node` ("" when it has none)."""
    branches = []
    for char in sorted(node):
        if not char:
            continue
        # A run of nodes with one child and no string ending in it is written as one literal.
        run, child = [char], node[char]
        while len(child) == 1 and "" not in child:
            ((next_char, child),) = child.items()
            run.append(next_char)
        branches.append(re.escape("".join(run)) + _source(child))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if "" in node else body
