"""Counting a lost-update race of pure counters exactly, from what the writers saw.

Theory of operation: every write of the race reads the resource, then
writes the counter it read plus one, and nothing else: two writers that
read the same count send the same body, as two people incrementing the
same number would. No writer id goes in the body, because a body that
differs per writer hides exactly the lost update of identical writes (a
server that answers 2xx to a body equal to the current state). So the
counter is the only witness, and it is exact: every acknowledged (2xx)
write promised one increment, and

    lost = acknowledged - (final - initial)

is how many promises the final state does not keep. A write that got no
answer may have landed without being counted as acknowledged; then the
counter can move more than the acknowledged writes, and `lost` is a lower
bound (the report says so).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def count_of(value: object) -> int | None:
    """The count a counter member holds: a whole number, or one written as decimal digits
    in a string (APIs whose items have string fields only: a title, a description).

    A whole number the API writes back as a decimal counts too: a float (``0`` sent,
    ``0.0`` kept: marshmallow's and pydantic's floats) or a string with places (``"0"``
    sent, ``"0.00"`` kept: DRF's DecimalField), so a price can be the counter.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, str) and value.isascii():
        whole, point, places = value.partition(".")
        if whole.isdecimal() and (not point or places.strip("0") == ""):
            return int(whole)
    return None


def counted(like: object, count: int) -> int | float | str:
    """`count` written the way the counter value `like` is: a number, a float, or a
    string with as many places."""
    if isinstance(like, float):
        return float(count)
    if isinstance(like, str):
        _, point, places = like.partition(".")
        return f"{count}{point}{places and '0' * len(places)}"
    return count


def next_count(current: Mapping[str, Any], counter: str) -> int | float | str:
    """The counter plus one, written as it was; ValueError when `current` has no counter."""
    value = current.get(counter)
    count = count_of(value)
    if count is None:
        raise ValueError(f"the resource has no whole-number {counter!r} member")
    return counted(value, count + 1)


@dataclass
class WriterTally:
    """One writer's attempts, as that writer saw them."""

    writer: int
    acknowledged: int = 0
    refused: int = 0
    #: Reads answered, and how many of them were 5xx.
    reads: int = 0
    read_errors: int = 0
    #: Writes answered, and how many of them were 5xx.
    writes: int = 0
    write_errors: int = 0
    unanswered: int = 0
    #: The answers to its writes, and to its reads when they were not 200.
    statuses: Counter[int] = field(default_factory=Counter)
    #: The ETag each acknowledged write's answer carried (None: none).
    answer_etags: list[str | None] = field(default_factory=list)
    stopped: str | None = None

    @property
    def server_errors(self) -> int:
        return self.read_errors + self.write_errors


@dataclass(frozen=True, slots=True)
class RaceOutcome:
    """The race, counted."""

    writers: tuple[WriterTally, ...]
    initial: int
    final: int

    @property
    def acknowledged(self) -> int:
        return sum(w.acknowledged for w in self.writers)

    @property
    def refused(self) -> int:
        return sum(w.refused for w in self.writers)

    @property
    def server_errors(self) -> int:
        return sum(w.server_errors for w in self.writers)

    def total(self, name: str) -> int:
        """A count summed over the writers: ``reads``, ``writes``, ``read_errors``..."""
        return sum(int(getattr(w, name)) for w in self.writers)

    @property
    def unanswered(self) -> int:
        return sum(w.unanswered for w in self.writers)

    @property
    def moved(self) -> int:
        return self.final - self.initial

    @property
    def lost(self) -> int:
        """Acknowledged writes the final counter does not count (at least)."""
        return max(0, self.acknowledged - self.moved)

    @property
    def unexplained(self) -> int:
        """Increments no acknowledged or unanswered write accounts for."""
        return max(0, self.moved - self.acknowledged - self.unanswered)

    @property
    def statuses(self) -> Mapping[int, int]:
        return dict(sum((w.statuses for w in self.writers), Counter[int]()))

    @property
    def repeated_etags(self) -> int:
        """Acknowledged answers carrying an ETag another acknowledged answer already carried."""
        tags = [t for w in self.writers for t in w.answer_etags if t is not None]
        return len(tags) - len(set(tags))


def measure(
    tallies: Sequence[WriterTally], initial: int, final_state: Mapping[str, Any], counter: str
) -> RaceOutcome:
    """Count the race from the writers' tallies and the resource's final state."""
    final = count_of(final_state.get(counter))
    if final is None:
        raise ValueError(f"the final state has no whole-number {counter!r} member")
    return RaceOutcome(tuple(tallies), initial, final)


def per_writer(writers: Iterable[WriterTally]) -> list[dict[str, int]]:
    """Each writer's counts, for the report's data and its chart."""
    return [
        {
            "writer": w.writer,
            "acknowledged": w.acknowledged,
            "refused": w.refused,
            "server_errors": w.server_errors,
        }
        for w in writers
    ]
