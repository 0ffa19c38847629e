"""Which routes and clients each bucket's conflicts came from, so a spike can name its own.

A spike is found at the end, in a bucket whose length is known only then
(the default depends on the whole log's time span), so the routes and
clients are kept per bucket as the log is read, at the coarsest length
the final bucket can still be cut from: the default bucket of the span
read so far (never over a day), or ``--bucket``. The default bucket only
grows with the span, and each length of `buckets.LADDER` divides the
next, so when the span grows the buckets are merged, exactly; a log in
time order keeps fewer than `buckets.MAX_BUCKETS` of them.

Memory stays bounded whatever the log: each (bucket, status) keeps at
most `CAPACITY` routes and as many clients, counted with the Space-Saving
algorithm (Metwally et al., 2005): a key not kept replaces the one with
the least count and inherits that count plus one. Until a bucket sees
more distinct keys than that, its counts are exact; after, they are marked
approximate, and any key with more than a `CAPACITY`-th of the bucket's
conflicts is still kept, with a count at most that much too high.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from .buckets import bucket_start, default_bucket

#: The most routes (and clients) kept per bucket and status.
CAPACITY: Final = 64
#: The longest bucket kept: a longer default bucket is cut from whole days.
_DAY: Final = 86400


@dataclass(slots=True)
class TopKeys:
    """The most frequent keys of a stream, at most `CAPACITY` of them (Space-Saving)."""

    counts: dict[str, int] = field(default_factory=dict)
    #: Whether a key was ever evicted, so that counts may be overestimates.
    approximate: bool = False

    def add(self, key: str, count: int = 1) -> None:
        counts = self.counts
        if key in counts:
            counts[key] += count
        elif len(counts) < CAPACITY:
            counts[key] = count
        else:
            least = min(counts, key=counts.__getitem__)
            counts[key] = counts.pop(least) + count
            self.approximate = True

    def merge(self, other: TopKeys) -> None:
        """Add `other`'s counts to these, keeping the `CAPACITY` largest."""
        for key, count in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count
        self.approximate = self.approximate or other.approximate
        if len(self.counts) > CAPACITY:
            kept = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))[:CAPACITY]
            self.counts = dict(kept)
            self.approximate = True

    def top(self, count: int) -> tuple[tuple[str, int], ...]:
        """The `count` most frequent keys, most first (ties by key)."""
        ordered = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        return tuple(ordered[:count])


@dataclass(slots=True)
class Culprits:
    """The routes and clients of the conflicts of one status in one bucket."""

    routes: TopKeys = field(default_factory=TopKeys)
    clients: TopKeys = field(default_factory=TopKeys)

    def merge(self, other: Culprits) -> None:
        self.routes.merge(other.routes)
        self.clients.merge(other.clients)


class BucketDetail:
    """Routes and clients per (bucket start, status), at a length that follows the span."""

    def __init__(self, bucket: int | None = None) -> None:
        self.fixed = bucket is not None
        self.length = bucket or 1
        #: The log's offset from UTC, which buckets align on; set before any count.
        self.offset = 0
        self._buckets: dict[tuple[int, int], Culprits] = {}

    def add(self, time: float, status: int, route: str, client: str) -> None:
        """Count one conflict of `status` at `time`, from `client` on `route`."""
        key = (bucket_start(time, self.length, self.offset), status)
        culprits = self._buckets.get(key)
        if culprits is None:
            culprits = self._buckets[key] = Culprits()
        culprits.routes.add(route)
        culprits.clients.add(client)

    def widen(self, span: float) -> None:
        """Follow the log's span read so far: merge into longer buckets when its default grows."""
        if self.fixed:
            return
        length = min(default_bucket(span), _DAY)
        if length > self.length:
            self._buckets = self._merged(length, self._buckets.items())
            self.length = length

    def _merged(
        self, length: int, buckets: Iterable[tuple[tuple[int, int], Culprits]]
    ) -> dict[tuple[int, int], Culprits]:
        merged: dict[tuple[int, int], Culprits] = {}
        for (start, status), culprits in buckets:
            key = (bucket_start(start, length, self.offset), status)
            if key in merged:
                merged[key].merge(culprits)
            else:
                merged[key] = culprits
        return merged

    def of(self, start: int, length: int, status: int) -> Culprits:
        """The routes and clients of `status` in the bucket of `length` seconds at `start`."""
        found = Culprits()
        for (begin, kept), culprits in self._buckets.items():
            if kept == status and start <= begin < start + length:
                found.merge(culprits)
        return found
