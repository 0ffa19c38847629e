"""The autosave experiment's chart: edits lost, conflicts shown, requests, per mode."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .autosave import Outcome

COLOURS = ("#b2182b", "#ef8a62", "#2166ac")


def write_chart(path: Path, outcomes: Sequence[Outcome]) -> None:
    """Three bar charts side by side, one bar per mode, as a PNG at `path`."""
    # Imported here, not with the module: the test suite's every worker imports
    # this module when it collects, and matplotlib with numpy took 1 s of that.
    import matplotlib

    matplotlib.use("Agg")  # no display: write files only
    import matplotlib.pyplot as plt  # after choosing the backend

    panels = (
        ("Edits lost", [o.lost for o in outcomes]),
        ("Conflicts shown to users", [o.conflicts for o in outcomes]),
        ("Requests sent", [o.requests for o in outcomes]),
    )
    labels = [o.mode.replace(" (", "\n(") for o in outcomes]
    figure, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    for axis, (title, values) in zip(axes, panels, strict=True):
        bars = axis.bar(range(len(values)), values, color=COLOURS[: len(values)])
        axis.bar_label(bars, labels=[f"{v:,}" for v in values], padding=2)
        axis.set_title(title)
        axis.set_xticks(range(len(values)), labels, fontsize=8)
        axis.margins(y=0.15)
        axis.spines[["top", "right"]].set_visible(False)
    figure.suptitle("Autosave from several tabs: three ways to save")
    figure.savefig(path, dpi=110)
    plt.close(figure)
