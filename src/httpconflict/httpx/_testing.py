"""Testing mode: every client skips its waits, for tests that cannot pass a clock.

A client built deep inside the code under test waits for real between its
retries (up to its 30 s budget), and its test cannot hand it a
`VirtualClock`. ``set_testing(True)``, as stamina's function of that name
does, turns on a process-wide mode in which each operation of a client on
the system clock runs on a fresh `VirtualClock` instead: its waits are
skipped but still count as time passed, so a budget ends as it would have.
``attempts=`` also caps every operation's tries.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType


@dataclass(frozen=True, slots=True)
class TestingMode:
    """What testing mode changes: waits skipped, and at most `attempts` tries (None: no cap)."""

    attempts: int | None = None


_mode: TestingMode | None = None


class _Restore:
    """What `set_testing` returns: as a context manager, it puts back the mode it replaced."""

    def __init__(self, previous: TestingMode | None) -> None:
        self._previous = previous

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        global _mode
        _mode = self._previous


def set_testing(testing: bool, *, attempts: int | None = None) -> _Restore:
    """Turn testing mode on (or off) for every client in the process.

    On: the waits of every operation of a client on the system clock are
    skipped (they count as time passed, so a time budget still ends), and
    with `attempts`, no operation makes more tries than that. A client
    given its own clock keeps it. ``with set_testing(True): ...`` puts the
    previous mode back at the end of the block.
    """
    global _mode
    if attempts is not None and attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    previous = _mode
    _mode = TestingMode(attempts) if testing else None
    return _Restore(previous)


def is_testing() -> bool:
    """Whether testing mode is on."""
    return _mode is not None


def testing_mode() -> TestingMode | None:
    """The testing mode in force, or None."""
    return _mode
