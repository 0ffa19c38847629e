"""The conflicts over time as an SVG chart: one step line per status, spikes marked.

Drawn as SVG text by hand, as the audit's charts are (see `_svg`): for
``--svg`` and inline in the ``--html`` page. Every bucket of the span is
drawn, empty ones as zero, so a quiet hour reads as quiet and not as a
line drawn across it; each bucket is a step from its start to the next
one's, so one bucket is a segment, not a point. Times are on the log's
own clock, and the zone is written under the axis. The chart carries no
text from the log: only statuses, counts and times (a route or a client
is whatever a client sent).
"""

from __future__ import annotations

from typing import Final

from .._svg import AMBER, BLUE, MUTED, RED, TEXT, svg_open, text, ticks
from .buckets import bucket_start, format_duration
from .entry import CONFLICT_STATUSES
from .report import LogReport
from .zone import LogZone

#: The chart's size in pixels, and the plot's margins inside it.
WIDTH: Final = 1000
HEIGHT: Final = 400
_LEFT, _RIGHT, _TOP, _BOTTOM = 60, 20, 40, 50
COLOURS: Final = {409: RED, 412: BLUE, 428: AMBER}
#: Time labels along the x axis, at most.
_TIME_LABELS: Final = 8


def render_chart(report: LogReport) -> str:
    """The chart of `report` as an <svg> element (a standalone SVG document too)."""
    bucket = format_duration(report.bucket)
    parts = [
        svg_open(WIDTH, HEIGHT, f"409, 412 and 428 answers per {bucket} over time"),
        text(_LEFT, 22, f"409 / 412 / 428 answers per {bucket}", size=15, fill=TEXT),
    ]
    if report.first is None or not report.bucket_count:
        parts.append(
            text(
                WIDTH / 2,
                HEIGHT / 2,
                "no timed requests in the log",
                size=14,
                fill=MUTED,
                text_anchor="middle",
            )
        )
    else:
        parts += _plot(report)
    parts.append("</svg>")
    return "".join(parts)


def _plot(report: LogReport) -> list[str]:
    assert report.first is not None
    zone = report.zone
    start = bucket_start(report.first, report.bucket, zone.seconds)
    count = report.bucket_count
    by_start = {b.start: b.counts for b in report.timeline}
    highest = max((max(b.counts.values(), default=0) for b in report.timeline), default=0)
    # Room above the highest count for the spike labels.
    y_ticks = ticks(max(round(highest * 1.15), 1))
    top = y_ticks[-1]
    width, height = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM

    def x(index: float) -> float:
        return _LEFT + width * index / count

    def y(value: float) -> float:
        return _TOP + height * (1 - value / top)

    parts = []
    for value in y_ticks:
        parts.append(
            f'<line x1="{_LEFT}" y1="{y(value):.1f}" x2="{WIDTH - _RIGHT}" y2="{y(value):.1f}" '
            'stroke="#e0e0e0"/>'
        )
        parts.append(text(_LEFT - 6, y(value) + 4, str(value), fill=MUTED, text_anchor="end"))
    middle = _TOP + height / 2
    parts.append(
        text(
            14,
            middle,
            f"answers per {format_duration(report.bucket)}",
            fill=MUTED,
            text_anchor="middle",
            transform=f"rotate(-90 14 {middle:.1f})",
        )
    )
    step = max(1, -(-count // (_TIME_LABELS - 1)))
    same_day = _day(zone, start) == _day(zone, start + count * report.bucket)
    for index in range(0, count + 1, step):
        moment = start + index * report.bucket
        label = _time_label(zone, moment, same_day, report.bucket)
        parts.append(
            f'<line x1="{x(index):.1f}" y1="{_TOP + height}" x2="{x(index):.1f}" '
            f'y2="{_TOP + height + 5}" stroke="{MUTED}"/>'
        )
        parts.append(text(x(index), _TOP + height + 20, label, fill=MUTED, text_anchor="middle"))
    day = f"{_day(zone, start)} " if same_day else ""
    parts.append(text(_LEFT, HEIGHT - 8, f"{day}({zone.caption})", fill=MUTED))
    parts.append(
        f'<line x1="{_LEFT}" y1="{_TOP + height}" x2="{WIDTH - _RIGHT}" y2="{_TOP + height}" '
        f'stroke="{MUTED}"/>'
    )
    for status in CONFLICT_STATUSES:
        counts = [by_start.get(start + i * report.bucket, {}).get(status, 0) for i in range(count)]
        points = []
        for index, value in enumerate(counts):
            points += [f"{x(index):.1f},{y(value):.1f}", f"{x(index + 1):.1f},{y(value):.1f}"]
        parts.append(
            f'<polyline class="status-{status}" fill="none" stroke="{COLOURS[status]}" '
            f'stroke-width="1.6" points="{" ".join(points)}"><title>{status}</title></polyline>'
        )
    for spike in report.spikes:
        at = (spike.start - start) / report.bucket + 0.5
        parts.append(
            f'<circle class="spike" cx="{x(at):.1f}" cy="{y(spike.count):.1f}" r="6" '
            'fill="none" stroke="black" stroke-width="1.6"/>'
        )
        parts.append(text(x(at) + 8, y(spike.count) - 8, f"spike {spike.status}: {spike.count}"))
    parts.append(_legend())
    return parts


def _legend() -> str:
    parts = []
    for index, status in enumerate(CONFLICT_STATUSES):
        left = WIDTH - _RIGHT - 190 + index * 64
        parts.append(
            f'<line x1="{left}" y1="18" x2="{left + 18}" y2="18" stroke="{COLOURS[status]}" '
            'stroke-width="2.5"/>'
        )
        parts.append(text(left + 22, 22, str(status), fill=TEXT))
    return "".join(parts)


def _day(zone: LogZone, moment: float) -> str:
    return zone.local(moment).strftime("%Y-%m-%d")


def _time_label(zone: LogZone, moment: float, same_day: bool, bucket: int) -> str:
    """A tick's time, as short as the span allows: 11:05 within a day, else the date too."""
    when = zone.local(moment)
    clock = when.strftime("%H:%M:%S" if bucket % 60 else "%H:%M")
    if same_day:
        return clock
    return when.strftime("%m-%d") if bucket % 86400 == 0 else f"{when:%m-%d} {clock}"
