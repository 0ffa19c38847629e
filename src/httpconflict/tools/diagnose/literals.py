"""What every match of a regex must contain: the literals that rule a text in or out.

Theory of operation. Python's `re` tries a pattern such as
``\\bSequelizeUniqueConstraintError\\b`` or ``(?i)\\bstate lock\\b`` at
every position of the text (a leading ``\\b`` or ``(?i)`` turns off its
literal-prefix search), at about 20 MB/s, and diagnose has some 450
regexes: a 1 MB log cost seconds. `needs` reads a compiled pattern's syntax
tree (the stdlib's own parser) and returns strings one of which every
match contains, and whether a match stays within one line. A text that
holds none of the strings cannot match (`subject.Subject` skips the regex);
one that does is searched only on the lines that hold them. The analysis is
conservative: what it does not understand requires nothing, and the regex
then runs on the whole text as before, so an answer never changes, only
its cost. Every string a pattern needs is also remembered (`known`), so that
a text is searched for all of them in one scan (`literal_set`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

# The stdlib's regex parser: private, so reached by name, and any surprise
# from it (a construct of a newer Python) makes a pattern need nothing.
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

#: The most strings a pattern may need (``[ _]`` in a phrase doubles them).
MAX_STRINGS: Final = 64
#: Shorter literals filter too little to be worth looking for.
MIN_LENGTH: Final = 3
#: A character class of at most this many characters is a set of literals.
MAX_CLASS: Final = 4
#: `fold` lowers a text that is not ASCII this many characters (and the line's rest) at a time.
FOLD_PIECE: Final = 1 << 18
# Anchors that read the same at a line's end as at the end of the text cut
# there (a line searched alone, with `endpos`): not ``$`` without MULTILINE,
# nor ``\Z``, which would match at the cut.
_LINE_SAFE_AT: Final = frozenset(
    {_c.AT_BEGINNING, _c.AT_BEGINNING_LINE, _c.AT_BEGINNING_STRING}
    | {_c.AT_BOUNDARY, _c.AT_NON_BOUNDARY, _c.AT_END_LINE}
)
# Categories that hold a newline.
_NEWLINE_CATEGORIES: Final = frozenset(
    {_c.CATEGORY_SPACE, _c.CATEGORY_NOT_DIGIT, _c.CATEGORY_NOT_WORD, _c.CATEGORY_LINEBREAK}
)
_REPEATS: Final = frozenset(
    {_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT)}
)
# Non-ASCII characters that `re.IGNORECASE` takes for an ASCII letter and
# `str.lower` does not lower to it (U+212A KELVIN SIGN it does).
_FOLD: Final = {"\u0130": "i", "\u0131": "i", "\u017f": "s"}


@dataclass(frozen=True, slots=True)
class Needs:
    """What any match of a pattern holds, and whether it stays in one line."""

    #: One of these is in every match; empty: nothing is known.
    strings: frozenset[str] = frozenset()
    #: The strings are folded (`fold`), to be looked for in the folded text.
    folded: bool = False
    #: No match reads a newline, lookarounds included: a line can be searched alone.
    one_line: bool = False


def fold(text: str) -> str:
    """`text` in lower case, every character `re.IGNORECASE` equates with an ASCII letter
    made that letter; each character stays in its place.

    A text that is not ASCII is lowered a piece of lines at a time: `str.lower` takes 12
    bytes a character while it works (a 10 MB log with one typographic quote took 120 MB).
    A piece ends at a line's end, where no letter's lower case depends on what follows
    (the final sigma's does, within a word).
    """
    if text.isascii():
        return text.lower()
    pieces = []
    start = 0
    while start < len(text):
        end = text.find("\n", start + FOLD_PIECE)
        end = len(text) if end < 0 else end + 1
        pieces.append(_fold_piece(text[start:end]))
        start = end
    return "".join(pieces)


def _fold_piece(text: str) -> str:
    for special, letter in _FOLD.items():
        if special in text:
            text = text.replace(special, letter)
    return text.lower()


# The strings the patterns analysed need, plain (False) and folded (True).
_KNOWN: Final[dict[bool, set[str]]] = {False: set(), True: set()}


def known(folded: bool) -> frozenset[str]:
    """Every string (folded or not) that a pattern analysed so far needs."""
    return frozenset(_KNOWN[folded])


def learn(patterns: Iterable[re.Pattern[str]]) -> None:
    """Analyse `patterns` now: a text's first scan then looks for their strings too."""
    for pattern in patterns:
        needs(pattern)


@cache
def needs(pattern: re.Pattern[str]) -> Needs:
    """The literals every match of `pattern` contains (nothing when they cannot be told)."""
    found = _needs(pattern)
    _KNOWN[found.folded].update(found.strings)
    return found


def _needs(pattern: re.Pattern[str]) -> Needs:
    try:
        tree = _parser.parse(pattern.pattern, pattern.flags)
        analysis = _Analysis()
        info = analysis.sequence(list(tree), pattern.flags | tree.state.flags)
    except Exception:  # whatever the parser makes of it, the pattern just runs
        return Needs()
    strings = info.need
    if strings is None or min(map(len, strings)) < MIN_LENGTH:
        return Needs()
    if analysis.folded:
        strings = frozenset(map(fold, strings))
    return Needs(strings, analysis.folded, info.one_line)


@dataclass(frozen=True, slots=True)
class _Info:
    """A node of the tree: the strings it matches (None: too many to list), strings one of
    which each match of it holds (None: none known), whether it reads no newline."""

    exact: frozenset[str] | None
    need: frozenset[str] | None
    one_line: bool


_EMPTY: Final = frozenset({""})


def _better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The set that rules out more: the longer shortest string, then fewer strings."""
    if b is None or "" in b:
        return a
    if a is None or "" in a:
        return b
    return a if (min(map(len, a)), -len(a)) >= (min(map(len, b)), -len(b)) else b


class _Analysis:
    def __init__(self) -> None:
        #: Some part of the pattern ignores case.
        self.folded = False

    def sequence(self, items: list[tuple[Any, Any]], flags: int) -> _Info:
        """Items in a row: runs of exact items join into longer strings."""
        run: frozenset[str] | None = _EMPTY
        best: frozenset[str] | None = None
        one_line = exact = True
        for op, av in items:
            info = self.node(op, av, flags)
            one_line = one_line and info.one_line
            best = _better(best, info.need)
            if info.exact is None:
                exact = False
                best, run = _better(best, run), _EMPTY
                continue
            joined = frozenset(a + b for a in run for b in info.exact) if run else None
            if joined is not None and len(joined) <= MAX_STRINGS:
                run = joined
            else:
                exact = False
                best, run = _better(best, run), info.exact
        best = _better(best, run)
        return _Info(run if exact else None, best, one_line)

    def node(self, op: Any, av: Any, flags: int) -> _Info:
        ignore_case = bool(flags & re.IGNORECASE)
        self.folded = self.folded or ignore_case
        if op is _c.LITERAL:
            char = chr(av)
            if not char.isascii():
                return _Info(None, None, char != "\n")
            text = frozenset({char.lower() if ignore_case else char})
            return _Info(text, text, char != "\n")
        if op is _c.NOT_LITERAL:
            return _Info(None, None, chr(av) == "\n")
        if op is _c.ANY:
            return _Info(None, None, not flags & re.DOTALL)
        if op is _c.IN:
            return self._class(av, ignore_case)
        if op is _c.AT:
            # The parser writes `$` as AT_END and `^` as AT_BEGINNING; MULTILINE makes them lines'.
            safe = av in _LINE_SAFE_AT or (av is _c.AT_END and bool(flags & re.MULTILINE))
            return _Info(_EMPTY, None, safe)
        if op is _c.ASSERT or op is _c.ASSERT_NOT:
            # What a lookaround reads is not part of the match: it needs nothing.
            return _Info(_EMPTY, None, self.sequence(list(av[1]), flags).one_line)
        if op is _c.SUBPATTERN:
            _group, add, remove, body = av
            return self.sequence(list(body), (flags | add) & ~remove)
        if op is getattr(_c, "ATOMIC_GROUP", None):
            return self.sequence(list(av), flags)
        if op is _c.BRANCH:
            return self._branch([self.sequence(list(b), flags) for b in av[1]])
        if op in _REPEATS:
            low, high, body = av
            inner = self.sequence(list(body), flags)
            if low == 0:
                optional = inner.exact | _EMPTY if high == 1 and inner.exact else None
                return _Info(optional, None, inner.one_line)
            return _Info(inner.exact if low == high == 1 else None, inner.need, inner.one_line)
        # Back references, conditionals: anything, anywhere.
        return _Info(None, None, False)

    def _class(self, items: list[tuple[Any, Any]], ignore_case: bool) -> _Info:
        """A character class: a few characters are literals; it reads a newline or not."""
        negated = any(op is _c.NEGATE for op, _ in items)
        chars: set[str] = set()
        small, newline = True, False
        for op, av in items:
            if op is _c.LITERAL:
                chars.add(chr(av))
            elif op is _c.RANGE:
                newline = newline or av[0] <= ord("\n") <= av[1]
                if av[1] - av[0] < MAX_CLASS:
                    chars.update(map(chr, range(av[0], av[1] + 1)))
                else:
                    small = False
            elif op is _c.CATEGORY:
                newline = newline or av in _NEWLINE_CATEGORIES
                small = False
            elif op is not _c.NEGATE:
                return _Info(None, None, False)
        newline = newline or "\n" in chars
        one_line = newline if negated else not newline
        if negated or not small or len(chars) > MAX_CLASS or not all(map(str.isascii, chars)):
            return _Info(None, None, one_line)
        found = frozenset(c.lower() for c in chars) if ignore_case else frozenset(chars)
        return _Info(found, found, one_line)

    @staticmethod
    def _branch(branches: list[_Info]) -> _Info:
        one_line = all(b.one_line for b in branches)
        exact: frozenset[str] | None = None
        if all(b.exact is not None for b in branches):
            exact = frozenset().union(*(b.exact or () for b in branches))
            exact = exact if len(exact) <= MAX_STRINGS else None
        need: frozenset[str] | None = None
        if all(b.need and "" not in b.need for b in branches):
            need = frozenset().union(*(b.need or () for b in branches))
        return _Info(exact, need, one_line)
