"""What every tool shares: its console, JSON output, and exit codes."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any, Final, TextIO

if TYPE_CHECKING:
    from rich.console import Console

#: All is well.
OK: Final = 0
#: The tool found a problem (diagnose: it did not recognise its input).
FOUND: Final = 1
#: Bad usage (argparse's own code).
USAGE: Final = 2
#: The tool could not do its job (unreadable input, unreachable server).
FAILED: Final = 3


# What a terminal acts on or a reader cannot see: C0 controls but tab and line feed (ESC
# starts the sequences that set a window's title or write the clipboard: OSC 52), DEL,
# C1 controls (0x9b is a CSI of its own), and the marks that reorder text (bidi overrides).
_UNSEEN: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def visible(text: str) -> str:
    """`text` with what a terminal would act on, or hide, written out as escapes (``\\x1b``).

    For every text a tool shows that came from its input (a pasted message,
    a log's path, an app's route): what it prints must not drive the terminal.
    """
    return _UNSEEN.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def console(stream: TextIO | None = None) -> Console:
    """A rich console on `stream` (stdout); plain text when it is not a terminal.

    A reader that goes away (``| head``) raises `BrokenPipeError` out of it,
    as from every other write of the tools, which the command line answers
    with exit 3: rich's own answer is exit 1, which the tools give to findings.
    """
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return _Console(file=stream or sys.stdout, highlight=False, soft_wrap=False)


def print_json(data: Any, stream: TextIO | None = None) -> None:
    """`data` as indented JSON on `stream` (stdout), for ``--json``.

    JSON escapes only C0 controls in a string; DEL, C1 controls (0x9b: a CSI)
    and the bidi marks `visible` writes out would reach a terminal reading
    ``--json`` as they are, from a log's path or a pasted message. They go out
    as ``\\u`` escapes: the same JSON value to a program, nothing to a terminal.
    """
    out = stream or sys.stdout
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    out.write(_UNSEEN.sub(_json_escaped, text))
    out.write("\n")


def _json_escaped(match: re.Match[str]) -> str:
    # Only inside strings: no such character is JSON's whitespace or punctuation.
    return f"\\u{ord(match.group()):04x}"
