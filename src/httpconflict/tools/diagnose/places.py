"""Where each part of the evidence's text was in the paste, as a line of the paste.

Theory of operation. The evidence's text is the paste, then its wrapped lines
unwrapped, then its JSON objects flattened (`evidence.read`). A match in the
appended parts is put back where it was read from: an unwrapped line at its
own line, a flattened ``path: value`` line at its object's first line. So a
detail can be told by how far it is from the message that is the conflict, in
lines of the paste (`matching` takes the nearest), wherever it was read.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate


class Places:
    """Maps an index of the evidence's text to an index of the paste, and that to its line."""

    def __init__(
        self,
        pasted: str,
        appended: Sequence[tuple[int, int]] = (),
        starts: frozenset[int] = frozenset(),
    ) -> None:
        #: The paste's length: indexes below it are the paste's own.
        self._pasted = len(pasted)
        self._text = pasted
        # (index in the evidence's text where an appended piece starts, its place in the paste)
        self._starts = [start for start, _ in appended]
        self._origins = [origin for _, origin in appended]
        self._lines: array[int] | None = None
        #: Lines that start a record whatever their text (a JSON log line's message, its rest).
        self.starts = starts

    def place(self, at: int) -> int:
        """The index in the paste of what the evidence's text holds at `at`."""
        if at <= self._pasted or not self._starts:
            return min(at, self._pasted)
        piece = bisect_right(self._starts, at) - 1
        return self._origins[piece] if piece >= 0 else self._pasted

    def line(self, at: int) -> int:
        """The line (from 0) of the paste that `at`, an index of the evidence's text, is on."""
        return bisect_right(self._starts_of_lines(), self.place(at))

    @property
    def lines(self) -> int:
        """How many lines the paste has."""
        return len(self._starts_of_lines()) + 1

    def start_of(self, line: int) -> int:
        """The index in the paste where its `line` (from 0) starts."""
        return self._starts_of_lines()[line - 1] if line > 0 else 0

    def text_of(self, line: int) -> str:
        """The text of the paste's `line` (from 0), without its newline."""
        starts = self._starts_of_lines()
        start = starts[line - 1] if line > 0 else 0
        return self._text[start : starts[line] - 1 if line < len(starts) else len(self._text)]

    def _starts_of_lines(self) -> array[int]:
        """Where each line after the first starts (found once per paste, in C: a Python loop
        over the newlines of a log of blank lines cost seconds)."""
        if self._lines is None:
            lengths = map(len, self._text.split("\n")[:-1])
            self._lines = array("q", accumulate(map((1).__add__, lengths)))
        return self._lines
