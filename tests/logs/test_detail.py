"""Each bucket's routes and clients: exact while they are few, bounded when they are many,
and exact through the merges that follow the log's growing span."""

from __future__ import annotations

import random
from collections import Counter

from httpconflict.tools.logs.buckets import bucket_start, default_bucket
from httpconflict.tools.logs.detail import CAPACITY, BucketDetail, TopKeys


def test_top_keys_are_exact_under_capacity() -> None:
    """Up to CAPACITY distinct keys: every count exact, not approximate."""
    keys = TopKeys()
    for n in range(CAPACITY):
        for _ in range(n + 1):
            keys.add(f"k{n}")
    assert keys.top(2) == ((f"k{CAPACITY - 1}", CAPACITY), (f"k{CAPACITY - 2}", CAPACITY - 1))
    assert not keys.approximate


def test_a_heavy_key_survives_many_distinct_ones() -> None:
    """One client among 10,000 distinct others, interleaved: it is still the top one, its
    count at most n / CAPACITY too high, and the result says it is approximate."""
    rng = random.Random(1)
    keys = TopKeys()
    stream = [f"10.0.{n // 250}.{n % 250}" for n in range(10_000)] + ["198.51.100.23"] * 500
    rng.shuffle(stream)
    for key in stream:
        keys.add(key)
    ((top, count),) = keys.top(1)
    assert top == "198.51.100.23"
    assert 500 <= count <= 500 + len(stream) // CAPACITY
    assert keys.approximate
    assert len(keys.counts) == CAPACITY


def test_widening_merges_buckets_exactly() -> None:
    """Conflicts over a day, read in time order as the span grows: the buckets of the final
    default length hold exactly the routes and clients counted by hand."""
    rng = random.Random(2)
    start = 1_795_000_000
    events = sorted(
        (start + rng.randrange(86400), rng.choice((409, 412)), f"/r{rng.randrange(5)}")
        for _ in range(3_000)
    )
    detail = BucketDetail()
    detail.offset = 7200
    first = events[0][0]
    for time, status, route in events:
        detail.widen(time - first)
        detail.add(time, status, route, client=f"c{time % 7}")
    length = default_bucket(events[-1][0] - first)
    assert detail.length == length == 900
    expected: Counter[tuple[int, int, str]] = Counter(
        (bucket_start(time, length, 7200), status, route) for time, status, route in events
    )
    for (begin, status, route), count in expected.items():
        assert detail.of(begin, length, status).routes.counts[route] == count
    # A longer bucket (the report's, when the timeline is coarser) is cut from whole ones.
    hour = bucket_start(events[0][0], 3600, 7200)
    in_hour = [e for e in events if bucket_start(e[0], 3600, 7200) == hour and e[1] == 409]
    assert sum(detail.of(hour, 3600, 409).routes.counts.values()) == len(in_hour)
