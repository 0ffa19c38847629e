"""The report as one self-contained HTML page: the chart inline as SVG, and the tables.

No script, no stylesheet or image to fetch: the page can be mailed or
attached to a CI run. Every string from the log is HTML-escaped (a route
or a client is whatever a client sent), its control characters written
out, and the chart carries no log text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Final

from .._output import visible
from .entry import CONFLICT_STATUSES
from .report import Breakdown, LogReport, culprits
from .spikes import Spike

_STYLE: Final = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code { word-break: break-all; }
figure { margin: 0; } figure svg { max-width: 100%; height: auto; }
"""


def _shown(text: str) -> str:
    """`text` from the log, HTML-escaped, its control characters written out (\\x1b)."""
    return escape(visible(text))


def _table(caption: str, headers: Sequence[str], rows: Iterable[Sequence[str | int]]) -> str:
    head = "".join(f"<th>{_shown(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{cell}</td>' if isinstance(cell, int) else f"<td>{_shown(cell)}</td>"
            for cell in row
        )
        + "</tr>\n"
        for row in rows
    )
    return f"<table><caption>{_shown(caption)}</caption><tr>{head}</tr>\n{body}</table>\n"


def _breakdown(caption: str, header: str, rows: Sequence[Breakdown], top: int) -> str:
    headers = [header, *map(str, CONFLICT_STATUSES), "total"]
    cells: list[list[str | int]] = [
        [row.key, *(row.counts.get(s, 0) for s in CONFLICT_STATUSES), row.total]
        for row in rows[:top]
    ]
    shown = f" (top {top} of {len(rows)})" if len(rows) > top else ""
    return _table(caption + shown, headers, cells)


_CULPRITS: Final = ("top routes", "top clients")


def _spike_row(report: LogReport, spike: Spike) -> list[str | int]:
    return [
        report.when(spike.start),
        str(spike.status),
        spike.count,
        f"{spike.baseline:.3g}",
        ", ".join(culprits(spike.routes)),
        ", ".join(culprits(spike.clients)),
    ]


def render_page(report: LogReport, chart_svg: str, *, top: int) -> str:
    """The whole HTML page."""
    conflicts = ", ".join(f"{report.conflicts[s]} &times; {s}" for s in CONFLICT_STATUSES)
    summary = [
        f"{report.lines} lines from {_shown(', '.join(report.sources))}: "
        f"{report.requests} requests, {report.unrecognised} unrecognised, {report.blank} blank",
        f"conflicts: {report.total} ({conflicts})",
    ]
    summary += [
        _shown(line)
        for line in (report.span_line(), report.zones_line(), report.formats_line())
        if line
    ]
    summary += [f"unreadable: {_shown(u.source)}: {_shown(u.reason)}" for u in report.unreadable]
    parts = [
        "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n",
        "<title>httpconflict logs: where the 409s come from</title>\n",
        f"<style>{_STYLE}</style>\n</head>\n<body>\n",
        "<h1>Where the 409, 412 and 428 answers come from</h1>\n",
        "".join(f"<p>{line}</p>\n" for line in summary),
        f"<figure>{chart_svg}</figure>\n",
        _breakdown("Routes", "route", report.routes, top),
        _breakdown("Methods", "method", report.methods, top),
        _breakdown("Clients", "client", report.clients, top),
        _table(
            f"Causes (logged problem types; {report.uncaused} conflicts without one)",
            ["problem type", "status", "count", "most from", "there"],
            [
                [c.problem, str(c.status), c.count, c.top_route, c.top_route_count]
                for c in report.causes[:top]
            ],
        ),
        _table(
            f"Spikes ({report.rule.describe()})",
            [f"bucket start ({report.zone.label})", "status", "count", "baseline", *_CULPRITS],
            [_spike_row(report, s) for s in report.spikes],
        ),
    ]
    if report.samples:
        parts.append(
            _table(
                f"Unrecognised lines ({report.unrecognised}), the first few",
                ["source", "line", "text"],
                [[s.source, s.number, s.text] for s in report.samples],
            )
        )
    parts.append("</body>\n</html>\n")
    return "".join(parts)
