"""The conflicts over time as a chart: one line per status, spikes marked.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, so no
global figure state and no GUI backend), as PNG for ``--png`` and as SVG
for the HTML page. Every bucket of the span is drawn, empty ones as zero,
so a quiet hour reads as quiet and not as a line drawn across it. The
chart carries no text from the log (a route could hold ``$`` and be read
as mathtext): only statuses, counts and times.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Final, Literal

from .buckets import bucket_start, format_duration
from .entry import CONFLICT_STATUSES
from .report import LogReport

#: Figure size in inches and resolution: a PNG of 1000 x 400 pixels.
SIZE: Final = (10.0, 4.0)
DPI: Final = 100
_COLOURS: Final = {409: "tab:red", 412: "tab:blue", 428: "tab:orange"}


def _when(start: float) -> datetime:
    return datetime.fromtimestamp(start, UTC)


def render_chart(report: LogReport, image_format: Literal["png", "svg"]) -> bytes:
    """The chart of `report` as a PNG or SVG image."""
    import matplotlib
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bucket = format_duration(report.bucket)
    axes.set_title(f"409 / 412 / 428 answers per {bucket}", loc="left")
    axes.set_ylabel(f"answers per {bucket}")
    if report.first is None or not report.bucket_count:
        axes.text(0.5, 0.5, "no timed requests in the log", ha="center", transform=axes.transAxes)
        axes.set_xticks([])
        axes.set_yticks([])
    else:
        start = bucket_start(report.first, report.bucket)
        # Each bucket is a step from its start to the next one's, so the last
        # bucket's end is drawn too (and one bucket is not a single point).
        edges = [start + i * report.bucket for i in range(report.bucket_count + 1)]
        times = np.array(edges, dtype="datetime64[s]")
        by_start = {b.start: b.counts for b in report.timeline}
        with matplotlib.rc_context({"date.converter": "concise"}):
            for status in CONFLICT_STATUSES:
                counts = [by_start.get(s, {}).get(status, 0) for s in edges[:-1]]
                axes.plot(
                    times,
                    [*counts, counts[-1]],
                    drawstyle="steps-post",
                    label=str(status),
                    color=_COLOURS[status],
                    linewidth=1.4,
                )
            for spike in report.spikes:
                middle = spike.start + report.bucket // 2
                axes.plot(
                    np.array([middle], dtype="datetime64[s]"),
                    [spike.count],
                    marker="o",
                    markersize=9,
                    markerfacecolor="none",
                    markeredgecolor="black",
                    markeredgewidth=1.6,
                    linestyle="none",
                )
                axes.annotate(
                    f"spike {spike.status}: {spike.count}",
                    (_when(middle), spike.count),
                    xytext=(6, 6),
                    textcoords="offset points",
                    fontsize=8,
                )
        axes.margins(x=0)
        highest = max((max(b.counts.values(), default=0) for b in report.timeline), default=0)
        axes.set_ylim(0, max(highest, 1) * 1.15)  # room for the spike labels
        axes.legend(loc="upper right", title="status")
        axes.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format, dpi=DPI)
    return buffer.getvalue()
