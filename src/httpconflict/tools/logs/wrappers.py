"""What log collectors wrap around an access line, taken off so the line itself can be read.

    docker json-file   {"log":"<line>\\n","stream":"stdout","time":"2026-11-24T20:11:22.123456789Z"}
    kubectl --timestamps, CRI files (the kubelet's /var/log/pods)
                       2026-11-24T20:11:22.123456789Z <line>
                       2026-11-24T20:11:22.123456789Z stdout F <line>
    syslog, journald   Nov 24 20:11:22 web1 httpconflict[812]: <line>
                       2026-11-24T20:11:22+0000 web1 httpconflict[812]: <line>   (-o short-iso)
    Heroku             2026-11-24T20:11:22.515030+00:00 app[web.1]: <line>
    docker compose     web-1  | <line>

A line is unwrapped only when no parser recognised it as it is, and only
once, so a format that starts like a wrapper (our service's text line
starts with an ISO time) is read as itself. The wrapper's time, when it
has one, stands in for the time of a line that gives none (uvicorn's
default line); a line's own time wins. Syslog's RFC 3164 time has no
year, and is not used.
"""

from __future__ import annotations

import json
import re
from typing import Final, NamedTuple

from .timestamps import Stamp, parse_timestamp

# An RFC 3339 time, then a CRI stream and tag, or a syslog host and tag, or nothing.
_STAMPED: Final = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) "
    r"(?:(?:stdout|stderr) [FP] |(?:\S+ )?[^\s:\[]++(?:\[[^\]\s]*+\])?: )?"
)
# RFC 3164: "Mmm dd hh:mm:ss host tag[pid]: ".
_SYSLOG: Final = re.compile(
    r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S++ [^\s:\[]++(?:\[[^\]\s]*+\])?: "
)
_COMPOSE: Final = re.compile(r"[\w.-]++\s*+\| ")
_DOCKER: Final = '{"log":'


class Unwrapped(NamedTuple):
    """The line inside a wrapper, and the wrapper's time (None if it has none, or no year)."""

    line: str
    time: Stamp | None


def _docker(line: str) -> Unwrapped | None:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or not isinstance(inner := record.get("log"), str):
        return None
    stamp = record.get("time")
    when = parse_timestamp(stamp) if isinstance(stamp, str) else None
    return Unwrapped(inner.rstrip("\r\n"), when)


def unwrap(line: str) -> Unwrapped | None:
    """The line a collector wrapped, or None if `line` is not in a known wrapper."""
    if line.startswith(_DOCKER):
        return _docker(line)
    if match := _STAMPED.match(line):
        return Unwrapped(line[match.end() :], parse_timestamp(match["time"]))
    if (match := _SYSLOG.match(line)) or (match := _COMPOSE.match(line)):
        return Unwrapped(line[match.end() :], None)
    return None
