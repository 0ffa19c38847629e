"""Lines of a paste as their system printed them, when the paste wrapped them.

Theory of operation. A message often reaches the user inside another layer:
a Python repr in a task log (``IntegrityError('(1062, "Duplicate entry
\\'1\\' for key ...")')``), a JSON string inside another JSON string
(``"response":"{\\"error\\":...}"``), an editor or chat that curls quotes
(``Duplicate entry ‘a’ for key ‘b’``), or an issue tracker that renders it
as HTML (``incorrect): <a href="#4762">Term#4762</a><br/>``). The entries'
patterns are written for the message as its system prints it; rather than
teach each of them every wrapping, `plain_lines` gives each wrapped line
once more unwrapped: one level of ``\\'`` and ``\\"`` unescaped, typographic
quotes made ASCII, inline HTML tags dropped. The evidence appends these
lines after the text (as it appends JSON bodies flattened), so what the
original lines say is found first, and the unwrapped JSON objects are read.
"""

from __future__ import annotations

import re
from typing import Final

# An escaped quote, a typographic quote, or an inline HTML tag (not XML: only these names).
_WRAPPED: Final = re.compile(
    r"""\\['"]|[‘’“”]|</?(?:a|p|br|span|code|pre|tt|b|i|em|strong)\b[^<>\n]*>""",
    re.IGNORECASE,
)
_ESCAPED_QUOTE: Final = re.compile(r"""\\(['"])""")
_INLINE_TAG: Final = re.compile(
    r"</?(?:a|p|br|span|code|pre|tt|b|i|em|strong)\b[^<>\n]*>", re.IGNORECASE
)
_TYPOGRAPHIC: Final = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def plain_lines(text: str) -> str:
    """The lines of `text` that hold a wrapped quote or an inline tag, unwrapped (or "")."""
    return "\n".join(line for _, line in wrapped_lines(text))


def wrapped_lines(text: str) -> list[tuple[int, str]]:
    """Each line of `text` that holds a wrapped quote or an inline tag: where it starts, and
    the line unwrapped."""
    lines: list[tuple[int, str]] = []
    after = -1
    for found in _WRAPPED.finditer(text):
        if found.start() < after:
            continue  # this line is done
        start = text.rfind("\n", 0, found.start()) + 1
        end = text.find("\n", found.end())
        after = len(text) if end < 0 else end
        lines.append((start, unwrap(text[start:after])))
    return lines


def unwrap(line: str) -> str:
    """`line` with one level of quote escapes removed, quotes made ASCII and inline tags dropped."""
    line = _INLINE_TAG.sub("", line)
    return _ESCAPED_QUOTE.sub(r"\1", line).translate(_TYPOGRAPHIC)
