"""The report as rich tables: a summary, then routes, methods, clients, causes, spikes.

Everything shown from the log (routes, clients, unrecognised lines) is
attacker-controlled text: it goes into `rich.text.Text` cells, never into
markup, and control characters are escaped, so a log line can neither
restyle the output nor send escape sequences to the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._output import visible
from .entry import CONFLICT_STATUSES
from .report import Breakdown, LogReport, culprits

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


def printable(text: str) -> str:
    """`text` on one line, its control characters shown as escapes (\\x1b, \\u202e, \\n)."""
    return visible(text).replace("\t", "\\t").replace("\n", "\\n")


def _breakdown_table(title: str, header: str, rows: Sequence[Breakdown], top: int) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    table.add_column(header, overflow="fold")
    for status in CONFLICT_STATUSES:
        table.add_column(str(status), justify="right")
    table.add_column("total", justify="right", style="bold")
    for row in rows[:top]:
        cells = [str(row.counts.get(status, 0)) for status in CONFLICT_STATUSES]
        table.add_row(Text(printable(row.key)), *cells, str(row.total))
    if len(rows) > top:
        table.caption = f"top {top} of {len(rows)}"
    return table


def _summary(report: LogReport) -> list[str]:
    conflicts = ", ".join(f"{report.conflicts[s]} x {s}" for s in CONFLICT_STATUSES)
    formats = ", ".join(f"{name} {count}" for name, count in report.formats.items()) or "none"
    lines = [
        f"{report.lines} lines: {report.requests} requests ({formats}), "
        f"{report.unrecognised} unrecognised, {report.blank} blank",
        f"conflicts: {report.total} ({conflicts})",
    ]
    lines += [
        line for line in (report.span_line(), report.zones_line(), report.formats_line()) if line
    ]
    if report.untimed:
        lines.append(f"{report.untimed} conflicts have no time on their line (in no bucket)")
    return lines


def render(report: LogReport, console: Console, *, top: int) -> None:
    """Print the report on `console`."""
    from rich.table import Table
    from rich.text import Text

    for line in _summary(report):
        console.print(Text(line))
    for failure in report.unreadable:
        console.print(
            Text(f"unreadable: {printable(failure.source)}: {printable(failure.reason)}"),
            style="red",
        )
    if report.total:
        console.print(_breakdown_table("Routes", "route", report.routes, top))
        console.print(_breakdown_table("Methods", "method", report.methods, top))
        console.print(_breakdown_table("Clients", "client", report.clients, top))
    if report.causes:
        causes = Table(title="Causes (logged problem types)", title_justify="left")
        for header in ("problem type", "status", "count", "most from"):
            causes.add_column(header, justify="right" if header == "count" else "left")
        for cause in report.causes[:top]:
            where = printable(f"{cause.top_route} ({cause.top_route_count})")
            causes.add_row(
                Text(printable(cause.problem)), str(cause.status), str(cause.count), Text(where)
            )
        if report.uncaused:
            causes.caption = f"{report.uncaused} conflicts without a logged problem type"
        console.print(causes)
    spikes = Table(title=f"Spikes ({report.rule.describe()})", title_justify="left")
    spikes.add_column(f"start ({report.zone.label})", no_wrap=True)
    for header in ("status", "count", "baseline"):
        spikes.add_column(header, justify="right")
    spikes.add_column("top routes", overflow="fold")
    spikes.add_column("top clients", overflow="fold")
    for spike in report.spikes:
        spikes.add_row(
            report.when(spike.start),
            str(spike.status),
            str(spike.count),
            f"{spike.baseline:.3g}",
            Text("\n".join(map(printable, culprits(spike.routes)))),
            Text("\n".join(map(printable, culprits(spike.clients)))),
        )
    if any(spike.approximate for spike in report.spikes):
        spikes.caption = "top counts of a bucket with very many routes or clients may be high"
    if report.spikes:
        console.print(spikes)
    elif report.total:
        console.print(Text(f"no spikes ({report.rule.describe()})"))
    if report.samples:
        console.print(Text(f"{report.unrecognised} unrecognised lines, for example:"))
        for sample in report.samples:
            where = f"  {printable(sample.source)}:{sample.number}: "
            console.print(Text(where + printable(sample.text)), style="dim")
