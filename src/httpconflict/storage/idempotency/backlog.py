"""Store writes owed after a request was answered, retried in the background until done.

Theory of operation: a request that has run sends its answer whatever the
key store says (see `httpconflict._idempotency`, `Defer`); the write it
still owes the store (recording that answer, releasing a claim) goes into a
`Backlog`. One worker task per backlog, on the event loop the store runs on,
makes the writes one at a time, earliest due first. A write ends when the
store answers it (`attempt()` returns True), or when it is no longer worth
making (its `within` seconds have passed: the answer or claim would have
expired by then anyway). While the store is `Unavailable`, the worker waits
between attempts, from `FIRST_WAIT` doubling up to `MAX_WAIT`, so a store
that is down gets about one attempt a second however long the backlog; once
an attempt succeeds, the rest follow at once. An attempt may also return
False: answered, but it wants another look in `again_after` seconds (a
release that must be sure a late claim has not landed since).

Keep the lease well above `MAX_WAIT`: after Redis loses its keys, new claims
wait one lease (the quarantine) so that the backlog can record first.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from ..._errors import Unavailable

__all__ = [
    "Backlog",
]

FIRST_WAIT: Final = 0.05
MAX_WAIT: Final = 1.0

log = logging.getLogger("httpconflict.idempotency")

#: One write: True once done, False to look again later; raises `Unavailable`.
Attempt = Callable[[], Awaitable[bool]]


@dataclass(order=True, slots=True)
class _Write:
    due: float
    order: int
    attempt: Attempt = field(compare=False)
    deadline: float = field(compare=False)
    what: str = field(compare=False)
    again_after: float = field(compare=False)
    tries: int = field(default=0, compare=False)


class Backlog:
    """Writes owed to a store, made in the background on one event loop (not thread-safe).

    `add` must be called on that loop; the worker starts on the first write.
    """

    def __init__(self) -> None:
        self._writes: list[_Write] = []
        self._order = itertools.count()
        self._worker: asyncio.Task[None] | None = None
        self._added = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def __len__(self) -> int:
        return len(self._writes)

    def add(self, attempt: Attempt, *, within: float, what: str, again_after: float = 1.0) -> None:
        """Make `attempt` until it returns True, for at most `within` seconds from now."""
        now = time.monotonic()
        write = _Write(now, next(self._order), attempt, now + within, what, again_after)
        heapq.heappush(self._writes, write)
        self._idle.clear()
        self._added.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(
                self._work(), name="httpconflict-idempotency-backlog"
            )

    async def drain(self, within: float) -> int:
        """Wait up to `within` seconds for the backlog to empty; how many writes are left."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._idle.wait()
        return len(self._writes)

    def cancel(self) -> None:
        """Stop for good: the writes left are dropped (and logged)."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        for write in self._writes:
            log.warning("gave up: %s (the store was closed)", write.what)
        self._writes.clear()
        self._idle.set()

    async def _work(self) -> None:
        wait = FIRST_WAIT
        while self._writes:
            write = self._writes[0]
            now = time.monotonic()
            if write.deadline <= now:
                heapq.heappop(self._writes)
                log.warning("gave up after %d attempts: %s", write.tries, write.what)
                continue
            if write.due > now:
                self._added.clear()
                # Sleep until it is due, or until a new write (due now) comes in.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(write.due - now):
                        await self._added.wait()
                continue
            heapq.heappop(self._writes)
            write.tries += 1
            try:
                done = await write.attempt()
            except Unavailable:
                write.due = time.monotonic() + wait
                heapq.heappush(self._writes, write)
                await asyncio.sleep(wait)
                wait = min(wait * 2, MAX_WAIT)
                continue
            except Exception:  # a bug or a closed store: this write cannot succeed
                log.exception("gave up: %s", write.what)
                continue
            wait = FIRST_WAIT
            if done:
                log.info("done after %d attempts: %s", write.tries, write.what)
                continue
            write.due = time.monotonic() + write.again_after
            heapq.heappush(self._writes, write)
        self._idle.set()
