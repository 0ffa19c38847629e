"""The spike rule, buckets, and the timeline that keeps memory bounded."""

from __future__ import annotations

import math

import pytest

from httpconflict.tools.logs.buckets import default_bucket, format_duration, parse_duration
from httpconflict.tools.logs.spikes import SpikeRule, find_spikes, median, poisson_tail
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
        pytest.param([2] * 20 + [6], [], id="three-times-the-baseline-is-not-more"),
        pytest.param([2] * 20 + [7], [], id="over-three-times-but-likely-by-chance"),
        pytest.param([2] * 20 + [9], [20], id="over-three-times-and-unlikely"),
        pytest.param([10, 12, 9, 11] * 5 + [34], [20], id="noisy-baseline-median-11"),
        pytest.param([10, 12, 9, 11] * 5 + [33], [], id="noisy-baseline-33-is-not-more"),
        pytest.param([1, 0] * 10 + [40, 40], [20, 21], id="two-spikes-do-not-raise-the-bar"),
        pytest.param([0] * 300 + [1] * 300 + [5], [], id="sparse-five-is-chance"),
        pytest.param([0] * 300 + [1] * 300 + [9], [600], id="sparse-nine-is-not"),
        pytest.param([0, 50], [], id="two-buckets-are-no-baseline"),
        pytest.param([50], [], id="one-bucket"),
        pytest.param([], [], id="no-buckets"),
    ],
)
def test_spike_rule(counts: list[int], found: list[int]) -> None:
    """count >= 5, count > 3 x baseline, and under 0.01 buckets that high by chance."""
    assert spikes(counts) == found


def test_the_rule_is_configurable() -> None:
    """--spike-min and --spike-factor change the thresholds."""
    assert spikes([0] * 20 + [3]) == []
    assert spikes([0] * 20 + [3], SpikeRule(minimum=3)) == [20]
    assert spikes([2] * 20 + [12]) == [20]
    assert spikes([2] * 20 + [12], SpikeRule(factor=6)) == []


def test_a_spike_carries_its_baseline_and_its_chance() -> None:
    """The baseline leaves the spike out; `expected` is n x P(X >= count) at that rate."""
    (spike,) = find_spikes({0: 2, 1: 4, 2: 12, 3: 2}, buckets=4, status=412, rule=RULE)
    assert (spike.start, spike.status, spike.count) == (2, 412, 12)
    assert spike.baseline == 3.0  # the median; the mean of the others is 8/3
    assert spike.expected == pytest.approx(4 * poisson_tail(12, 3.0))
    assert spike.expected < 0.01


@pytest.mark.parametrize(
    ("count", "rate", "tail"),
    [
        pytest.param(0, 2.0, 1.0, id="zero-is-certain"),
        pytest.param(1, 2.0, 1 - math.exp(-2), id="at-least-one"),
        pytest.param(3, 1.0, 1 - math.exp(-1) * (1 + 1 + 1 / 2), id="small"),
        pytest.param(5, 0.0, 0.0, id="no-rate"),
        pytest.param(2000, 1.0, 0.0, id="far-tail-underflows-to-zero"),
    ],
)
def test_poisson_tail(count: int, rate: float, tail: float) -> None:
    """P(X >= count) for a Poisson rate, exact sums and no overflow."""
    assert poisson_tail(count, rate) == pytest.approx(tail, abs=1e-15)


def test_poisson_tail_far_below_a_large_rate() -> None:
    """A count far below a large rate: almost certain, without underflow."""
    assert poisson_tail(900, 1000.0) == pytest.approx(0.9989, abs=1e-3)


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
