"""HTTP-date (RFC 9110 §5.6.7): parse all three formats, format the preferred one.

    HTTP-date    = IMF-fixdate / obs-date
    IMF-fixdate  = day-name "," SP date1 SP time-of-day SP GMT     ; Sun, 06 Nov 1994 08:49:37 GMT
    obs-date     = rfc850-date / asctime-date
    rfc850-date  = day-name-l "," SP date2 SP time-of-day SP GMT   ; Sunday, 06-Nov-94 08:49:37 GMT
    asctime-date = day-name SP date3 SP time-of-day SP year        ; Sun Nov  6 08:49:37 1994

All names are case-sensitive (%s"..."). The core never reads the clock, so
the two-digit year of rfc850-date is resolved against a `now` the caller
passes.
"""

from __future__ import annotations

import calendar
import functools
import math
import re
from datetime import UTC, datetime
from typing import Final

from ._errors import MalformedHeader

_DAY: Final = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_DAY_L: Final = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_MONTH: Final = f"(?P<month>{'|'.join(_MONTHS)})"
_TIME: Final = r"(?P<hour>\d\d):(?P<minute>\d\d):(?P<second>\d\d)"

_IMF_FIXDATE: Final = re.compile(
    rf"{_DAY}, (?P<day>\d\d) {_MONTH} (?P<year>\d{{4}}) {_TIME} GMT", re.ASCII
)
_RFC850: Final = re.compile(rf"{_DAY_L}, (?P<day>\d\d)-{_MONTH}-(?P<yy>\d\d) {_TIME} GMT", re.ASCII)
_ASCTIME: Final = re.compile(
    rf"{_DAY} {_MONTH} (?P<day>\d\d| \d) {_TIME} (?P<year>\d{{4}})", re.ASCII
)


def parse_http_date(value: str, *, now: datetime | None = None) -> datetime:
    """Parse an HTTP-date into an aware UTC datetime.

    `now` resolves rfc850-date's two-digit year: RFC 9110 §5.6.7 says a
    recipient "MUST interpret a timestamp that appears to be more than 50
    years in the future as representing the most recent year in the past
    that had the same last two digits". Without `now`, years 70-99 are read
    as 19xx and 00-69 as 20xx.
    """
    text = value.strip(" \t")
    match = _IMF_FIXDATE.fullmatch(text) or _ASCTIME.fullmatch(text)
    if match is not None:
        year = int(match.group("year"))
    else:
        match = _RFC850.fullmatch(text)
        if match is None:
            raise MalformedHeader(
                f"not an HTTP-date: {value!r}; expected e.g. 'Sun, 06 Nov 1994 08:49:37 GMT'",
                value=value,
            )
        year = _two_digit_year(int(match.group("yy")), now)
    second = int(match.group("second"))
    try:
        return datetime(
            year,
            _MONTHS.index(match.group("month")) + 1,
            int(match.group("day")),
            int(match.group("hour")),
            int(match.group("minute")),
            # A leap second (:60) is valid HTTP-date grammar but not a
            # datetime; the second before it is within every comparison's
            # one-second resolution.
            min(second, 59),
            tzinfo=UTC,
        )
    except ValueError:
        raise MalformedHeader(f"not a calendar date and time: {value!r}", value=value) from None


def format_http_date(moment: datetime | float) -> str:
    """Format as IMF-fixdate, the form a sender MUST generate (RFC 9110 §5.6.7).

    `moment` is a datetime (naive means UTC) or seconds since the epoch.
    """
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        # timegm is exact; timestamp() is a float that can round up a second.
        return _format_second(calendar.timegm(moment.utctimetuple()))
    return _format_second(math.floor(moment))


@functools.lru_cache(maxsize=256)
def _format_second(second: int) -> str:
    # Servers format the same few seconds over and over (now, and the
    # Last-Modified of hot documents): cache them.
    utc = datetime.fromtimestamp(second, UTC)
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[utc.weekday()]
    return f"{day}, {utc:%d} {_MONTHS[utc.month - 1]} {utc:%Y %H:%M:%S} GMT"


def _two_digit_year(yy: int, now: datetime | None) -> int:
    if now is None:
        return 1900 + yy if yy >= 70 else 2000 + yy
    year = now.year - now.year % 100 + yy
    if year > now.year + 50:
        year -= 100
    return year
