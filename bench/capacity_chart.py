"""The capacity chart: writes/s and GET p99 against the number of documents, per backend.

SVG written by hand with the tools' chart helpers (`httpconflict.tools._svg`),
as `logs --svg` and the audit draw theirs: two panels side by side, the
document count on a logarithmic axis, one line per backend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

from httpconflict.tools._svg import AMBER, BLUE, GREEN, MUTED, TEXT, svg_open, text, ticks

WIDTH: Final = 940
HEIGHT: Final = 390
_PANEL: Final = 420
_LEFT, _TOP, _BOTTOM = 64, 84, 54
_INSET: Final = 28
COLOURS: Final = (BLUE, GREEN, AMBER)

#: backend -> [(documents, value)], in document order.
Series = Mapping[str, Sequence[tuple[int, float]]]


def render(writes: Series, get_p99: Series, caption: str) -> str:
    """The two panels as a standalone SVG document."""
    parts = [
        svg_open(WIDTH, HEIGHT, "writes per second and GET p99 against the number of documents"),
        text(_LEFT, 22, "Read-modify-write against the number of documents", size=15, fill=TEXT),
        text(_LEFT, 40, caption, fill=MUTED),
    ]
    parts += _panel(0, "writes/s (GET + If-Match PUT)", writes, "{:,.0f}")
    parts += _panel(_PANEL + 40, "GET p99 (ms)", get_p99, "{:.1f}")
    parts += _legend(list(writes))
    parts.append("</svg>")
    return "".join(parts)


def _panel(left: int, title: str, series: Series, label: str) -> list[str]:
    counts = sorted({n for points in series.values() for n, _ in points})
    highest = max((v for points in series.values() for _, v in points), default=1)
    scale = 1 if highest >= 10 else 10
    y_ticks = [t / scale for t in ticks(math.ceil(highest * 1.15 * scale))]
    top = y_ticks[-1] or 1
    x0, width = left + _LEFT, _PANEL - _LEFT
    height = HEIGHT - _TOP - _BOTTOM
    low, high = math.log10(min(counts)), math.log10(max(counts))

    def x(n: int) -> float:
        # Inset from the axes, so that the end points' labels clear the axis labels.
        inner = width - 2 * _INSET
        return x0 + _INSET + inner * ((math.log10(n) - low) / (high - low) if high > low else 0.5)

    def y(value: float) -> float:
        return _TOP + height * (1 - value / top)

    parts = [text(x0, _TOP - 8, title, size=12, fill=TEXT)]
    for value in y_ticks:
        parts.append(
            f'<line x1="{x0}" y1="{y(value):.1f}" x2="{x0 + width}" y2="{y(value):.1f}" '
            'stroke="#e0e0e0"/>'
        )
        shown = f"{value:,.0f}" if scale == 1 else f"{value:g}"
        parts.append(text(x0 - 6, y(value) + 4, shown, fill=MUTED, text_anchor="end"))
    for n in counts:
        parts.append(
            f'<line x1="{x(n):.1f}" y1="{_TOP + height}" x2="{x(n):.1f}" '
            f'y2="{_TOP + height + 5}" stroke="{MUTED}"/>'
        )
        parts.append(text(x(n), _TOP + height + 20, f"{n:,}", fill=MUTED, text_anchor="middle"))
    parts.append(
        text(x0 + width / 2, HEIGHT - 10, "documents (log scale)", fill=MUTED, text_anchor="middle")
    )
    for colour, (name, points) in zip(COLOURS, series.items(), strict=False):
        coordinates = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in points)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coordinates}">'
            f"<title>{name}</title></polyline>"
        )
        for n, v in points:
            parts.append(f'<circle cx="{x(n):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}"/>')
            parts.append(
                text(x(n), y(v) - 8, label.format(v), size=10, fill=colour, text_anchor="middle")
            )
    return parts


def _legend(names: Sequence[str]) -> list[str]:
    parts = []
    for index, (colour, name) in enumerate(zip(COLOURS, names, strict=False)):
        left = WIDTH - 240 + index * 120
        parts.append(
            f'<line x1="{left}" y1="18" x2="{left + 18}" y2="18" stroke="{colour}" '
            'stroke-width="2.5"/>'
        )
        parts.append(text(left + 22, 22, name, fill=TEXT))
    return parts
