"""Counts of conflict answers over time, kept in slots finer than any bucket asked for.

The default bucket depends on the whole log's time span, which is known
only at the end of the stream, so counts are first kept per slot of
`resolution` seconds: one second to begin with. Should the slots grow
past `MAX_SLOTS` (a long log with conflicts spread over it), the
resolution steps up `buckets.LADDER` and the slots are merged, which
bounds memory whatever the log's length. The bucket chosen at the end is
never finer than a slot: a log whose slots had to be merged is long
enough that its default bucket is much coarser still. With ``--bucket``,
the slots are the buckets from the start.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

from .buckets import LADDER, bucket_start

#: The most (slot, status) counts kept before the resolution is coarsened.
MAX_SLOTS: Final = 10_000


class Timeline:
    """Conflict counts per (slot start, status)."""

    def __init__(self, bucket: int | None = None) -> None:
        self.fixed = bucket is not None
        self.resolution = bucket or LADDER[0]
        #: The log's offset from UTC, which slots and buckets align on; set before any count.
        self.offset = 0
        self._counts: Counter[tuple[int, int]] = Counter()

    def add(self, time: float, status: int) -> None:
        """Count one answer with `status` at `time`."""
        self._counts[bucket_start(time, self.resolution, self.offset), status] += 1
        if len(self._counts) > MAX_SLOTS and not self.fixed:
            self._coarsen()

    def _coarsen(self) -> None:
        while len(self._counts) > MAX_SLOTS // 2 and self.resolution < LADDER[-1]:
            self.resolution = LADDER[LADDER.index(self.resolution) + 1]
            merged: Counter[tuple[int, int]] = Counter()
            for (start, status), count in self._counts.items():
                merged[bucket_start(start, self.resolution, self.offset), status] += count
            self._counts = merged

    def buckets(self, length: int) -> dict[int, Counter[int]]:
        """Counts per status in each bucket of `length` seconds (a multiple of the slots)."""
        if length % self.resolution:
            raise ValueError(f"a {length}s bucket does not hold whole {self.resolution}s slots")
        result: dict[int, Counter[int]] = {}
        for (start, status), count in self._counts.items():
            result.setdefault(bucket_start(start, length, self.offset), Counter())[status] += count
        return result
