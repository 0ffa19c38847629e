"""Every option a command's --help lists is on the page that documents the command.

A user reads service.md's option table or tools.md before --help; an option
added to the command and not to its page is one they never learn of
(`--changes-retention` was in `serve --help` and in the Limits table, never
in the option table).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.command_line import httpconflict

DOCS = Path(__file__).parent.parent / "docs"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def options_of(*command: str) -> set[str]:
    """The long options `httpconflict COMMAND --help` lists, --help itself aside."""
    out = httpconflict(*command, "--help")
    assert out.returncode == 0, out.stderr
    return set(OPTION.findall(out.stdout)) - {"--help"}


def test_every_serve_option_is_in_the_option_table() -> None:
    """service.md's first table (option, default, meaning) has a row for each option."""
    lines = (DOCS / "service.md").read_text().splitlines()
    rows = [line for line in lines if line.startswith("| `--")]
    documented = {option for row in rows for option in OPTION.findall(row.split(" | ")[0])}
    assert options_of("serve") - documented == set()


@pytest.mark.parametrize("tool", ["diagnose", "routes", "audit", "logs"])
def test_every_tool_option_is_in_tools_md(tool: str) -> None:
    """tools.md names each option of each tool (in its prose, a table or an example)."""
    documented = set(OPTION.findall((DOCS / "tools.md").read_text()))
    assert options_of(tool) - documented == set()
