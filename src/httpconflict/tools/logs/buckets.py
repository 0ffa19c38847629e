"""Time buckets: ``--bucket`` durations, and the default chosen from the time span.

A bucket starts at a multiple of its length since the epoch on the log's
own wall clock (`zone`), so hour buckets start on the hour and day
buckets at midnight where the log was written. Without
``--bucket``, the bucket is the shortest of `LADDER` of which the log's
time span holds fewer than `MAX_BUCKETS` (whole days beyond that):
an hour of log gets minutes, a day gets 15 minutes, a month gets 6 hours.
Each length in `LADDER` divides the next, which `timeline` relies on.
"""

from __future__ import annotations

import math
import re
from typing import Final

#: The default bucket lengths, in seconds: 1s 10s 1m 5m 15m 1h 6h 1d.
LADDER: Final = (1, 10, 60, 300, 900, 3600, 6 * 3600, 86400)
#: The most buckets the default bucket cuts a time span into.
MAX_BUCKETS: Final = 100

_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION: Final = re.compile(r"(\d+)\s*([smhd]?)")


def parse_duration(text: str) -> int:
    """Seconds from ``90``, ``90s``, ``5m``, ``1h`` or ``1d``; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or int(match[1]) == 0:
        raise ValueError(f"not a duration: {text!r} (try 30s, 5m, 1h or 1d)")
    return int(match[1]) * _UNITS[match[2] or "s"]


def format_duration(seconds: int) -> str:
    """The shortest spelling `parse_duration` reads back: 300 -> "5m"."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def default_bucket(span: float) -> int:
    """The shortest `LADDER` length of which `span` seconds hold fewer than `MAX_BUCKETS`."""
    for length in LADDER:
        if span / length < MAX_BUCKETS:
            return length
    return math.ceil(span / MAX_BUCKETS / 86400) * 86400


def bucket_start(time: float, length: int, offset: int = 0) -> int:
    """The start of the bucket holding `time`, buckets aligned on a clock `offset` seconds
    east of UTC."""
    return math.floor((time + offset) / length) * length - offset
