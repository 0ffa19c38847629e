"""The claims of requests running on other threads, renewed by one task on the store's loop.

The WSGI middleware runs each request on a thread of its own and its store
on a loop thread (`BlockingIdempotencyStore`). A task per request to renew
its claim would cost two calls across to that loop (start it, cancel it),
as much as a third of what the middleware's store calls cost, for the
almost every request that ends before its first renewal is due. Holding a
claim here costs a lock and a dict entry instead: one task on the loop
wakes every half of the shortest period held so far, and renews each claim
held a period since it was claimed or last renewed. A renewal the store
could not make (`Unavailable`) is tried again a period later; one that
finds the claim gone (False) is the last for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from ..._errors import Unavailable
from .._opening import reset_after_fork
from ._renewal import Renewal

__all__ = ["HeldClaims"]


@dataclass
class _Held:
    renew: Renewal
    period: float
    due: float  # time.monotonic() of its next renewal
    gone: bool = False


class HeldClaims:
    """Claims held while their requests run; see the module's docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[int, _Held] = {}
        self._ids = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tick: float | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        reset_after_fork(self)

    def after_fork(self) -> object:
        """In a forked child: none of the parent's requests runs here; its loop is gone."""
        inherited = (self._held, self._tasks)
        self._lock = threading.Lock()
        self._held, self._tasks = {}, set()
        self._loop = self._tick = self._wake = None
        return inherited

    @contextlib.contextmanager
    def holding(
        self, loop: asyncio.AbstractEventLoop, renew: Renewal, period: float
    ) -> Iterator[None]:
        """Renew a claim every `period` seconds, on `loop`, while the block runs."""
        ident = next(self._ids)
        with self._lock:
            self._held[ident] = _Held(renew, period, time.monotonic() + period)
            start = loop is not self._loop
            sooner = self._tick is None or period / 2 < self._tick
            if start:
                self._loop = loop
            if sooner:
                self._tick = period / 2
        if start:
            loop.call_soon_threadsafe(self._start)
        elif sooner:
            loop.call_soon_threadsafe(self._kick)
        try:
            yield
        finally:
            with self._lock:
                del self._held[ident]

    async def stop(self) -> None:
        """End the renewals and the task that makes them (the store is closing)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self) -> None:
        self._wake = asyncio.Event()
        self._spawn(self._scan())

    def _kick(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _scan(self) -> None:
        wake = self._wake
        assert wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._tick)
            wake.clear()
            now = time.monotonic()
            with self._lock:
                due = [held for held in self._held.values() if held.due <= now and not held.gone]
                for held in due:
                    held.due = now + held.period
            for held in due:
                self._spawn(self._renew(held))

    async def _renew(self, held: _Held) -> None:
        try:
            kept = await held.renew(time.time())
        except Unavailable:
            return  # tried again when it is next due
        if kept is False:
            held.gone = True
