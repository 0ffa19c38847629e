"""Every Python block in the docs runs, in order, one namespace per page."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PAGES = sorted(p for p in DOCS.glob("*.md") if BLOCK.search(p.read_text()))


def test_there_are_pages_with_code() -> None:
    """The glob finds the library page, so this file is not silently empty."""
    assert "library.md" in {p.name for p in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_blocks_run(page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each page's code blocks execute without error."""
    # A real module, so that what looks classes up by their module (SQLAlchemy
    # resolving `Mapped[...]`, pickle) finds the page's namespace.
    module = types.ModuleType(f"docs_{page.stem}")
    sys.modules[module.__name__] = module
    try:
        for number, block in enumerate(BLOCK.findall(page.read_text()), 1):
            code = compile(block, f"{page.name}#block{number}", "exec")
            exec(code, module.__dict__)  # noqa: S102  # the docs are ours; running them is the point
    finally:
        del sys.modules[module.__name__]
