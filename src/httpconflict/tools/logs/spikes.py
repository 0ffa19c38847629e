"""Spikes: buckets with far more conflicts of one status than the log usually has.

The rule, for each status (409, 412, 428) on its own:

    a bucket is a spike when   count >= minimum   and   count > factor x max(median, 1)

where the median is taken over every bucket of the log's time span, the
empty ones counting as zero (defaults: minimum 5, factor 3). The median is
the baseline because it ignores the spikes themselves: a mean or a
standard deviation would be pulled up by the very buckets being judged.
The floor of 1 keeps a log whose conflicts are usually absent (median 0)
from calling every bucket with a conflict a spike, and the minimum keeps
a handful of conflicts from being called one at all. With one or two
buckets the median is at least half the largest count, so with a factor
of 2 or more nothing is a spike: a spike needs a longer log around it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpikeRule:
    """The thresholds of the rule in the module docstring."""

    factor: float = 3.0
    minimum: int = 5

    def describe(self) -> str:
        """The rule in one line, for reports."""
        return f"count >= {self.minimum} and count > {self.factor:g} x max(median, 1)"


@dataclass(frozen=True, slots=True)
class Spike:
    """One bucket where one status spiked."""

    start: int
    status: int
    count: int
    #: The median count of this status over all buckets of the span.
    baseline: float


def median(counts: list[int], buckets: int) -> float:
    """The median over `buckets` buckets, of which `counts` are the non-empty ones."""
    if buckets <= 0:
        return 0.0
    ordered = sorted(counts)
    zeros = buckets - len(ordered)  # not materialised: a fine bucket over a long log has many

    def value(index: int) -> int:
        return 0 if index < zeros else ordered[index - zeros]

    middle = buckets // 2
    if buckets % 2:
        return float(value(middle))
    return (value(middle - 1) + value(middle)) / 2


def find_spikes(
    counts: Mapping[int, int], *, buckets: int, status: int, rule: SpikeRule
) -> list[Spike]:
    """The spikes of one status, given its count per bucket start (empty buckets left out)."""
    nonzero = [count for count in counts.values() if count]
    baseline = median(nonzero, buckets)
    threshold = rule.factor * max(baseline, 1.0)
    return [
        Spike(start, status, count, baseline)
        for start, count in sorted(counts.items())
        if count >= rule.minimum and count > threshold
    ]
