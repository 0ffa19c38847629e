"""Lines too long to read whole: a minified body, a base64 blob, a log dumped on one line.

Theory of operation. The knowledge base's regexes each run on every line
that holds a string they need, and each of the strings (about a thousand)
is looked for in the whole text (`subject.Subject`): the cost of a line is
its length times the patterns that may match it, and a line of 20 MB took
half a minute, one of 50 MB more than a minute. A message is a few
hundred characters at a line's start or end (a log line's prefix, then the
error; a body, then the message), so a line longer than `LONGEST` is read
as its first and last `LONGEST // 2` characters, with a marker between
them, and a sentence says how much of which line was not read. Reading
stays linear in the input, whatever the shape of its lines.
"""

from __future__ import annotations

from typing import Final

#: The longest line read whole, in characters.
LONGEST: Final = 1_000_000
#: Put where a line's middle was cut out (no newline: the line stays one line).
MARKER: Final = " [...] "
#: The cut lines named by number.
SHOWN: Final = 5


def shortened(text: str, longest: int = LONGEST) -> tuple[str, str | None]:
    """`text` with each line longer than `longest` cut to its head and tail, and a sentence
    naming the lines cut (None when none was)."""
    if len(text) <= longest:
        return text, None
    half = longest // 2
    parts: list[str] = []
    cut_lines: list[int] = []
    cut_chars = start = done = 0
    while len(text) - start > longest:
        # The last line end within a long line's length: the lines up to it are short.
        newline = text.rfind("\n", start, start + longest + 1)
        if newline >= 0:
            start = newline + 1
            continue
        end = text.find("\n", start + longest)
        end = len(text) if end < 0 else end
        parts.extend((text[done : start + half], MARKER))
        done = end - half
        if len(cut_lines) < SHOWN:
            cut_lines.append(text.count("\n", 0, start) + 1)
        else:
            cut_lines.append(0)
        cut_chars += end - start - 2 * half
        start = end + 1
    if not cut_lines:
        return text, None
    parts.append(text[done:])
    shown = ", ".join(f"{n:,}" for n in cut_lines[:SHOWN])
    more = ", ..." if len(cut_lines) > SHOWN else ""
    note = (
        f"{len(cut_lines):,} line(s) longer than {longest:,} characters (line {shown}{more}) "
        f"were read as their first and last {half:,} characters: {cut_chars:,} characters "
        "in their middle were not read"
    )
    return "".join(parts), note
