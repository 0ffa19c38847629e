"""The HTML report's charts, as inline SVG text (no script, no external resource; see `_svg`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from .._svg import AMBER, GREEN, GREY, MUTED, RED, TEXT, svg_open


def score_colour(score: int | None) -> str:
    if score is None:
        return GREY
    return GREEN if score >= 90 else AMBER if score >= 60 else RED


def score_ring(score: int | None, size: int = 140) -> str:
    """A ring filled to `score` percent, the number in the middle."""
    radius = size / 2 - 10
    circumference = 2 * math.pi * radius
    filled = circumference * (score or 0) / 100
    centre = size / 2
    label = "n/a" if score is None else str(score)
    return (
        svg_open(size, size, f"score {label} of 100", "ring")
        + f'<circle cx="{centre}" cy="{centre}" r="{radius:.1f}" fill="none" stroke="#e0e0e0" '
        'stroke-width="14"/>'
        f'<circle cx="{centre}" cy="{centre}" r="{radius:.1f}" fill="none" '
        f'stroke="{score_colour(score)}" stroke-width="14" stroke-linecap="butt" '
        f'stroke-dasharray="{filled:.1f} {circumference:.1f}" '
        f'transform="rotate(-90 {centre} {centre})"/>'
        f'<text x="{centre}" y="{centre + 12}" text-anchor="middle" font-size="36" '
        f'font-weight="bold" fill="{TEXT}">{escape(label)}</text></svg>'
    )


def writer_bars(writers: Sequence[Mapping[str, Any]]) -> str:
    """Per writer, one stacked bar of its writes: acknowledged, refused, server errors."""
    if not writers:
        return ""
    parts_of = ("acknowledged", "refused", "server_errors")
    colours = {"acknowledged": GREEN, "refused": GREY, "server_errors": RED}
    top = max(max(sum(int(w.get(k, 0)) for k in parts_of) for w in writers), 1)
    bar, gap, height, base = 26, 14, 160, 20
    width = max(50 + len(writers) * (bar + gap), 330)
    floor = base + height
    parts = [
        svg_open(width, height + base + 30, "each writer's writes: acknowledged, refused, 5xx"),
        f'<text x="0" y="12" font-size="11" fill="{MUTED}">writes (max {top})</text>',
    ]
    for index, writer in enumerate(writers):
        x = 40 + index * (bar + gap)
        y = float(floor)
        counts = {k: int(writer.get(k, 0)) for k in parts_of}
        for kind in parts_of:
            size = height * counts[kind] / top
            y -= size
            parts.append(
                f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{size:.1f}" '
                f'fill="{colours[kind]}"><title>writer {writer["writer"]}: {counts[kind]} '
                f"{kind.replace('_', ' ')}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2}" y="{floor + 14}" text-anchor="middle" font-size="11">'
            f"w{escape(str(writer['writer']))}</text>"
        )
    parts.append(f'<line x1="36" y1="{floor}" x2="{width}" y2="{floor}" stroke="#757575"/>')
    legend_y = floor + 28
    for offset, kind in zip((40, 150, 240), parts_of, strict=True):
        parts.append(
            f'<rect x="{offset}" y="{legend_y - 9}" width="10" height="10" '
            f'fill="{colours[kind]}"/><text x="{offset + 14}" y="{legend_y}" '
            f'font-size="11">{kind.replace("_", " ")}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
