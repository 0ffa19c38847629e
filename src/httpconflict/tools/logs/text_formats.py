"""Parsers for the text access-log formats; each returns an `AccessEntry` or None.

    service-text  2026-11-24T20:11:22.123Z PUT /v1/notes/a 412 precondition-failed 1.24ms token:ci
    combined      203.0.113.7 - - [24/Nov/2026:20:11:22 +0000] "PUT /v1/notes/a HTTP/1.1" 412 96
                  "-" "curl/8.5"    (nginx, Apache, Traefik, ingress-nginx; gunicorn's default)
                  [24/Nov/2026 20:11:22] "PUT /v1/notes/a HTTP/1.1" 412 96   (Django runserver)
                  [2026-11-24T20:11:22.310Z] "PUT /v1/notes/a HTTP/2" 412 - ...   (Envoy)
    uvicorn       INFO:     203.0.113.7:51234 - "PUT /v1/notes/a HTTP/1.1" 412 Precondition Failed
    alb           h2 2026-11-24T20:11:22.186641Z app/lb/50dc 203.0.113.7:2817 10.0.0.66:9000
                  0.000 0.002 0.000 412 412 5 257 "PUT https://host:443/v1/notes/a HTTP/2.0" ...
                  (a Classic Load Balancer's line: the same without its type, "h2")
    haproxy       haproxy[14389]: 203.0.113.7:33317 [24/Nov/2026:20:11:22.655] http-in
                  static/srv1 10/0/30/69/109 412 2750 - - ---- 1/1/1/1/0 0/0 "PUT /v1/notes/a ..."
    logfmt        at=info method=PUT path="/v1/notes/a" fwd="203.0.113.7" status=412 ...   (Heroku)

The combined pattern also takes the common format (no referer and user
agent), anything after it ($request_time, gunicorn's %(L)s, Traefik's
router and duration, ingress-nginx's upstream fields), a line with no
client fields before the bracketed time (Django's runserver, Envoy), a
time with a space for the colon (werkzeug, runserver) or in ISO 8601
(Envoy), and a bracketed client (ingress-nginx's older ``[$the_real_ip]``).
The user agent is read only for a line with no client address ("-"), to
name the client by. The uvicorn pattern finds its time, if any, in
whatever precedes the client: a logging config's asctime, or gunicorn's
``[2026-11-24 20:11:22 +0000] [7] [INFO]`` when uvicorn workers log
through gunicorn's handlers. Both are searched, not anchored, so a prefix
a log shipper adds (docker compose's ``nginx-1  | ``, syslog's host and
tag) is skipped. Terminal colours (werkzeug's, uvicorn's) are dropped
first. Our service's text line is read from both ends: its path is a
decoded path and may hold spaces.

An ALB line has two statuses: the load balancer's (what the client got)
is counted, not the target's. HAProxy's time states no zone. A logfmt
line is a request when it has a status and a method or path, its values
named as in JSON lines (`json_lines.record_entry`); its time, if no pair
gives one, is the one before its first pair (Heroku's line prefix).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Final

from .entry import AccessEntry
from .json_lines import client_address, record_entry
from .timestamps import Stamp, parse_common_time, parse_timestamp

# Our text line, split from the right: its path may hold spaces, the other fields do not.
_SERVICE_TIME: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
_SERVICE_DURATION: Final = re.compile(r"\d+\.\d+ms")
_METHOD: Final = re.compile(r"[A-Z]+")
# Searched patterns start at a token (?<!\S) and take tokens whole (++): a long line
# without the expected spaces fails in linear time, not quadratic.
# A quoted field of nginx (escapes as \xNN) or Apache (escapes as \" and \\).
_COMBINED: Final = re.compile(
    r"(?<!\S)(?:(?P<client>\S++) \S++ \S++ )?"
    r'\[(?P<time>[^\]]{1,64})\] "(?P<request>(?:[^"\\]|\\.)*+)"'
    # The size, or Envoy's response flags ("-", "UF,URX"): both follow the status.
    r" (?P<status>\d{3}) (?:\d++|-|[A-Z]{2,4}(?:,[A-Z]{2,4})*+)(?!\S)"
)
# type time elb client:port target:port 3 times elb_status target_status 2 sizes "request"
# (a Classic Load Balancer's line is the same without its type)
_ALB: Final = re.compile(
    r"(?<!\S)(?:(?:https?|h2|grpcs|wss?) )?(?P<time>\d{4}-\d\d-\d\dT\S++) \S++"
    r" (?P<client>\S+?)(?::\d+)?"
    r' \S++ \S++ \S++ \S++ (?P<status>\d{3}) \S++ \d++ \d++ "(?P<request>[^"]*+)"'
)
# client:port [accept date] frontend backend/server timers status bytes ... "request"
_HAPROXY: Final = re.compile(
    r"(?<!\S)(?P<client>[^\s\[]+?):\d++ \[(?P<time>\d\d/[A-Z][a-z]{2}/\d{4}:[\d:.]{8,16})\]"
    r' \S++ \S++ [\d/+-]++ (?P<status>\d{3}) [^"]*+"(?P<request>(?:[^"\\]|\\.)*+)"'
)
# key=value or key="quoted value", each pair a token of its own.
_LOGFMT_PAIR: Final = re.compile(r'(?<!\S)([\w.@-]++)=("(?:[^"\\]|\\.)*+"|[^\s"]*+)')
# uvicorn writes '%s - "%s %s HTTP/%s" %d' with the client as host:port.
_UVICORN: Final = re.compile(
    r'(?<!\S)(?:(?P<client>[^\s"]+?)(?::\d+)? )?- "(?P<method>[A-Z]++) (?P<target>\S++)'
    r' HTTP/\d(?:\.\d)?" (?P<status>\d{3})\b'
)
_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")
# Django's django.server message, '"%s" %s %s' (request line, status, size), inside whatever
# a logging formatter puts around it ("INFO 2026-11-24 20:11:22,123 basehttp 41 140 ...").
_REQUEST_LINE: Final = re.compile(
    r'(?<!\S)"(?P<method>[A-Z]++) (?P<target>\S++) HTTP/\d(?:\.\d)?" (?P<status>\d{3})'
    r" (?:\d++|-)(?!\S)"
)
# Envoy's default, after the status and flags: bytes in and out, duration, upstream time,
# then "X-Forwarded-For" "User-Agent" "X-Request-Id" "authority" "upstream host".
_ENVOY: Final = re.compile(
    r' \d++ \d++ \d++ \S++ "(?P<forwarded>[^"]*+)" "(?P<agent>(?:[^"\\]|\\.)*+)"'
)
# Istio's default (Envoy's with more): code details, termination details, upstream failure,
# then the counts, the five quoted fields, upstream cluster, upstream local, downstream local,
# and the downstream peer, "203.0.113.5:39696".
_ISTIO: Final = re.compile(
    r' \S++ \S++ "[^"]*+" \d++ \d++ \d++ \S++ "(?P<forwarded>[^"]*+)"'
    r' "(?P<agent>(?:[^"\\]|\\.)*+)" "[^"]*+" "[^"]*+" "[^"]*+" \S++ \S++ \S++'
    r" (?P<peer>\S++)"
)
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


def _plain(line: str) -> str:
    """The line without terminal colours (uvicorn's status, werkzeug's request line)."""
    return _ANSI.sub("", line) if "\x1b" in line else line


def _request_line(request: str) -> tuple[str, str]:
    """Method and target of a logged request line ("-" for each part it lacks)."""
    parts = request.split(" ")
    if len(parts) in (2, 3) and parts[0].isalpha():  # "GET /" (HTTP/0.9) or "GET / HTTP/1.1"
        return parts[0], parts[1]
    return "-", "-"  # "-", a TLS handshake sent to the HTTP port, junk


def parse_combined(line: str) -> AccessEntry | None:
    """An nginx, Apache or gunicorn access line in the combined or common format (and kin)."""
    line = _plain(line)
    match = _COMBINED.search(line)
    if match is None:
        return None
    method, target = _request_line(match["request"])
    client = (match["client"] or "-").strip("[]")  # ingress-nginx's [$the_real_ip]
    when = parse_common_time(match["time"]) or parse_timestamp(match["time"])
    agent = None
    if match["client"] is None and (
        envoy := _ISTIO.match(line, match.end()) or _ENVOY.match(line, match.end())
    ):
        # Envoy's and Istio's lines have no client before their time: X-Forwarded-For, after
        # the counts, names it (its first address), else Istio's downstream peer, else the
        # user agent does.
        forwarded = client_address(envoy["forwarded"])
        peer = client_address(envoy.groupdict().get("peer"))
        client = forwarded if forwarded not in (None, "", "-") else (peer or "-")
        agent = envoy["agent"]
    elif client == "-" and (found := _AGENT.match(line, match.end())):
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
    line = _plain(line)
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


def parse_request_line(line: str) -> AccessEntry | None:
    """A quoted request line, its status and size, after any prefix (a time found there).

    Django's development server logs its requests as a message of that
    form, which a logging formatter other than its own wraps in anything
    (a level, a time, a module, process and thread numbers). A line the
    combined format reads is left to it (it names the client too).
    """
    line = _plain(line)
    match = _REQUEST_LINE.search(line)
    if match is None or _COMBINED.search(line):
        return None  # a combined line (or Envoy's) is the combined parser's, with its client
    prefix = line[: match.start()]
    when = parse_timestamp(prefix) if prefix.strip() else None
    return AccessEntry(
        log_format="django",
        status=int(match["status"]),
        method=match["method"],
        target=match["target"],
        time=None if when is None else when.time,
        offset=None if when is None else when.offset,
    )


def _stamped(
    log_format: str, status: str, request: str, client: str | None, when: Stamp | None
) -> AccessEntry:
    method, target = _request_line(request)
    return AccessEntry(
        log_format=log_format,
        status=int(status),
        method=method,
        target=target,
        time=None if when is None else when.time,
        offset=None if when is None else when.offset,
        client=client,
    )


def parse_alb(line: str) -> AccessEntry | None:
    """An AWS Application Load Balancer access log entry."""
    match = _ALB.match(line)
    if match is None:
        return None
    client = match["client"]
    when = parse_timestamp(match["time"])
    return _stamped("alb", match["status"], match["request"], client, when)


def parse_haproxy(line: str) -> AccessEntry | None:
    """An HAProxy line in its HTTP log format (``option httplog``)."""
    match = _HAPROXY.search(line)
    if match is None:
        return None
    when = parse_common_time(match["time"])
    return _stamped("haproxy", match["status"], match["request"], match["client"], when)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_logfmt(line: str) -> AccessEntry | None:
    """A logfmt line (key=value pairs) that records a request: Heroku's router, Go services."""
    if "status=" not in line:
        return None
    pairs = list(_LOGFMT_PAIR.finditer(line))
    if len(pairs) < 3:
        return None
    record = {match[1]: _unquote(match[2]) for match in pairs}
    entry = record_entry(record, "logfmt")
    if entry is None or entry.time is not None:
        return entry
    when = parse_timestamp(line[: pairs[0].start()])
    if when is None:
        return entry
    return replace(entry, time=when.time, offset=when.offset)
