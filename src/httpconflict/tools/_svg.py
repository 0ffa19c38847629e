"""What the tools' charts share: SVG written as text, the palette, and axis ticks.

The tools draw their charts themselves, as SVG text (audit's score ring
and bars, logs' conflicts over time): a chart is a few dozen shapes, and
SVG shows in every browser, inline in an HTML page or as a file, with no
plotting library, no script and nothing fetched.
"""

from __future__ import annotations

import math
from html import escape
from typing import Final

GREEN: Final = "#2e7d32"
AMBER: Final = "#ef8f00"
RED: Final = "#c62828"
BLUE: Final = "#1565c0"
GREY: Final = "#9e9e9e"
TEXT: Final = "#212121"
MUTED: Final = "#616161"


def svg_open(width: int, height: int, label: str, css_class: str = "chart") -> str:
    """The opening <svg> tag of a chart: sized, described for screen readers, standalone."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" role="img" '
        f'aria-label="{escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif">'
    )


def text(x: float, y: float, content: str, *, size: int = 11, **attributes: str) -> str:
    """A <text> element; `content` is escaped, attribute names use - for _."""
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attributes.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{extra}>{escape(content)}</text>'


def ticks(top: int, most: int = 6) -> list[int]:
    """Round values from 0 to at least `top` for an axis, at most about `most` of them."""
    if top <= 0:
        return [0, 1]
    raw = top / (most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(int(step), 1)
    return list(range(0, math.ceil(top / step) * step + 1, step))
