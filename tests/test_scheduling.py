"""The order a parallel run takes the modules in: longest first, also on a fresh clone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from tests.scheduling import (
    RECORDED,
    UNKNOWN_SLOW,
    known_seconds,
    longest_first,
    recorded,
    unit_of,
)

FUZZ = "tests/service/test_fuzz.py"
#: The longest module of the recorded run.
LONGEST = max(recorded(), key=lambda module: recorded()[module])


@dataclass(frozen=True)
class Item:
    """What `longest_first` reads of a collected test."""

    nodeid: str
    slow: bool = False

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "slow" and self.slow else None


def ordered(items: list[Item], cached: dict[str, float]) -> list[str]:
    taken = longest_first(cast("list[pytest.Item]", items), known_seconds(cached))
    return [item.nodeid for item in taken]


def test_a_fresh_clone_takes_the_longest_recorded_module_first() -> None:
    """Without pytest's cache, the recorded seconds order the modules, before the slow marks."""
    items = [
        Item("tests/test_etag.py::test_a"),
        Item("tests/not_recorded.py::test_b", slow=True),
        Item(LONGEST + "::test_c"),
        Item("tests/test_etag.py::test_d"),
    ]
    assert recorded()[LONGEST] > UNKNOWN_SLOW
    assert ordered(items, {}) == [
        LONGEST + "::test_c",
        "tests/not_recorded.py::test_b",
        "tests/test_etag.py::test_a",
        "tests/test_etag.py::test_d",
    ]


def test_the_cache_of_an_earlier_run_wins_over_the_recording() -> None:
    """A module pytest's cache measured counts as measured there."""
    items = [Item(FUZZ + "::test_c"), Item("tests/test_etag.py::test_a")]
    cached = {FUZZ: 1.0, "tests/test_etag.py": 2.0}
    assert ordered(items, cached) == ["tests/test_etag.py::test_a", FUZZ + "::test_c"]


def test_the_recording_names_modules_of_the_suite() -> None:
    """Each recorded module exists (`python -m tests.scheduling` writes a new recording)."""
    root = RECORDED.parent.parent
    assert [m for m in recorded() if not (root / Path(m)).is_file()] == []


def test_a_shared_package_goes_first_as_one_unit() -> None:
    """tests/web's modules count together, so the package is taken early, each module whole."""
    web = ["tests/web/test_editor.py", "tests/web/test_editor_live.py"]
    items = [
        Item(web[0] + "::test_a"),
        Item(web[0] + "::test_b"),
        Item("tests/test_etag.py::test_c"),
        Item(web[1] + "::test_d"),
    ]
    cached = {web[0]: 30.0, web[1]: 30.0, "tests/test_etag.py": 50.0}
    assert ordered(items, cached) == [
        web[0] + "::test_a",
        web[0] + "::test_b",
        web[1] + "::test_d",
        "tests/test_etag.py::test_c",
    ]
    assert unit_of(web[1] + "::test_c") == "tests/web"
    assert unit_of("tests/service/test_fuzz.py::test_e") == "tests/service/test_fuzz.py"
