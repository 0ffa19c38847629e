"""What every tool shares: its console, JSON output, and exit codes."""

from __future__ import annotations

import json
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


def console(stream: TextIO | None = None) -> Console:
    """A rich console on `stream` (stdout); plain text when it is not a terminal."""
    from rich.console import Console

    return Console(file=stream or sys.stdout, highlight=False, soft_wrap=False)


def print_json(data: Any, stream: TextIO | None = None) -> None:
    """`data` as indented JSON on `stream` (stdout), for ``--json``."""
    out = stream or sys.stdout
    json.dump(data, out, indent=2, ensure_ascii=False, default=str)
    out.write("\n")
