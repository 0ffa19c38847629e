"""What a run found, as one value: the tables, the timeline, the spikes; and its JSON.

`build_report` turns the running counts of a `Tally` into sorted rows,
sums the timeline's slots into buckets, applies the spike rule and names
each spike's top routes and clients. Every renderer (terminal, JSON,
chart, HTML page) reads the same `LogReport`. Times are seconds since the
epoch here, shown in the log's own zone (`zone`) everywhere: ISO 8601
with the zone's offset in JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .buckets import bucket_start, default_bucket, format_duration
from .entry import CONFLICT_STATUSES
from .spikes import Spike, SpikeRule, find_spikes
from .tally import Tally, UnrecognisedLine
from .zone import LogZone

#: The routes and clients named per spike.
SPIKE_TOP: Final = 3


@dataclass(frozen=True, slots=True)
class Breakdown:
    """One row of a by-route, by-method or by-client table: its conflicts per status."""

    key: str
    counts: Mapping[int, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Cause:
    """A logged problem type, how often it was answered, and the route it came from most."""

    problem: str
    status: int
    count: int
    top_route: str
    top_route_count: int


@dataclass(frozen=True, slots=True)
class Bucket:
    """The conflicts per status in the bucket starting at `start`."""

    start: int
    counts: Mapping[int, int]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A source that could not be read (to the end), and why."""

    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class LogReport:
    """Everything `httpconflict logs` reports."""

    sources: tuple[str, ...]
    lines: int
    blank: int
    unrecognised: int
    samples: tuple[UnrecognisedLine, ...]
    #: Recognised lines per detected format.
    formats: Mapping[str, int]
    #: Recognised lines (requests) of every status.
    requests: int
    #: 409, 412 and 428 answers.
    conflicts: Mapping[int, int]
    #: Conflicts with no time on their line, so in no bucket.
    untimed: int
    #: Conflicts with no problem type on their line.
    uncaused: int
    first: float | None
    last: float | None
    bucket: int
    #: How many buckets the time span covers, empty ones included.
    bucket_count: int
    #: The buckets that had conflicts, in time order.
    timeline: tuple[Bucket, ...]
    routes: tuple[Breakdown, ...]
    methods: tuple[Breakdown, ...]
    clients: tuple[Breakdown, ...]
    causes: tuple[Cause, ...]
    spikes: tuple[Spike, ...]
    rule: SpikeRule
    unreadable: tuple[Unreadable, ...] = field(default=())
    #: The zone times are shown in: the log's own.
    zone: LogZone = field(default=LogZone())
    #: Timed lines written in another zone, by offset (None: no zone stated).
    other_zones: Mapping[int | None, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """All conflicts (409, 412 and 428)."""
        return sum(self.conflicts.values())

    def when(self, time: float) -> str:
        """A bucket's start for people, on the log's clock (seconds only if buckets have them)."""
        return self.zone.show(time, seconds=bool(self.bucket % 60))

    def span_line(self) -> str | None:
        """The span, its zone and its buckets, in one line; None for a log without times."""
        if self.first is None or self.last is None:
            return None
        return (
            f"from {self.zone.show(self.first)} to {self.zone.show(self.last)} "
            f"({self.zone.caption}): {self.bucket_count} buckets of {format_duration(self.bucket)}"
        )

    def zones_line(self) -> str | None:
        """The timed lines written in another zone than the one shown, if any."""
        if not self.other_zones:
            return None
        others = ", ".join(
            f"{count} in {LogZone(offset).label}" for offset, count in self.other_zones.items()
        )
        return f"timed lines written in another zone ({others}) are shown in {self.zone.label}"

    def formats_line(self) -> str | None:
        """A warning when lines of several formats were counted: they may log the same requests."""
        if len(self.formats) < 2:
            return None
        counts = ", ".join(f"{name} {count}" for name, count in self.formats.items())
        return (
            f"lines in {len(self.formats)} formats ({counts}): a request two servers logged "
            "(a proxy and the app behind it) is counted once per server; --format counts one"
        )

    def to_json(self) -> dict[str, Any]:
        """The report as JSON data (``--json``): times in the log's zone, with its offset."""
        iso = self.zone.iso
        return {
            "sources": list(self.sources),
            "unreadable": [{"source": u.source, "reason": u.reason} for u in self.unreadable],
            "lines": {
                "total": self.lines,
                "requests": self.requests,
                "blank": self.blank,
                "unrecognised": self.unrecognised,
            },
            "unrecognised_examples": [
                {"source": s.source, "line": s.number, "text": s.text} for s in self.samples
            ],
            "formats": dict(self.formats),
            "conflicts": {**_by_status(self.conflicts), "total": self.total},
            "untimed": self.untimed,
            "uncaused": self.uncaused,
            "zone": self.zone.label if self.zone.offset is not None else None,
            "other_zones": {
                LogZone(offset).label: count for offset, count in self.other_zones.items()
            },
            "span": {"first": iso(self.first), "last": iso(self.last)},
            "bucket": {"seconds": self.bucket, "label": format_duration(self.bucket)},
            "buckets": self.bucket_count,
            "timeline": [
                {"start": iso(b.start), **_by_status(b.counts), "total": sum(b.counts.values())}
                for b in self.timeline
            ],
            "routes": [_row("route", row) for row in self.routes],
            "methods": [_row("method", row) for row in self.methods],
            "clients": [_row("client", row) for row in self.clients],
            "causes": [
                {
                    "problem": c.problem,
                    "status": c.status,
                    "count": c.count,
                    "top_route": c.top_route,
                    "top_route_count": c.top_route_count,
                }
                for c in self.causes
            ],
            "spike_rule": self.rule.describe(),
            "spikes": [
                {
                    "start": iso(s.start),
                    "status": s.status,
                    "count": s.count,
                    "baseline": round(s.baseline, 6),
                    "expected": float(f"{s.expected:.3g}"),
                    "routes": [{"route": key, "count": n} for key, n in s.routes],
                    "clients": [{"client": key, "count": n} for key, n in s.clients],
                    "approximate": s.approximate,
                }
                for s in self.spikes
            ],
        }


def culprits(pairs: tuple[tuple[str, int], ...]) -> list[str]:
    """A spike's top routes or clients, one line each: ``/v1/orders (25)``."""
    return [f"{key} ({count})" for key, count in pairs]


def _by_status(counts: Mapping[int, int]) -> dict[str, int]:
    return {str(status): counts.get(status, 0) for status in CONFLICT_STATUSES}


def _row(name: str, row: Breakdown) -> dict[str, Any]:
    return {name: row.key, **_by_status(row.counts), "total": row.total}


def _breakdown(counts: Counter[tuple[str, int]]) -> tuple[Breakdown, ...]:
    """Rows by key, most conflicts first (ties by key, for stable output)."""
    rows: dict[str, Counter[int]] = {}
    for (key, status), count in counts.items():
        rows.setdefault(key, Counter())[status] += count
    ordered = sorted(rows.items(), key=lambda item: (-item[1].total(), item[0]))
    return tuple(Breakdown(key, dict(per_status)) for key, per_status in ordered)


def _causes(tally: Tally) -> tuple[Cause, ...]:
    top: dict[str, tuple[int, str]] = {}
    for (problem, route), count in tally.cause_routes.items():
        best = top.get(problem)
        if best is None or (count, best[1]) > (best[0], route):
            top[problem] = (count, route)
    ordered = sorted(tally.causes.items(), key=lambda item: (-item[1], item[0]))
    return tuple(
        Cause(problem, status, count, top[problem][1], top[problem][0])
        for (problem, status), count in ordered
    )


def _named(spike: Spike, tally: Tally, length: int) -> Spike:
    """`spike` with its top routes and clients."""
    culprits = tally.detail.of(spike.start, length, spike.status)
    return Spike(
        spike.start,
        spike.status,
        spike.count,
        spike.baseline,
        spike.expected,
        routes=culprits.routes.top(SPIKE_TOP),
        clients=culprits.clients.top(SPIKE_TOP),
        approximate=culprits.routes.approximate or culprits.clients.approximate,
    )


def build_report(
    tally: Tally,
    *,
    sources: tuple[str, ...],
    bucket: int | None,
    rule: SpikeRule,
    unreadable: tuple[Unreadable, ...] = (),
) -> LogReport:
    """The report of a finished tally; `bucket` None chooses one from the time span."""
    first, last = tally.first, tally.last
    span = 0.0 if first is None or last is None else last - first
    resolution = tally.timeline.resolution
    length = bucket or max(default_bucket(span), resolution)
    buckets = tally.timeline.buckets(length)
    zone = tally.zone or LogZone()
    count = 0
    if first is not None and last is not None:
        offset = zone.seconds
        count = (bucket_start(last, length, offset) - bucket_start(first, length, offset)) // length
        count += 1
    spikes = [
        _named(spike, tally, length)
        for status in CONFLICT_STATUSES
        for spike in find_spikes(
            {start: counts[status] for start, counts in buckets.items() if counts[status]},
            buckets=count,
            status=status,
            rule=rule,
        )
    ]
    spikes.sort(key=lambda spike: (spike.start, spike.status))
    conflicts = {status: tally.statuses[status] for status in CONFLICT_STATUSES}
    return LogReport(
        sources=sources,
        lines=tally.lines,
        blank=tally.blank,
        unrecognised=tally.unrecognised,
        samples=tuple(tally.samples),
        formats=dict(tally.formats.most_common()),
        requests=sum(tally.statuses.values()),
        conflicts=conflicts,
        untimed=tally.untimed,
        uncaused=sum(conflicts.values()) - sum(tally.causes.values()),
        first=first,
        last=last,
        bucket=length,
        bucket_count=count,
        timeline=tuple(Bucket(start, dict(buckets[start])) for start in sorted(buckets)),
        routes=_breakdown(tally.routes),
        methods=_breakdown(tally.methods),
        clients=_breakdown(tally.clients),
        causes=_causes(tally),
        spikes=tuple(spikes),
        rule=rule,
        unreadable=unreadable,
        zone=zone,
        other_zones=dict(tally.other_zones),
    )
