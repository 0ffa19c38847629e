"""The results as an aligned markdown table, and the results section of docs/benchmarks.md."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .wrk import WrkResult

RESULTS_HEADING: Final = "## Results"


@dataclass(frozen=True, slots=True)
class Row:
    """One contender's runs, and the contender its ratio is taken against."""

    test: str
    label: str
    runs: Sequence[WrkResult]
    reference: Row | None = None

    @property
    def median(self) -> float:
        return statistics.median(r.rps for r in self.runs)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.runs)

    @property
    def bad(self) -> int:
        return sum(r.bad for r in self.runs)

    @property
    def socket_errors(self) -> int:
        return sum(r.socket_errors for r in self.runs)

    @property
    def statuses(self) -> Counter[int]:
        total: Counter[int] = Counter()
        for run in self.runs:
            total.update(run.statuses)
        return total

    def ratio(self) -> float:
        if self.reference is None:
            return 1.0
        return self.median / self.reference.median if self.reference.median else float("nan")


def table(rows: Sequence[Row]) -> str:
    """A markdown table, padded so it also reads as plain text."""
    header = (
        "Test",
        "Contender",
        "req/s (median)",
        "req/s per round",
        "Ratio of medians",
        "Answers by status",
        "Unexpected",
        "Socket errors",
    )
    body = [
        (
            row.test,
            row.label,
            f"{row.median:,.0f}",
            " / ".join(f"{r.rps:,.0f}" for r in row.runs),
            f"{row.ratio():.2f}x {row.reference.label}" if row.reference else "1.00x (reference)",
            ", ".join(f"{s}: {n:,}" for s, n in sorted(row.statuses.items())),
            f"{row.bad:,}",
            f"{row.socket_errors:,}",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    numeric = {2, 3, 6, 7}

    def line(cells: Sequence[str]) -> str:
        padded = (
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        "-" * (w + 1) + ":" if i in numeric else "-" * (w + 2) for i, w in enumerate(widths)
    )
    return "\n".join([line(header), rule + "|", *(line(cells) for cells in body)])


def write_results(path: Path, section: str, *, heading: str = RESULTS_HEADING) -> None:
    """Replace the section under `heading` (up to the next "## " heading) of `path`."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    head, found, rest = text.partition(heading + "\n")
    if not found:
        head, rest = text.rstrip("\n") + "\n\n", ""
    following = rest.find("\n## ")
    tail = rest[following + 1 :] if following >= 0 else ""
    block = f"{heading}\n\n{section.rstrip()}\n"
    path.write_text(f"{head}{block}" + (f"\n{tail}" if tail else ""))


def cpu_table(
    cpu: dict[str, list[float]], reference: str, what: str = "server CPU µs/request"
) -> str:
    """Server CPU µs per request by contender (median of rounds), and its ratio to `reference`.

    The ratio is the reference's CPU over the contender's: what req/s would
    come to where the server's CPU is the limit (1.00x: no dearer).
    """
    base = statistics.median(cpu[reference])
    lines = [
        f"| Contender | {what} (median) | per round | Ratio (CPU-bound req/s) |",
        "|---|--:|--:|---|",
    ]
    for label, values in cpu.items():
        median = statistics.median(values)
        rounds = " / ".join(f"{v:,.0f}" for v in values)
        ratio = "1.00x (reference)" if label == reference else f"{base / median:.2f}x"
        lines.append(f"| {label} | {median:,.0f} | {rounds} | {ratio} |")
    return "\n".join(lines)
