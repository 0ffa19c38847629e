"""The log's own time zone: times are shown as the log wrote them, and labelled.

nginx and Apache write local time with its offset (``+0200``). A user
looking for the 412s of 14:05 should find them at 14:05 in the report, so
every time shown (terminal, JSON, HTML, SVG) is in the log's zone and
says which: ``14:05 (+02:00)``, and JSON times carry their offset. Buckets
start on the hour and at midnight of that zone, too.

The zone is the one the log's first timed line states. A log spanning a
change to summer time keeps the first line's zone throughout, and the
report says how many lines were written in another one. A log whose
times state no zone (uvicorn's ``asctime``, a naive ISO time) is shown as
written and labelled so: its times were read as if they were UTC, so
showing them in UTC gives the written clock back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone


@dataclass(frozen=True, slots=True)
class LogZone:
    """A log's zone: its offset from UTC in seconds, or None when the log states none."""

    offset: int | None = 0

    @property
    def seconds(self) -> int:
        """The offset to add to UTC to get this zone's wall clock (0 when none is stated)."""
        return self.offset or 0

    @property
    def label(self) -> str:
        """``UTC``, ``+02:00``, ``-05:00``, or that no zone is stated."""
        if self.offset is None:
            return "no zone stated"
        if self.offset == 0:
            return "UTC"
        hours, minutes = divmod(abs(self.offset) // 60, 60)
        return f"{'+' if self.offset > 0 else '-'}{hours:02d}:{minutes:02d}"

    @property
    def caption(self) -> str:
        """What the times shown are, for a report: ``times in +02:00, the log's zone``."""
        if self.offset is None:
            return "times as logged, no zone stated"
        return f"times in {self.label}, the log's zone"

    def local(self, time: float) -> datetime:
        """`time` on this zone's wall clock (a naive datetime when no zone is stated)."""
        if self.offset is None:
            return datetime.fromtimestamp(time, UTC).replace(tzinfo=None)
        return datetime.fromtimestamp(time, timezone(timedelta(seconds=self.offset)))

    def iso(self, time: float | None) -> str | None:
        """ISO 8601 in this zone: ``...Z`` in UTC, ``...+02:00``, no offset when none is stated."""
        if time is None:
            return None
        stamp = self.local(time).isoformat()
        return stamp[: -len("+00:00")] + "Z" if stamp.endswith("+00:00") else stamp

    def show(self, time: float, *, seconds: bool = True) -> str:
        """``2026-11-24 14:05:00`` on this zone's wall clock, for people (the label apart)."""
        return self.local(time).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
