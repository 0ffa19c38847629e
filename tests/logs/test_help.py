"""`httpconflict logs --help` names every format `--format` takes.

The help's description is where a user looks for whether their server's log
is read; a format missing there (`django`, read since its own --format
choice was added) reads as "not supported".
"""

from __future__ import annotations

import re

from tests.command_line import httpconflict


def test_the_description_names_every_format() -> None:
    """Each --format choice but auto appears in the description (any case)."""
    out = httpconflict("logs", "--help")
    assert out.returncode == 0, out.stderr
    choices = re.search(r"--format \{([^}]*)\}", out.stdout)
    assert choices is not None
    description = out.stdout.split("positional arguments:")[0].split("\n\n", 1)[1].lower()
    missing = [
        name for name in choices.group(1).split(",") if name != "auto" and name not in description
    ]
    assert missing == []
