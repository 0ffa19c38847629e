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
    """Per writer: acknowledged writes as a bar, the part that survived in green, lost in red."""
    if not writers:
        return ""
    top = max(max(int(w["acknowledged"]) for w in writers), 1)
    bar, gap, height, base = 26, 14, 160, 20
    width = 50 + len(writers) * (bar + gap)
    parts = [
        svg_open(width, height + base + 30, "acknowledged and surviving writes per writer"),
        f'<text x="0" y="12" font-size="11" fill="{MUTED}">writes (max {top})</text>',
    ]
    for index, writer in enumerate(writers):
        x = 40 + index * (bar + gap)
        acknowledged = int(writer["acknowledged"])
        survived = writer.get("survived")
        kept = acknowledged if survived is None else int(survived)
        full = height * acknowledged / top
        ok = height * kept / top
        floor = base + height
        parts.append(
            f'<rect x="{x}" y="{floor - full:.1f}" width="{bar}" height="{full:.1f}" '
            f'fill="{RED}"><title>writer {writer["writer"]}: {acknowledged} '
            f"acknowledged, {kept} survived</title></rect>"
        )
        parts.append(
            f'<rect x="{x}" y="{floor - ok:.1f}" width="{bar}" height="{ok:.1f}" fill="{GREEN}"/>'
        )
        parts.append(
            f'<text x="{x + bar / 2}" y="{floor + 14}" text-anchor="middle" font-size="11">'
            f"w{escape(str(writer['writer']))}</text>"
        )
    parts.append(
        f'<line x1="36" y1="{base + height}" x2="{width}" y2="{base + height}" stroke="#757575"/>'
    )
    legend_y = base + height + 28
    parts.append(
        f'<rect x="40" y="{legend_y - 9}" width="10" height="10" fill="{GREEN}"/>'
        f'<text x="54" y="{legend_y}" font-size="11">survived</text>'
        f'<rect x="120" y="{legend_y - 9}" width="10" height="10" fill="{RED}"/>'
        f'<text x="134" y="{legend_y}" font-size="11">lost</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
