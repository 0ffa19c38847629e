"""Running counts over a stream of access lines; memory grows with what is distinct, not read.

Every line is counted (lines, blank, unrecognised, per format, per
status), and its time widens the log's span. Only the answers this tool
is about (409, 412, 428) are folded into keys, since only they are
broken down: route template, method, client, logged cause, and time
slot. Memory is thus bounded by the number of distinct routes, methods,
clients and causes among the conflicts, at most `MAX_KEYS` each (the rest
counted together, under `OTHERS`), and by `timeline.MAX_SLOTS`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

from .detail import BucketDetail
from .entry import CONFLICT_STATUSES, AccessEntry
from .routes import route_template
from .timeline import Timeline
from .zone import LogZone

#: How many unrecognised lines are kept as examples.
SAMPLES: Final = 5
#: How much of an unrecognised line an example keeps.
SAMPLE_LENGTH: Final = 200
#: The key of a client or method the log does not record.
UNKNOWN: Final = "-"
#: Distinct keys a table of conflicts keeps (routes, clients, causes...); past them, new
#: keys are counted together under `OTHERS`: a log of millions of distinct paths (ids the
#: routes do not fold) took gigabytes.
MAX_KEYS: Final = 50_000
OTHERS: Final = "(others, past 50,000 distinct)"


@dataclass(frozen=True, slots=True)
class UnrecognisedLine:
    """An example of a line no parser recognised: where it is, and its start."""

    source: str
    number: int
    text: str


def _kept(counts: Counter[tuple[str, Any]], key: str, second: object) -> str:
    """`key`, or `OTHERS` once `counts` holds `MAX_KEYS` keys and not (`key`, `second`)."""
    if len(counts) < MAX_KEYS or (key, second) in counts:
        return key
    return OTHERS


class Tally:
    """Counts of one run over all its sources."""

    def __init__(self, bucket: int | None = None) -> None:
        self.lines = 0
        self.blank = 0
        self.unrecognised = 0
        self.samples: list[UnrecognisedLine] = []
        self.formats: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.first: float | None = None
        self.last: float | None = None
        #: Conflicts whose line has no time (so they are in no bucket).
        self.untimed = 0
        self.routes: Counter[tuple[str, int]] = Counter()
        self.methods: Counter[tuple[str, int]] = Counter()
        self.clients: Counter[tuple[str, int]] = Counter()
        #: (problem type, status) of the conflicts whose line names one.
        self.causes: Counter[tuple[str, int]] = Counter()
        self.cause_routes: Counter[tuple[str, str]] = Counter()
        self.timeline = Timeline(bucket)
        self.detail = BucketDetail(bucket)
        #: The log's zone: the one its first timed line states (see `zone`).
        self.zone: LogZone | None = None
        #: Timed lines written in another zone than `zone`, by their offset.
        self.other_zones: Counter[int | None] = Counter()

    def add_blank(self) -> None:
        """Count an empty line (not a request, not unrecognised either)."""
        self.lines += 1
        self.blank += 1

    def add_unrecognised(self, source: str, number: int, line: str) -> None:
        """Count a line no parser recognised, keeping the first few as examples."""
        self.lines += 1
        self.unrecognised += 1
        if len(self.samples) < SAMPLES:
            self.samples.append(UnrecognisedLine(source, number, line[:SAMPLE_LENGTH]))

    def add(self, entry: AccessEntry) -> None:
        """Count one recognised line."""
        self.lines += 1
        self.formats[entry.log_format] += 1
        status = entry.status
        self.statuses[status] += 1
        time = entry.time
        if time is not None:
            self._see(time, entry.offset)
        if status not in CONFLICT_STATUSES:
            return
        route = _kept(self.routes, route_template(entry.target), status)
        client = _kept(self.clients, entry.client or entry.agent or UNKNOWN, status)
        self.routes[route, status] += 1
        self.methods[_kept(self.methods, entry.method, status), status] += 1
        self.clients[client, status] += 1
        if entry.problem:
            problem = _kept(self.causes, entry.problem, status)
            self.causes[problem, status] += 1
            self.cause_routes[_kept(self.cause_routes, problem, route), route] += 1
        if time is None:
            self.untimed += 1
        else:
            self.timeline.add(time, status)
            self.detail.add(time, status, route, client)

    def _see(self, time: float, offset: int | None) -> None:
        """Widen the span to `time`; the first timed line sets the zone."""
        zone = self.zone
        if zone is None:
            zone = self.zone = LogZone(offset)
            self.timeline.offset = self.detail.offset = zone.seconds
        elif offset != zone.offset:
            self.other_zones[offset] += 1
        first, last = self.first, self.last
        if first is not None and last is not None and first <= time <= last:
            return
        first = time if first is None else min(first, time)
        last = time if last is None else max(last, time)
        self.first, self.last = first, last
        self.detail.widen(last - first)
