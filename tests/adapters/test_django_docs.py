"""docs/django.md shows code the tests run: each ``py`` block is in the file it names.

The page's blocks are not executed by tests/test_docs.py (Django's
settings are configured once per process, and the test process has
its own); they are copied from the example app and the test project,
which run as servers. This keeps the copies from drifting.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "django.md"
# "From [path](link):", a blank line, then the block.
SOURCED = re.compile(r"From\s+\[([^\]]+)\]\([^)]*\):\n\n```py\n(.*?)^```", re.S | re.M)


# What the page may leave out: indentation, and mypy's pragmas for Django's missing types.
PRAGMA = re.compile(r"\s*# type: ignore\[[\w-]+\].*$")


def stripped_lines(text: str) -> list[str]:
    return [PRAGMA.sub("", line).strip() for line in text.splitlines()]


def test_every_py_block_names_its_source() -> None:
    """Each py block of the page follows a "From [file](...):" line, or is a whole file.

    A whole file (its first line ``# <path>.py``) is served from the page
    itself by tests/test_docs_served.py.
    """
    text = PAGE.read_text()
    blocks = re.findall(r"^```py\n(.*?)^```", text, re.S | re.M)
    parts = [b for b in blocks if not re.match(r"# [\w./-]+\.py\n", b)]
    assert len(parts) == len(SOURCED.findall(text)) >= 6
    assert len(blocks) - len(parts) >= 6  # the whole project's files


def test_every_block_is_in_its_source() -> None:
    """The code shown is the code run, line for line (indentation and pragmas aside)."""
    for source, block in SOURCED.findall(PAGE.read_text()):
        code, shown = stripped_lines((ROOT / source).read_text()), stripped_lines(block)
        found = any(code[i : i + len(shown)] == shown for i in range(len(code)))
        assert found, f"{source} no longer holds:\n{block}"
