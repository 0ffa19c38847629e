"""Parsers for the text access-log formats; each returns an `AccessEntry` or None.

    service-text  2026-11-24T20:11:22.123Z PUT /v1/notes/a 412 precondition-failed 1.24ms token:ci
    combined      203.0.113.7 - - [24/Nov/2026:20:11:22 +0000] "PUT /v1/notes/a HTTP/1.1" 412 96
                  "-" "curl/8.5"    (nginx, Apache; gunicorn's default access format too)
    uvicorn       INFO:     203.0.113.7:51234 - "PUT /v1/notes/a HTTP/1.1" 412 Precondition Failed

The combined pattern also takes the common format (no referer and user
agent) and anything after it ($request_time, gunicorn's %(L)s); the user
agent is read only for a line with no client address ("-"), to name the
client by. The uvicorn
pattern finds its time, if any, in whatever precedes the client: a logging
config's asctime, or gunicorn's ``[2026-11-24 20:11:22 +0000] [7] [INFO]``
when uvicorn workers log through gunicorn's handlers. Both are searched,
not anchored, so a prefix a log shipper adds (docker compose's
``nginx-1  | ``, syslog's host and tag) is skipped. Our service's text line
is read from both ends: its path is a decoded path and may hold spaces.
"""

from __future__ import annotations

import re
from typing import Final

from .entry import AccessEntry
from .timestamps import parse_common_time, parse_timestamp

# Our text line, split from the right: its path may hold spaces, the other fields do not.
_SERVICE_TIME: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
_SERVICE_DURATION: Final = re.compile(r"\d+\.\d+ms")
_METHOD: Final = re.compile(r"[A-Z]+")
# Searched patterns start at a token (?<!\S) and take tokens whole (++): a long line
# without the expected spaces fails in linear time, not quadratic.
# A quoted field of nginx (escapes as \xNN) or Apache (escapes as \" and \\).
_COMBINED: Final = re.compile(
    r'(?<!\S)(?P<client>\S++) \S++ \S++ \[(?P<time>[^\]]{1,64})\] "(?P<request>(?:[^"\\]|\\.)*+)"'
    r" (?P<status>\d{3}) (?:\d++|-)"
)
# uvicorn writes '%s - "%s %s HTTP/%s" %d' with the client as host:port.
_UVICORN: Final = re.compile(
    r'(?<!\S)(?:(?P<client>[^\s"]+?)(?::\d+)? )?- "(?P<method>[A-Z]++) (?P<target>\S++)'
    r' HTTP/\d(?:\.\d)?" (?P<status>\d{3})\b'
)
_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")
# The combined format's referer and user agent, after the size.
_AGENT: Final = re.compile(r' "(?:[^"\\]|\\.)*+" "(?P<agent>(?:[^"\\]|\\.)*+)"')


def parse_service_text(line: str) -> AccessEntry | None:
    """Our service's text access line (`httpconflict.service.accesslog`)."""
    if not line[:1].isdigit():
        return None
    head = line.split(" ", 2)
    tail = line.rsplit(" ", 4)
    # The principal, last, is newer than the rest: a line may end at the duration.
    if len(tail) == 5 and _SERVICE_DURATION.fullmatch(tail[3]):
        tail = tail[:4]
    else:
        tail = line.rsplit(" ", 3)
    if len(head) < 3 or len(tail) < 4:
        return None
    stamp, method, _ = head
    rest, status, problem, duration = tail
    path = rest[len(stamp) + len(method) + 2 :]
    if not (
        path
        and _SERVICE_TIME.fullmatch(stamp)
        and _METHOD.fullmatch(method)
        and len(status) == 3
        and status.isdigit()
        and _SERVICE_DURATION.fullmatch(duration)
    ):
        return None
    when = parse_timestamp(stamp)
    return AccessEntry(
        log_format="service-text",
        status=int(status),
        method=method,
        target=path,
        time=None if when is None else when.time,
        offset=None if when is None else when.offset,
        problem=None if problem == "-" else problem,
    )


def _request_line(request: str) -> tuple[str, str]:
    """Method and target of a logged request line ("-" for each part it lacks)."""
    parts = request.split(" ")
    if len(parts) in (2, 3) and parts[0].isalpha():  # "GET /" (HTTP/0.9) or "GET / HTTP/1.1"
        return parts[0], parts[1]
    return "-", "-"  # "-", a TLS handshake sent to the HTTP port, junk


def parse_combined(line: str) -> AccessEntry | None:
    """An nginx, Apache or gunicorn access line in the combined or common format."""
    match = _COMBINED.search(line)
    if match is None:
        return None
    method, target = _request_line(match["request"])
    client = match["client"]
    when = parse_common_time(match["time"])
    agent = None
    if client == "-" and (found := _AGENT.match(line, match.end())):
        agent = found["agent"]  # read only when there is no address to name the client by
    return AccessEntry(
        log_format="combined",
        status=int(match["status"]),
        method=method,
        target=target,
        time=None if when is None else when.time,
        offset=None if when is None else when.offset,
        client=None if client == "-" else client,
        agent=None if agent in (None, "", "-") else agent,
    )


def parse_uvicorn(line: str) -> AccessEntry | None:
    """A uvicorn access line, with a time in its prefix when a logging config adds one."""
    if "\x1b" in line:  # uvicorn colours the status when it writes to a terminal
        line = _ANSI.sub("", line)
    match = _UVICORN.search(line)
    if match is None:
        return None
    prefix = line[: match.start()]
    when = parse_timestamp(prefix) if prefix.strip() else None
    return AccessEntry(
        log_format="uvicorn",
        status=int(match["status"]),
        method=match["method"],
        target=match["target"],
        time=None if when is None else when.time,
        offset=None if when is None else when.offset,
        client=match["client"] or None,
    )
