"""Longest modules first, when the suite runs on several workers (`make test`: pytest -n).

pytest-xdist (``--dist loadscope``) gives each worker a whole module at a
time, in the order the workers collected them. A long module that comes
last runs alone at the end while the other workers wait, so the workers
order the modules by how long each took the last time (kept in pytest's
cache by the run that measured them), longest first. A module the cache
does not know yet counts as long if it holds a test marked ``slow``.
Within a module nothing moves. A run on one worker keeps the usual order.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

CACHE_KEY = "httpconflict/module-seconds"
#: What a module the cache does not know is taken to last: slow-marked, or not.
UNKNOWN_SLOW = 60.0
UNKNOWN = 0.0


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def longest_first(items: list[pytest.Item], seconds: dict[str, float]) -> list[pytest.Item]:
    """`items` with their modules in order of `seconds` (longest first), each module whole."""
    guess: dict[str, float] = {}
    for item in items:
        module = module_of(item.nodeid)
        slow = UNKNOWN_SLOW if item.get_closest_marker("slow") else UNKNOWN
        guess[module] = max(guess.get(module, UNKNOWN), seconds.get(module, slow))
    return sorted(items, key=lambda item: -guess[module_of(item.nodeid)])


class Timings:
    """The seconds each module's tests took (set-up, call and tear-down), as reports come in."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def add(self, report: pytest.TestReport) -> None:
        self.seconds[module_of(report.nodeid)] += report.duration

    def merged(self, known: dict[str, float]) -> dict[str, float]:
        """What the cache knew, with the modules that ran now measured again."""
        return {**known, **{module: round(s, 2) for module, s in self.seconds.items()}}
