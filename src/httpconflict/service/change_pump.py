"""The change pump: one reader of the database's change feed per worker, shared by its watchers.

Theory of operation: a worker runs one `ChangePump` per store, from the
first feed request on, for as long as anyone watches (and `IDLE` seconds
more). It polls the store's `ChangeFeed` every `INTERVAL` seconds, at once
after a write this worker committed, and without pause while it is
catching up; each poll returns the changes newly resolved (every seq up to
the watermark W is final: see `storage._changes`). It keeps the last
`RING` of them, of every collection, in a ring: every change with
``floor < seq <= W`` is there.

A poll that skipped a seq (one rolled back, or a change the retention
purge deleted before this pump polled it) at or below the horizon raises
the ring's floor to it: a watcher behind it reads the database, and gets
its 410, instead of going past the purged change with no word.

A watcher holds only its cursor (the seq up to which it has been sent
everything of its collection). Caught up, it takes its next changes from
the ring; behind the ring's floor, it reads pages from the database, in
(cursor, W], which are final. A watcher that does not read its socket
stops in its send (the server's flow control) holding one page at most:
the pump never queues anything for it, so a slow consumer costs a cursor
(and one that takes nothing for the body timeout is cut: `protocol`).

Through a database outage the poll fails: the pump retries with a backoff
(up to `MAX_BACKOFF`), W stays where it was (watchers send heartbeats with
it), and it carries on from W when the database is back. A write this
worker committed, or a feed request that has just read the database
(`ChangePump.reach`), cuts the backoff short: the database answers again,
and a W from before the outage must not stand for what is committed now. A pump left idle
longer than `IDLE` stops; the next request starts a fresh feed from the
newest change (the ring starts empty, and a watcher behind it reads the
database).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Final

from .. import Unavailable
from ..incidents import describe
from ..storage import Change, ChangeFeed, DocumentStore

log = logging.getLogger("httpconflict")

#: Seconds between two polls while someone watches (a local write wakes it sooner).
INTERVAL: Final = 0.05
#: Changes kept in memory, of every collection.
RING: Final = 4096
#: Changes read per poll.
PAGE: Final = 1000
#: Seconds the pump goes on polling after its last watcher left.
IDLE: Final = 30.0
#: The longest pause between two polls while the database fails, in seconds.
MAX_BACKOFF: Final = 2.0
#: Seconds a request waits for a new pump's first poll before its 503.
START_WAIT: Final = 5.0
#: Seconds a feed request waits at most for the pump to reach the changes
#: committed when it came (a transaction holding an earlier seq open delays it).
REACH_WAIT: Final = 1.0


class ChangePump:
    """Polls a store's change feed for this worker's watchers (see the module's docstring)."""

    def __init__(
        self,
        store: DocumentStore,
        *,
        ring: int = RING,
        interval: float = INTERVAL,
        idle: float = IDLE,
    ) -> None:
        self._store = store
        self._ring_size = ring
        self._interval = interval
        self._idle = idle
        self._feed: ChangeFeed | None = None
        self._watermark: int | None = None
        #: Every change with floor < seq <= watermark is in the ring.
        self._floor = 0
        self._seqs: list[int] = []
        self._ring: list[Change] = []
        self._advanced = asyncio.Event()
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._users = 0
        self._left_at = time.monotonic()
        self._failure: BaseException | None = None
        #: Polls begun, and the number of the last one that failed.
        self._polls = 0
        self._failed_poll = 0
        store.notify_writes(self._woken.set)

    @property
    def watermark(self) -> int | None:
        """Every change with a seq up to it is in the ring or final in the database."""
        return self._watermark

    @property
    def failing(self) -> bool:
        """Whether the last poll failed (the database is unreachable)."""
        return self._failure is not None

    async def start(self) -> int:
        """Run the pump if it is not running; its watermark, once known (503 if it cannot be)."""
        if self._task is None or self._task.done():
            if self._task is None or time.monotonic() - self._left_at > self._idle:
                self._reset()
            self._task = asyncio.create_task(self._run(), name="httpconflict-change-pump")
        deadline = time.monotonic() + START_WAIT
        while self._watermark is None:
            if self._failure is not None:
                raise Unavailable(
                    "the change feed cannot be read now: the database does not answer"
                )
            if time.monotonic() > deadline:
                # The database answers, but what is committed up to where is not
                # known yet: a transaction that took the next change's seq is open.
                raise Unavailable(
                    f"the change feed cannot be read now: a transaction writing to the "
                    f"database has not ended within {START_WAIT:g} s, and the changes "
                    "after it wait for it"
                )
            await self.wait(deadline - time.monotonic())
        return self._watermark

    async def reach(self, seq: int, seconds: float = REACH_WAIT) -> int:
        """Poll now until the watermark is at `seq` or past it; the watermark then.

        What a request saw committed (a write just answered, by this worker or
        another, or another instance) is then in what it is sent. Returns
        sooner, the watermark short of `seq`, after `seconds` (a transaction
        holding an earlier seq open: the changes after it wait for it) or
        when a poll begun after this call fails. A poll that failed before
        is no answer: the caller has just read `seq` from the database,
        which answers again, while the pump may still be sleeping out its
        backoff with W from before the outage (this wakes it).
        """
        deadline = time.monotonic() + seconds
        asked = self._polls  # a poll numbered above began after this call
        while (watermark := self._watermark) is None or watermark < seq:
            left = deadline - time.monotonic()
            if left <= 0 or (self._failure is not None and self._failed_poll > asked):
                break
            self._woken.set()
            await self.wait(left)
        return self._watermark if self._watermark is not None else seq

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Count a watcher while the block runs: the pump polls while anyone watches."""
        self._users += 1
        try:
            yield
        finally:
            self._users -= 1
            self._left_at = time.monotonic()

    async def wait(self, seconds: float) -> None:
        """Return when the watermark moves (or a poll fails), or after `seconds`."""
        event = self._advanced
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0)):
                await event.wait()

    def from_ring(
        self, collection: str, id: str | None, after: int, limit: int
    ) -> tuple[list[Change], int] | None:
        """The collection's changes in (after, W] from the ring, at most `limit`, and up to where.

        None when the ring no longer holds every change after `after`.
        """
        watermark = self._watermark
        if watermark is None or after < self._floor:
            return None
        found: list[Change] = []
        for index in range(bisect.bisect_right(self._seqs, after), len(self._ring)):
            change = self._ring[index]
            if change.collection == collection and (id is None or change.id == id):
                found.append(change)
                if len(found) == limit:
                    return found, change.seq
        return found, max(after, watermark)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _reset(self) -> None:
        self._feed = self._store.change_feed()
        self._watermark = None
        self._seqs, self._ring = [], []
        self._failure = None

    async def _run(self) -> None:
        assert self._feed is not None
        feed, failures = self._feed, 0
        while True:
            self._polls += 1
            try:
                changes = await feed.poll(PAGE)
            except Exception as error:  # the database is down, or restarting: try again
                failures += 1
                if self._failure is None:
                    log.warning("change feed: cannot poll, retrying: %s", describe(error))
                self._failure, self._failed_poll = error, self._polls
                self._notify()
                # Cut short by what shows the database answers again (see the
                # module), but no sooner than a poll's usual pause: a poll that
                # fails while writes succeed is not retried at their rate.
                await self._sleep(min(MAX_BACKOFF, INTERVAL * 2**failures), at_least=INTERVAL)
                continue
            if self._failure is not None:
                log.warning("change feed: polling again after %d failure(s)", failures)
                self._failure, failures = None, 0
            moved = feed.watermark != self._watermark
            floor = await self._purged_floor(changes, feed.watermark)
            self._append(changes, feed.watermark)
            self._floor = max(self._floor, floor)
            if moved:
                self._notify()
            if len(changes) == PAGE:
                continue  # catching up
            if not self._users and time.monotonic() - self._left_at > self._idle:
                return
            await self._sleep(self._interval)

    async def _sleep(self, seconds: float, *, at_least: float = 0.0) -> None:
        """Wait `seconds` before the next poll, or until woken (a write, a request's `reach`)
        once `at_least` seconds have passed."""
        self._woken.clear()
        if at_least > 0:
            await asyncio.sleep(at_least)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds - at_least, 0)):
                await self._woken.wait()

    async def _purged_floor(self, changes: list[Change], watermark: int | None) -> int:
        """The floor the ring must rise to: the last seq the poll skipped at or below the horizon.

        A seq skipped is one rolled back, or a change purged before this
        pump polled it: the ring lacks it, so a watcher behind it must read
        the database (and get its 410) instead of the ring. A watcher past
        it misses nothing the ring lacks (a purge deletes nothing above the
        horizon), and reads on from the ring.
        """
        after = self._watermark
        if after is None or watermark is None:
            return self._floor
        gaps = _gaps(after, changes)
        if not gaps:
            return self._floor
        try:
            horizon = (await self._store.change_bounds()).horizon
        except Exception:  # cannot tell: every watcher behind the last gap reads the database
            return gaps[-1][1]
        return max([min(last, horizon) for first, last in gaps if first <= horizon] or [0])

    def _append(self, changes: list[Change], watermark: int | None) -> None:
        if self._watermark is None and watermark is not None:
            self._floor = watermark
        self._seqs.extend(change.seq for change in changes)
        self._ring.extend(changes)
        if len(self._ring) > 2 * self._ring_size:
            # Trimmed in one go now and then, not one entry per change.
            cut = len(self._ring) - self._ring_size
            self._floor = self._seqs[cut - 1]
            del self._seqs[:cut], self._ring[:cut]
        self._watermark = watermark

    def _notify(self) -> None:
        self._advanced.set()
        self._advanced = asyncio.Event()


def _gaps(after: int, changes: list[Change]) -> list[tuple[int, int]]:
    """The runs of seqs (first, last) that `changes` (in seq order, all above `after`) miss."""
    gaps = []
    for change in changes:
        if change.seq != after + 1:
            gaps.append((after + 1, change.seq - 1))
        after = change.seq
    return gaps
