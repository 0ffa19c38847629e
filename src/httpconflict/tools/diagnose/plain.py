"""Lines of a paste as their system printed them, when the paste wrapped them.

Theory of operation. A message often reaches the user inside another layer:
a Python repr in a task log (``IntegrityError('(1062, "Duplicate entry
\\'1\\' for key ...")')``), a JSON string inside another JSON string
(``"response":"{\\"error\\":...}"``), an editor or chat that curls quotes
(``Duplicate entry ‘a’ for key ‘b’``), an issue tracker that renders it
as HTML (``incorrect): <a href="#4762">Term#4762</a><br/>``), or a log that
read the UTF-8 of a server's own language as Latin-1 (``restricciÃ³n de
unicidad Â«x_pkeyÂ»``). The entries' patterns are written for the message
as its system prints it; rather than teach each of them every wrapping,
`plain_lines` gives each wrapped line once more unwrapped: one level of
``\\'`` and ``\\"`` unescaped, typographic quotes made ASCII, inline HTML
tags dropped, UTF-8 read as Latin-1 or as Windows-1252 (``â€œwebâ€\x9d``,
``Ã©``) read again as UTF-8. The evidence appends these
lines after the text (as it appends JSON bodies flattened), so what the
original lines say is found first, and the unwrapped JSON objects are read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

# Windows-1252's characters for the bytes 0x80-0x9F (where Latin-1 has control characters);
# the five bytes it leaves undefined stay U+0081, U+008D, U+008F, U+0090 and U+009D.
_CP1252_HIGH: Final = {
    char: byte
    for byte in range(0x80, 0xA0)
    if (char := bytes([byte]).decode("cp1252", "ignore") or chr(byte))
}
# A UTF-8 continuation byte (0x80-0xBF) as Latin-1 or Windows-1252 read it.
_CONTINUATION: Final = "[\u0080-\u00bf" + "".join(c for c in _CP1252_HIGH if c > "\u00bf") + "]"
# UTF-8 bytes read as Latin-1 or Windows-1252: a lead byte (Ã, Â, â...) and its
# continuation bytes ("Ã³" is "ó", "Â«" is "«", "â€œ" is "“"). Each alternative starts with
# its own range, so a run is read once. A right double quote read as Windows-1252 ends in
# the undefined 0x9D, which a copy often drops or shows as "\ufffd": "â€" not followed by a
# continuation byte is that quote.
_MOJIBAKE: Final = (
    f"(?:[\u00c2-\u00df]{_CONTINUATION}|[\u00e0-\u00ef]{_CONTINUATION}{{2}}"
    f"|[\u00f0-\u00f4]{_CONTINUATION}{{3}}|\u00e2\u20ac\ufffd?(?!{_CONTINUATION}))+"
)
# An escaped quote, a typographic quote, an inline HTML tag (not XML: only these names), or
# UTF-8 read as Latin-1 or Windows-1252.
_WRAPPED: Final = re.compile(
    r"""\\['"]|[‘’“”]|</?(?:a|p|br|span|code|pre|tt|b|i|em|strong)\b[^<>\n]*>|"""
    # (case-sensitive: Ã's lower case is ã, a lead byte too)
    + f"(?-i:{_MOJIBAKE})",
    re.IGNORECASE,
)
_MOJIBAKE_RUN: Final = re.compile(_MOJIBAKE)
_LOST_QUOTE_END: Final = re.compile(f"\u00e2\u20ac\ufffd?(?!{_CONTINUATION})")
_ESCAPED_QUOTE: Final = re.compile(r"""\\(['"])""")
_INLINE_TAG: Final = re.compile(
    r"</?(?:a|p|br|span|code|pre|tt|b|i|em|strong)\b[^<>\n]*>", re.IGNORECASE
)
_TYPOGRAPHIC: Final = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def plain_lines(text: str) -> str:
    """The lines of `text` that hold a wrapped quote or an inline tag, unwrapped (or "")."""
    return "\n".join(line for _, line in wrapped_lines(text))


def wrapped_lines(text: str) -> list[tuple[int, str]]:
    """Each line of `text` that holds a wrapped quote, an inline tag or a run of spaces
    between words, and each sentence a line break cut: where it starts, and the line
    unwrapped (its spaces one each; the sentence joined)."""
    lines = [(start, unwrap(line)) for start, line in _lines_holding(_WRAPPED, text)]
    lines.extend(_cut_sentences(text))
    return sorted(lines)


def _lines_holding(pattern: re.Pattern[str], text: str) -> Iterator[tuple[int, str]]:
    """Each line of `text` where `pattern` matches (once, however often), and where it starts;
    a match across lines gives the lines it spans, as one text."""
    after = -1
    for found in pattern.finditer(text):
        if found.start() < after:
            continue  # this line is done
        start = text.rfind("\n", 0, found.start()) + 1
        end = text.find("\n", found.end())
        after = len(text) if end < 0 else end
        yield start, text[start:after]


def _cut_sentences(text: str) -> list[tuple[int, str]]:
    """Lines whose words stand apart by several spaces, and lines a terminal or a mail
    wrapped inside a sentence (a word, a break, a word in lower case), each made one line
    with single spaces: ``Deadlock found when trying to get`` + ``lock; try restarting``."""
    found = [
        (start, unwrap(_RUN_OF_SPACES.sub(" ", line.strip().replace("\n", " "))))
        for pattern in (_SPACED, _SENTENCE_CUT)
        for start, line in _lines_holding(pattern, text)
    ]
    return list(dict.fromkeys(found))


#: Words on one line set apart by two spaces or more (not an indentation).
_SPACED: Final = re.compile(r"[^\s]  +(?=[^\s])")
_RUN_OF_SPACES: Final = re.compile(r" {2,}")
#: A line ending inside a sentence: a letter or a comma, the break, a word in lower case.
#: Lines of a sentence are short; a log's lines are not joined past this length.
_SENTENCE_CUT: Final = re.compile(r"(?m)^[^\n]{0,300}[a-z,]\n(?=[a-z][a-z]+\b[^\n]{0,300}$)")


def unwrap(line: str) -> str:
    """`line` with one level of quote escapes removed, quotes made ASCII, inline tags dropped
    and UTF-8 read as Latin-1 or Windows-1252 read again."""
    line = _MOJIBAKE_RUN.sub(_utf8_again, _INLINE_TAG.sub("", line))
    return _ESCAPED_QUOTE.sub(r"\1", line).translate(_TYPOGRAPHIC)


def _utf8_again(run: re.Match[str]) -> str:
    """A run of UTF-8 bytes read as Latin-1 or Windows-1252, read as UTF-8 (kept as it is if
    it is not UTF-8)."""
    # The right double quote whose last byte was lost (above) gets it back.
    text = _LOST_QUOTE_END.sub("\u00e2\u20ac\u009d", run.group())
    data = bytes(_CP1252_HIGH.get(char, ord(char)) for char in text)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return run.group()
