"""The spike rule, buckets, and the timeline that keeps memory bounded."""

from __future__ import annotations

import pytest

from httpconflict.tools.logs.buckets import default_bucket, format_duration, parse_duration
from httpconflict.tools.logs.spikes import SpikeRule, find_spikes, median
from httpconflict.tools.logs.timeline import MAX_SLOTS, Timeline

RULE = SpikeRule()


def spikes(counts: list[int], rule: SpikeRule = RULE) -> list[int]:
    """The indexes of the buckets the rule calls spikes."""
    found = find_spikes(
        {i: c for i, c in enumerate(counts) if c}, buckets=len(counts), status=409, rule=rule
    )
    return [spike.start for spike in found]


@pytest.mark.parametrize(
    ("counts", "found"),
    [
        pytest.param([0] * 20 + [5], [20], id="from-nothing-to-the-minimum"),
        pytest.param([0] * 20 + [4], [], id="under-the-minimum"),
        pytest.param([2] * 20 + [6], [], id="three-times-the-median-is-not-more"),
        pytest.param([2] * 20 + [7], [20], id="more-than-three-times-the-median"),
        pytest.param([10, 12, 9, 11] * 5 + [34], [20], id="noisy-baseline-median-11"),
        pytest.param([10, 12, 9, 11] * 5 + [33], [], id="noisy-baseline-33-is-not-more"),
        pytest.param([1, 0] * 10 + [40, 40], [20, 21], id="two-spikes-do-not-raise-the-median"),
        pytest.param([0, 50], [], id="two-buckets-are-no-baseline"),
        pytest.param([50], [], id="one-bucket"),
        pytest.param([], [], id="no-buckets"),
    ],
)
def test_spike_rule(counts: list[int], found: list[int]) -> None:
    """count >= 5 and count > 3 x max(median over all buckets, 1)."""
    assert spikes(counts) == found


def test_the_rule_is_configurable() -> None:
    """--spike-min and --spike-factor change the thresholds."""
    counts = [1] * 20 + [3]
    assert spikes(counts) == []
    assert spikes(counts, SpikeRule(factor=2, minimum=3)) == [20]


def test_median_counts_the_empty_buckets() -> None:
    """Buckets left out of the counts are zeros in the median."""
    assert median([5, 7, 9], 3) == 7
    assert median([5, 7, 9], 4) == 6
    assert median([5, 7, 9], 7) == 0
    assert median([4], 2) == 2


@pytest.mark.parametrize(
    ("span", "bucket"),
    [
        (0, 1),
        (99, 1),
        (100, 10),
        (3599, 60),
        (2 * 3600 - 1, 300),
        (86400, 900),
        (7 * 86400, 21600),
        (30 * 86400, 86400),
        (365 * 86400, 4 * 86400),
    ],
)
def test_default_bucket(span: float, bucket: int) -> None:
    """The shortest length of 1s 10s 1m 5m 15m 1h 6h 1d giving under 100 buckets."""
    assert default_bucket(span) == bucket


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("1h", 3600), ("2d", 172800)]
)
def test_durations(text: str, seconds: int) -> None:
    """--bucket reads s, m, h and d, and the report spells it back."""
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["0", "5w", "m", "-5m", "1.5h"])
def test_bad_durations(text: str) -> None:
    """Anything else is a ValueError."""
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_the_timeline_coarsens_instead_of_growing() -> None:
    """A conflict every 7 s for 10 days keeps at most MAX_SLOTS slots, with every count."""
    timeline = Timeline()
    start = 1_795_000_000
    times = range(start, start + 10 * 86400, 7)
    for time in times:
        timeline.add(time, 412)
    assert timeline.resolution > 1
    buckets = timeline.buckets(default_bucket(10 * 86400))
    assert len(buckets) <= MAX_SLOTS
    assert sum(c[412] for c in buckets.values()) == len(times)


def test_a_fixed_bucket_is_kept() -> None:
    """With --bucket the slots are the buckets; a finer bucket than the slots is refused."""
    timeline = Timeline(60)
    for time in range(0, 3600, 5):
        timeline.add(time, 409)
    assert {start: c[409] for start, c in timeline.buckets(60).items()} == {
        m * 60: 12 for m in range(60)
    }
    with pytest.raises(ValueError, match="whole"):
        timeline.buckets(30)
