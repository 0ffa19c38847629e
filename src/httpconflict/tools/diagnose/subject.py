"""A text to run many regexes on, each only where it can match.

Theory of operation. `Subject` wraps the evidence's text. Before a
pattern runs, `literals.needs` says which strings every match holds; a
text that holds none of them is not searched at all (a 1 MB CI log holds
the words of a handful of the knowledge base's 450 regexes). When the
match cannot leave a line, only the lines that hold one of the strings are
searched, each with ``search(text, line_start, line_end)``: the pattern
sees the real text before the line (a lookbehind, ``^``), and a line's end
reads to it as the text's end would. Otherwise the pattern runs on the
whole text, as plain `re` would. The answers are those of
``pattern.search(text)`` and ``pattern.finditer(text)``, always.

Which strings the text holds is found once, for all the strings any
pattern needs, in one scan (`literal_set`), not one scan per string. The
lines that hold a string are found once per text (``str.find``, a fast
search): on a line of 10 MB the line is found once, not once per hit.
When the lines to search add up to much of the text, one search of the
whole is cheaper than thousands of small ones, and is what runs.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from typing import Final

from .literal_set import LiteralSet
from .literals import Needs, fold, known, needs

#: A line searched alone costs about this many characters of a whole-text search.
LINE_COST: Final = 100
#: A shorter text is searched whole: the prefilter's one scan costs more than the few
#: regexes it would skip. From a few lines on, most of the 450 regexes need a string the
#: text does not hold: skipping them made a message in 6 pieces of log (3 KB) 3 times
#: faster to diagnose (at 32 KB, the old bound, when holding a string took a scan each).
SMALL: Final = 256

Span = tuple[int, int]


class Subject:
    """`text`, with the places of the literals the patterns need, found once."""

    def __init__(self, text: str, *, small: int = SMALL) -> None:
        self.text = text
        self._whole = len(text) < small
        self._folded: str | None = None
        self._lines: dict[tuple[str, bool], tuple[Span, ...]] = {}
        #: Per folded or not: the strings looked for, and those found.
        self._looked_for: dict[bool, set[str]] = {False: set(), True: set()}
        self._found: dict[bool, set[str]] = {False: set(), True: set()}

    def search(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        """``pattern.search(text)``."""
        spans = None if self._whole else self._where(needs(pattern))
        if spans is None:
            return pattern.search(self.text)
        for start, end in spans:
            match = pattern.search(self.text, start, end)
            if match is not None:
                return match
        return None

    def finditer(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        """``pattern.finditer(text)``."""
        spans = None if self._whole else self._where(needs(pattern))
        if spans is None:
            yield from pattern.finditer(self.text)
            return
        for start, end in spans:
            yield from pattern.finditer(self.text, start, end)

    def _where(self, need: Needs) -> list[Span] | tuple[Span, ...] | None:
        """Where to search: the lines (in order) holding a needed string, or None: everywhere.

        No needed string in the text: nowhere (an empty list).
        """
        if self._whole or not need.strings:
            return None
        present = [s for s in need.strings if self._holds_string(s, need.folded)]
        if not present:
            return []
        if not need.one_line or not self._places_agree(need.folded):
            return None
        if len(present) == 1:
            spans: list[Span] | tuple[Span, ...] = self._lines_with(present[0], need.folded)
        else:
            merged = heapq.merge(*(self._lines_with(s, need.folded) for s in present))
            spans = list(dict.fromkeys(merged))
        cost = sum(end - start + LINE_COST for start, end in spans)
        return None if cost >= len(self.text) else spans

    def _haystack(self, folded: bool) -> str:
        if not folded:
            return self.text
        if self._folded is None:
            self._folded = fold(self.text)
        return self._folded

    def _holds_string(self, string: str, folded: bool) -> bool:
        """``string in haystack``, found with every other string a pattern needs."""
        looked_for = self._looked_for[folded]
        if string not in looked_for:
            strings = (known(folded) | {string}) - looked_for
            self._found[folded].update(LiteralSet(strings).found_in(self._haystack(folded)))
            looked_for.update(strings)
        return string in self._found[folded]

    def _places_agree(self, folded: bool) -> bool:
        """The folded text's places are the text's (`fold` keeps them; checked, not assumed)."""
        return not folded or len(self._haystack(True)) == len(self.text)

    def _lines_with(self, string: str, folded: bool) -> tuple[Span, ...]:
        """The spans (start, end without the newline) of the lines holding `string`."""
        key = (string, folded)
        if key not in self._lines:
            self._lines[key] = tuple(_lines(self._haystack(folded), string))
        return self._lines[key]


def _lines(text: str, string: str) -> Iterator[Span]:
    """The lines of `text` that hold `string` (which holds no newline), each once, in order.

    Linear in `text`: each look for a line's start begins at the last line's end.
    """
    end = 0
    at = text.find(string)
    while at >= 0:
        start = text.rfind("\n", end, at) + 1
        end = text.find("\n", at)
        if end < 0:
            end = len(text)
        yield start, end
        at = text.find(string, end + 1)
