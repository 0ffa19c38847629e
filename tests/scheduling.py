"""Longest modules first, when the suite runs on several workers (`make test`: pytest -n).

pytest-xdist (``--dist loadscope``) gives each worker a whole module at a
time, in the order the workers collected them. A long module that comes
last runs alone at the end while the other workers wait, so the workers
order the modules by how long each took the last time (kept in pytest's
cache by the run that measured them), longest first. A fresh clone (CI)
has no cache: there the seconds of a recorded run count
(tests/module_seconds.json; ``python -m tests.scheduling`` writes the
cache's into it). Without them the fresh clone took its longest modules
(the fuzzer, 115 s; the key stores' contract, 122 s; the browser tests,
26-59 s each) in the order it found them, the browser tests last of all.
A module neither knows counts as long if it holds a test marked ``slow``.
Within a module nothing moves. A run on one worker keeps the usual order.

A package whose modules share what its conftest starts (tests/web: one
Chromium and its services, package-scoped) goes to one worker whole
(`SHARED_PACKAGES`, `PackageScheduling`), as one long unit: spread over
workers, each would start them again (tests/web took 39 CPU-s in one
process, 57 as separate modules).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Final

import pytest
from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

CACHE_KEY = "httpconflict/module-seconds"
#: What a module the cache does not know is taken to last: slow-marked, or not.
UNKNOWN_SLOW = 20.0
UNKNOWN = 0.0
#: The seconds each module took in a recorded run of the whole suite.
RECORDED = Path(__file__).with_name("module_seconds.json")


def recorded() -> dict[str, float]:
    """The recorded run's seconds by module (none if the file is missing)."""
    try:
        seconds: dict[str, float] = json.loads(RECORDED.read_text())
    except FileNotFoundError:
        return {}
    return seconds


def known_seconds(cached: dict[str, float]) -> dict[str, float]:
    """Each module's seconds: as pytest's cache has them, else as the recorded run had them."""
    return {**recorded(), **cached}


#: Packages whose modules run on one worker, one after another.
SHARED_PACKAGES: Final = ("tests/web/",)


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def shared_package(nodeid: str) -> str | None:
    """The package of `SHARED_PACKAGES` that holds the test, if any."""
    return next((p.rstrip("/") for p in SHARED_PACKAGES if nodeid.startswith(p)), None)


def unit_of(nodeid: str) -> str:
    """What goes to one worker whole: a shared package, else the module."""
    return shared_package(nodeid) or module_of(nodeid)


class PackageScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """pytest-xdist's ``loadscope``, with each of `SHARED_PACKAGES` one scope."""

    def _split_scope(self, nodeid: str) -> str:
        return shared_package(nodeid) or super()._split_scope(nodeid)


def longest_first(items: list[pytest.Item], seconds: dict[str, float]) -> list[pytest.Item]:
    """`items` with their modules in order of `seconds` (longest first), each module whole."""
    guess: dict[str, float] = {}
    for item in items:
        module = module_of(item.nodeid)
        slow = UNKNOWN_SLOW if item.get_closest_marker("slow") else UNKNOWN
        guess[module] = max(guess.get(module, UNKNOWN), seconds.get(module, slow))
    units: dict[str, float] = defaultdict(float)
    for module, guessed in guess.items():
        units[unit_of(module)] += guessed
    return sorted(items, key=lambda item: -units[unit_of(item.nodeid)])


class Timings:
    """The seconds each module's tests took (set-up, call and tear-down), as reports come in."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def add(self, report: pytest.TestReport) -> None:
        self.seconds[module_of(report.nodeid)] += report.duration

    def merged(self, known: dict[str, float]) -> dict[str, float]:
        """What the cache knew, with the modules that ran now measured again."""
        return {**known, **{module: round(s, 2) for module, s in self.seconds.items()}}


def main() -> None:
    """Write the seconds of the modules that pytest's cache knows into `RECORDED`."""
    cached = RECORDED.parent.parent / ".pytest_cache" / "v" / CACHE_KEY  # pytest's own layout
    if not cached.exists():
        raise SystemExit(f"no {cached}: run the suite on several workers (make test) first")
    known: dict[str, float] = json.loads(cached.read_text())
    seconds = {module: round(s) for module, s in sorted(known.items()) if round(s) >= 1}
    RECORDED.write_text(json.dumps(seconds, indent=0, sort_keys=True) + "\n")
    print(f"{RECORDED}: {len(seconds)} modules, {sum(seconds.values())} s")


if __name__ == "__main__":
    main()
