"""Times as access logs write them, read into seconds since the epoch and the zone written.

These spellings cover the formats this tool reads:

    common log format   24/Nov/2026:20:11:22 +0000       nginx, Apache, gunicorn
                        24/Nov/2026 20:11:22             werkzeug, Django runserver
    ISO 8601            2026-11-24T20:11:22.123Z          our service, JSON logs
    logging asctime     2026-11-24 20:11:22,123           uvicorn under a logging config

Each time is read as a `Stamp`: the instant, and the offset from UTC it
was written in (``+0200`` is 7200 seconds, ``Z`` is 0), so a report can
show times in the log's own zone. A time without an offset states no
zone: it is read as if it were UTC, and its offset is None, so that it is
shown as it was written, without a zone. JSON logs may also give a
number: seconds since the epoch (UTC by definition), or milli-, micro- or
nanoseconds, told apart by magnitude.
"""

from __future__ import annotations

import calendar
import re
from functools import lru_cache
from typing import Final, NamedTuple


class Stamp(NamedTuple):
    """An instant as a log line wrote it."""

    #: Seconds since the epoch.
    time: float
    #: Seconds east of UTC the line wrote it in; None when it states no zone.
    offset: int | None


_MONTHS: Final = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}

# %d/%b/%Y:%H:%M:%S %z, as nginx's $time_local and Apache's and gunicorn's %t write it;
# werkzeug and Django's runserver write a space for the colon, and no zone.
_COMMON: Final = re.compile(
    r"(\d{1,2})/([A-Z][a-z]{2})/(\d{4})[: ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:\s*([+-])(\d{2}):?(\d{2}))?"
)
# date, T or space, time, optional fraction (. or the , of logging's asctime), optional zone.
_ISO: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"\s?(?:(Z)|([+-])(\d{2}):?(\d{2}))?"
)


def _seconds(
    date: tuple[int, int, int], clock: tuple[int, int, int], fraction: str | None
) -> float | None:
    year, month, day = date
    hour, minute, second = clock
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second <= 60):
        return None
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    return seconds + (float("0." + fraction) if fraction else 0.0)


def _offset(sign: str | None, hours: str | None, minutes: str | None) -> int | None:
    if not sign or hours is None or minutes is None:
        return None
    offset = int(hours) * 3600 + int(minutes) * 60
    return -offset if sign == "-" else offset


def _stamp(local: float | None, offset: int | None) -> Stamp | None:
    if local is None:
        return None
    return Stamp(local - (offset or 0), offset)


def _from_iso(match: re.Match[str]) -> Stamp | None:
    year, month, day, hour, minute, second = map(int, match.group(1, 2, 3, 4, 5, 6))
    local = _seconds((year, month, day), (hour, minute, second), match[7])
    offset = 0 if match[8] else _offset(match[9], match[10], match[11])
    return _stamp(local, offset)


def _from_common(match: re.Match[str]) -> Stamp | None:
    month = _MONTHS.get(match[2])
    if month is None:
        return None
    day, year, hour, minute, second = map(int, match.group(1, 3, 4, 5, 6))
    local = _seconds((year, month, day), (hour, minute, second), match[7])
    return _stamp(local, _offset(match[8], match[9], match[10]))


# Many lines share a time (to the second in the common log format): a small cache pays.
@lru_cache(maxsize=256)
def parse_common_time(text: str) -> Stamp | None:
    """The instant and zone of a common log format time, or None."""
    match = _COMMON.match(text)
    return None if match is None else _from_common(match)


@lru_cache(maxsize=256)
def parse_timestamp(text: str) -> Stamp | None:
    """The instant and zone of the first time found in `text`, or None."""
    if match := _ISO.search(text):
        return _from_iso(match)
    if match := _COMMON.search(text):
        return _from_common(match)
    return None


def epoch_seconds(number: float) -> Stamp:
    """A number a JSON log gives as a time, in seconds (UTC): ms, µs and ns told apart by size."""
    magnitude = abs(number)
    if magnitude >= 1e17:
        return Stamp(number / 1e9, 0)
    if magnitude >= 1e14:
        return Stamp(number / 1e6, 0)
    if magnitude >= 1e11:
        return Stamp(number / 1e3, 0)
    return Stamp(float(number), 0)
