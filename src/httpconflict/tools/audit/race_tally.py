"""Counting a lost-update race exactly, from what the writers saw and what was left.

Theory of operation: every write of the race reads the resource, then
writes the counter plus one and the marker list plus its own write id
(``w3.5``: writer 3, attempt 5). So the state left at the end is a chain
of writes, each built on the one before it: the counter is the chain's
length and the marker list names its links. Two exact measures follow:

- by the counter: ``acknowledged - (final - initial)``, the writes that
  answered 2xx but are not counted in the end;
- by the markers, per writer: its acknowledged write ids that are not in
  the final list.

They agree unless a write landed without being acknowledged (a timeout
after the server wrote it: its id is in the list, but the writer never
counted it) or the API changed the data some other way; `agrees` says
which. No write equals another (the ids differ), so a server that
answers 2xx to a write equal to the current state (RFC 9110 §13.1.1)
cannot make a lost race look won.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def next_state(
    current: Mapping[str, Any], counter: str, marks: str, write_id: str
) -> dict[str, Any]:
    """The members a read-modify-write changes: the counter plus one, the id appended.

    Raises ValueError when `current` has no whole-number counter.
    """
    count = current.get(counter)
    if not isinstance(count, int) or isinstance(count, bool):
        raise ValueError(f"the resource has no whole-number {counter!r} member")
    listed = current.get(marks)
    changes: dict[str, Any] = {counter: count + 1}
    if isinstance(listed, list):
        changes[marks] = [*listed, write_id]
    return changes


@dataclass
class WriterTally:
    """One writer's attempts, as that writer saw them."""

    writer: int
    acknowledged: list[str] = field(default_factory=list)
    refused: int = 0
    unanswered: list[str] = field(default_factory=list)
    #: The answers to its writes, and to its reads when they were not 200.
    statuses: Counter[int] = field(default_factory=Counter)
    stopped: str | None = None


@dataclass(frozen=True, slots=True)
class WriterOutcome:
    """One writer's acknowledged writes, and how many of them the final state holds."""

    writer: int
    acknowledged: int
    survived: int | None
    refused: int

    @property
    def lost(self) -> int | None:
        return None if self.survived is None else self.acknowledged - self.survived


@dataclass(frozen=True, slots=True)
class RaceOutcome:
    """The race, counted."""

    writers: tuple[WriterOutcome, ...]
    initial: int
    final: int
    #: The final marker list's length, or None if the API did not keep the list.
    marked: int | None
    #: Write ids in the final state that no writer saw acknowledged.
    unacknowledged: tuple[str, ...]
    statuses: Mapping[int, int]

    @property
    def acknowledged(self) -> int:
        return sum(w.acknowledged for w in self.writers)

    @property
    def refused(self) -> int:
        return sum(w.refused for w in self.writers)

    @property
    def lost(self) -> int:
        """Acknowledged writes the final counter does not count."""
        return self.acknowledged - (self.final - self.initial)

    @property
    def lost_by_marks(self) -> int | None:
        """Acknowledged write ids missing from the final marker list."""
        if self.marked is None:
            return None
        return sum(w.lost or 0 for w in self.writers)

    @property
    def agrees(self) -> bool | None:
        """Whether the counter moved exactly as many times as the list grew."""
        return None if self.marked is None else self.final - self.initial == self.marked


def measure(
    tallies: Sequence[WriterTally],
    initial: int,
    final_state: Mapping[str, Any],
    counter: str,
    marks: str,
) -> RaceOutcome:
    """Count the race from the writers' tallies and the resource's final state."""
    final = final_state.get(counter)
    if not isinstance(final, int) or isinstance(final, bool):
        raise ValueError(f"the final state has no whole-number {counter!r} member")
    listed = final_state.get(marks)
    kept = [str(x) for x in listed] if isinstance(listed, list) else None
    present = set(kept or ())
    writers = tuple(
        WriterOutcome(
            writer=t.writer,
            acknowledged=len(t.acknowledged),
            survived=None if kept is None else sum(1 for w in t.acknowledged if w in present),
            refused=t.refused,
        )
        for t in tallies
    )
    acknowledged = {w for t in tallies for w in t.acknowledged}
    return RaceOutcome(
        writers=writers,
        initial=initial,
        final=final,
        marked=None if kept is None else len(kept),
        unacknowledged=tuple(w for w in kept or () if w not in acknowledged),
        statuses=dict(sum((t.statuses for t in tallies), Counter[int]())),
    )


def per_writer(writers: Iterable[WriterOutcome]) -> str:
    """``w0 6/2, w1 6/6``: acknowledged/survived per writer."""
    return ", ".join(
        f"w{w.writer} {w.acknowledged}/{'?' if w.survived is None else w.survived}" for w in writers
    )
