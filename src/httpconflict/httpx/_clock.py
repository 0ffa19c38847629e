"""Time for the client drivers: the system's, or a virtual one for tests that never sleeps."""

from __future__ import annotations

import time
from typing import Protocol

import anyio
import anyio.lowlevel


class Clock(Protocol):
    """What a driver needs of time: two clocks and a way to wait."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for the time budget)."""
        ...

    def time(self) -> float:
        """Seconds since the epoch (for Retry-After dates when an answer has no Date)."""
        ...

    def sleep(self, seconds: float) -> None: ...

    async def asleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clocks; waiting blocks the thread (`sleep`) or the task (`asleep`, any
    event loop httpx runs on: asyncio or trio)."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class VirtualClock:
    """A clock for tests: it never sleeps, records each wait in `slept`, and moves on by it.

    Its time is the real time plus every wait it skipped, so a time budget
    runs out as it would have, without the test waiting. `asleep` still
    lets other tasks run, as a real wait would.
    """

    def __init__(self) -> None:
        self.slept: list[float] = []
        self._skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self._skipped

    def time(self) -> float:
        return time.time() + self._skipped

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._skipped += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await anyio.lowlevel.checkpoint()
