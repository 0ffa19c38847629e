"""The report in a terminal: a rich table of checks, then the score and the cleanup."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .catalog import BY_ID
from .report import AuditReport
from .verdict import Verdict

if TYPE_CHECKING:
    from rich.console import Console

STYLES: Final = {
    Verdict.PASS: "bold green",
    Verdict.WARN: "bold yellow",
    Verdict.FAIL: "bold red",
    Verdict.SKIPPED: "dim",
}


def render(report: AuditReport, console: Console) -> None:
    """Print the report."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"httpconflict audit of {report.url}"), show_lines=True)
    for note in report.notes:
        console.print(Text(f"note: {note}"))
    table.add_column("check", ratio=2)
    table.add_column("verdict")
    table.add_column("weight", justify="right")
    table.add_column("evidence", overflow="fold", ratio=5)
    for result in report.results:
        check = BY_ID[result.check]
        table.add_row(
            Text(check.title),
            Text(result.verdict.value, style=STYLES[result.verdict]),
            str(check.weight),
            Text("\n".join(result.evidence)),
        )
    console.print(table)
    score = report.score
    counts = ", ".join(f"{report.count(v)} {v.value}" for v in Verdict)
    line = Text("score ")
    line.append("n/a" if score is None else f"{score}/100", style="bold")
    line.append(f"  ({counts}; {report.requests} requests in {report.duration:.1f} s)")
    console.print(line)
    for said in report.cleanup.lines():
        console.print(Text(said, style="yellow" if said.startswith(" ") else ""))
