"""The scheduled purge: tombstones and changes past their retention, and expired Idempotency-Keys.

Theory of operation: each worker runs one `Purger` for as long as it
serves. Every `interval` it removes the tombstones of documents deleted
more than `tombstone_retention` ago, with what history they kept, a
batch at a time (each batch its own short transaction, with a pause
between them in which requests go on), then the change feed's entries
older than `changes_retention` (a prefix of the feed, in batches too, its
end recorded as the horizon below which `since` is 410), then the key store's expired
records (which it purges in bounded batches of its own). Its first run
comes after a random part of the interval, so workers started together
spread out. Several workers, or services sharing one database, may purge
at once: every delete is conditional, so a row goes once, a document
re-created meanwhile stays, and a run that finds nothing costs an index
lookup. Each run logs one line with its counts; a run that fails logs one
line and the next one tries again, while the service goes on serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from typing import Final

from .. import Unavailable
from ..incidents import describe
from ..storage import DocumentStore
from ..storage.idempotency import IdempotencyStore
from ..storage.idempotency.cache import ReplayCache

log = logging.getLogger("httpconflict")

#: Tombstones removed per transaction: a batch holds SQLite's write lock
#: for a few milliseconds at most (each takes its history with it).
BATCH: Final = 100
#: Changes removed per transaction: rows of a few dozen bytes, a prefix of one index.
CHANGES_BATCH: Final = 1000
#: Seconds between two batches, in which waiting writers go first.
PAUSE: Final = 0.01


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    """What one run removed."""

    tombstones: int
    keys: int
    changes: int = 0


@dataclass(slots=True)
class Purger:
    """Purges `documents` (and `keys`, if any) every `interval` seconds."""

    documents: DocumentStore
    keys: IdempotencyStore | None
    interval: float
    tombstone_retention: float
    changes_retention: float = float("inf")
    #: Copies of the keys' answers (a SQL store needs purging; Redis expires its own).
    cache: ReplayCache | None = None

    async def run_once(self) -> PurgeCounts:
        """One run: old tombstones, then expired keys; what it removed."""
        now = time.time()
        cut_us = int((now - self.tombstone_retention) * 1_000_000)
        tombstones = 0
        while True:
            removed = await self.documents.purge_tombstones(deleted_before_us=cut_us, limit=BATCH)
            tombstones += removed
            if removed < BATCH:
                break
            await asyncio.sleep(PAUSE)
        changes = 0
        if self.changes_retention != float("inf"):
            changes_cut_us = int((now - self.changes_retention) * 1_000_000)
            while True:
                removed = await self.documents.purge_changes(
                    before_us=changes_cut_us, limit=CHANGES_BATCH
                )
                changes += removed
                if removed < CHANGES_BATCH:
                    break
                await asyncio.sleep(PAUSE)
        keys = 0 if self.keys is None else await self.keys.purge(now=now)
        if self.cache is not None:
            with contextlib.suppress(Unavailable):  # down: the next run purges it
                await self.cache.purge(now=now)
        return PurgeCounts(tombstones, keys, changes)

    async def run_forever(self) -> None:
        """Run every `interval`, logging each run, until cancelled."""
        await asyncio.sleep(random.uniform(0, self.interval))
        while True:
            started = time.monotonic()
            try:
                counts = await self.run_once()
            except Exception as error:  # a database down now may be back for the next run
                log.warning("purge failed, next in %gs: %s", self.interval, describe(error))
            else:
                log.info(
                    "purge: %d tombstone(s) older than %gs, %d change(s) older than %gs and "
                    "%d expired idempotency key(s) removed in %.3fs",
                    counts.tombstones,
                    self.tombstone_retention,
                    counts.changes,
                    self.changes_retention,
                    counts.keys,
                    time.monotonic() - started,
                )
            await asyncio.sleep(self.interval)
