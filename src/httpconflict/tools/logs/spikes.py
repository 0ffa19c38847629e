"""Spikes: buckets with far more conflicts of one status than the log's usual rate explains.

The rule, for each status (409, 412, 428) on its own, over the n buckets
of the log's time span (empty ones count, as zero):

    a bucket of c conflicts is a spike when all three hold:
      c >= minimum                                    (default 5)
      c >  factor x baseline                          (default 3)
      n x P(X >= c) < chance,  X ~ Poisson(baseline)  (default 0.01)

A bucket's baseline is the usual count beside it: the largest of the
median bucket, the mean of the other buckets that are not spikes, and one
conflict per span (1/n). Spikes are left out of the mean and the buckets
judged again with the lower baseline, until no spike is added: the
buckets being judged must not raise the bar they are judged by.

The median alone fails on sparse logs: with 1-minute buckets most are
empty, the median is 0, and five 412s in one minute looked like a spike
in a log with a 412 every two minutes all day. The mean rate sees those,
and the third test asks how likely a bucket this high is by chance: if
conflicts came at the baseline rate, independently (a Poisson process),
n x P(X >= c) is the number of buckets expected to reach c somewhere in
the log, and a spike is a count expected in fewer than one log in a
hundred. A burst from nothing (every other bucket empty) has the least
baseline, 1/n, so a handful of conflicts in an otherwise quiet log is
one; the minimum keeps fewer than five from being called a spike at all.
With one or two buckets the median is at least half the largest count,
so with a factor of 2 or more nothing is a spike: a spike needs a longer
log around it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

#: Rounds of "leave the spikes out and look again"; each only adds spikes.
_ROUNDS: Final = 20


@dataclass(frozen=True, slots=True)
class SpikeRule:
    """The thresholds of the rule in the module docstring."""

    factor: float = 3.0
    minimum: int = 5
    #: The most buckets this high expected by chance in the whole log.
    chance: float = 0.01

    def describe(self) -> str:
        """The rule in one line, for reports."""
        return (
            f"count >= {self.minimum}, count > {self.factor:g} x baseline, and fewer than "
            f"{self.chance:g} buckets that high expected by chance in the log"
        )


@dataclass(frozen=True, slots=True)
class Spike:
    """One bucket where one status spiked, and who it came from."""

    start: int
    status: int
    count: int
    #: The usual count per bucket of this status (see the module docstring).
    baseline: float
    #: How many buckets of the log would reach `count` by chance at the baseline rate.
    expected: float
    #: The routes and clients with the most of this status in the bucket, most first.
    routes: tuple[tuple[str, int], ...] = ()
    clients: tuple[tuple[str, int], ...] = ()
    #: Whether those counts may be high (the bucket had more distinct keys than are kept).
    approximate: bool = False


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


def poisson_tail(count: int, rate: float) -> float:
    """P(X >= count) for X ~ Poisson(rate), summed in log space so nothing overflows."""
    if count <= 0:
        return 1.0
    if rate <= 0:
        return 0.0

    def term(k: int) -> float:
        return math.exp(-rate + k * math.log(rate) - math.lgamma(k + 1))

    if count <= rate:  # the tail is most of the mass: one minus the few terms below it
        return max(0.0, 1.0 - math.fsum(term(k) for k in range(count)))
    total, k, current = 0.0, count, term(count)
    while current > 0 and current > total * 1e-17:  # terms fall faster than geometrically
        total += current
        k += 1
        current *= rate / k
    return min(1.0, total)


def find_spikes(
    counts: Mapping[int, int], *, buckets: int, status: int, rule: SpikeRule
) -> list[Spike]:
    """The spikes of one status, given its count per bucket start (empty buckets left out)."""
    middle = median([count for count in counts.values() if count], buckets)
    floor = 1 / buckets if buckets > 0 else 0.0
    total = sum(counts.values())
    spikes: dict[int, float] = {}  # start: its baseline

    def baseline(start: int) -> float:
        """The usual count beside the bucket at `start`: it and the spikes left out of the mean."""
        left_out = spikes.keys() | {start}
        kept = buckets - len(left_out)
        rest = total - sum(counts[s] for s in left_out)
        return max(middle, rest / kept if kept > 0 else 0.0, floor)

    def spiking(start: int, count: int, rate: float) -> bool:
        return (
            count >= rule.minimum
            and count > rule.factor * rate
            and buckets * poisson_tail(count, rate) < rule.chance
        )

    for _ in range(_ROUNDS):
        found = {
            start: rate
            for start, count in counts.items()
            if count >= rule.minimum and spiking(start, count, rate := baseline(start))
        }
        if found.keys() <= spikes.keys():
            break
        spikes.update(found)
    rates = {start: baseline(start) for start in spikes}
    return [
        Spike(start, status, counts[start], rate, buckets * poisson_tail(counts[start], rate))
        for start, rate in sorted(rates.items())
    ]
