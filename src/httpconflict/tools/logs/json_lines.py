"""JSON access lines: our service's, and generic ones by their usual field names.

Our service writes ``{"time", "method", "path", "status", "problem",
"duration_ms", "client", "worker"}``. Other servers and logging libraries
use other names for the same things, so each value is looked up under a
list of names, first found wins:

    status   status, status_code, statusCode, http_status, response_status,
             http.response.status_code (ECS), httpRequest.status (Google Cloud),
             DownstreamStatus (Traefik: what the client got), response_code
             (Envoy and Istio)
    method   method, request_method, http_method, verb, http.request.method, ...,
             request.method (Caddy), RequestMethod (Traefik)
    target   path, url, uri, request_uri, request_path, url.path, url.original, ...,
             request.uri (Caddy), RequestPath (Traefik),
             request (a whole request line, "GET /a HTTP/1.1", gives the method too)
    client   remote_addr, client, client_ip, remote_ip, ip, client.ip, source.ip, ...,
             request.client_ip (Caddy, the client behind trusted proxies), ClientHost
             (Traefik), fwd (Heroku's X-Forwarded-For: its first address),
             x_forwarded_for, downstream_remote_address (Envoy and Istio)
    time     time, timestamp, @timestamp, ts, datetime, date, time_local, time_iso8601,
             start_time (Envoy and Istio), started_at (Kong, in ms), t (Grafana's logfmt)
    problem  problem, problem_type, problemType, problem.type
    agent    user_agent, userAgent, http_user_agent, agent, user_agent.original (ECS), ...
             (read only when there is no client address)

Azure App Service's ``CsMethod``, ``CsUriStem``, ``ScStatus`` and ``CIp``
are read too. A dotted name is tried as a key first (flattened logs), then
as a path into nested objects; a record whose request is one level down
(Azure's ``properties``, nginx's fields under a key of its own) is read
from there, with the record's time. A line is a request when it has a status (a number,
or a string of three digits) and a method or a target; others (startup
messages, application logs) are not recognised.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from .entry import AccessEntry
from .timestamps import Stamp, epoch_seconds, parse_timestamp

_STATUS: Final = (
    "status",
    "status_code",
    "statusCode",
    "http_status",
    "response_status",
    "http.response.status_code",
    "httpRequest.status",
    "response.status",
    "response.status_code",
    "DownstreamStatus",
    "response_code",
    "ScStatus",
)
_METHOD: Final = (
    "method",
    "request_method",
    "http_method",
    "verb",
    "http.request.method",
    "httpRequest.requestMethod",
    "request.method",
    "RequestMethod",
    "CsMethod",
)
_TARGET: Final = (
    "path",
    "url",
    "uri",
    "request_uri",
    "request_path",
    "target",
    "url.path",
    "url.original",
    "httpRequest.requestUrl",
    "request.url",
    "request.path",
    "request.uri",
    "RequestPath",
    "CsUriStem",
    "request",
)
_CLIENT: Final = (
    "remote_addr",
    "client",
    "client_ip",
    "clientip",
    "remote_ip",
    "ip",
    "remote",
    "client.ip",
    "client.address",
    "source.ip",
    "httpRequest.remoteIp",
    "request.client_ip",
    "request.remote_ip",
    "ClientHost",
    "fwd",
    "x_forwarded_for",
    "downstream_remote_address",
    "CIp",
)
_TIME: Final = (
    "time",
    "timestamp",
    "@timestamp",
    "ts",
    "datetime",
    "date",
    "time_local",
    "time_iso8601",
    "start_time",
    "started_at",
    "t",
)
_PROBLEM: Final = ("problem", "problem_type", "problemType", "problem.type")
_AGENT: Final = (
    "user_agent",
    "userAgent",
    "http_user_agent",
    "agent",
    "user_agent.original",
    "httpRequest.userAgent",
)

#: The seconds since the epoch a number may be to be read as a time: 1990 to 2100.
_EPOCHS: Final = (631_152_000, 4_102_444_800)
# 203.0.113.7:51234 or [2001:db8::1]:51234: the port changes per connection, the client does not.
_HOST_PORT: Final = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}):\d+|\[([0-9A-Fa-f:.]+)\]:\d+")


def _lookup(record: dict[str, Any], name: str) -> Any:
    if name in record:
        return record[name]
    if "." not in name:
        return None
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _first(record: dict[str, Any], names: tuple[str, ...], kinds: tuple[type, ...]) -> Any:
    for name in names:
        value = _lookup(record, name)
        if isinstance(value, kinds) and not isinstance(value, bool) and value != "":
            return value
    return None


def _status(value: Any) -> int | None:
    if isinstance(value, str) and len(value) == 3 and value.isdigit():
        return int(value)
    if isinstance(value, int) and 100 <= value <= 999:
        return value
    return None


def _time(value: Any) -> Stamp | None:
    if isinstance(value, str):
        return parse_timestamp(value)
    if isinstance(value, int | float):
        # A number under another name's key ("t": 5, a count) is no time: only 1990 to 2100.
        stamp = epoch_seconds(value)
        return stamp if _EPOCHS[0] <= stamp.time <= _EPOCHS[1] else None
    return None


def client_address(value: Any) -> str | None:
    """The client a logged value names: an X-Forwarded-For list's first address, without a
    port (203.0.113.7:51234, [2001:db8::1]:51234), or an ASGI scope's [host, port]."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = value[0]  # an ASGI scope's ["host", port]
    if not isinstance(value, str):
        return None
    # An X-Forwarded-For list: the first address is the client's.
    address: str = value.split(",", 1)[0].strip() if "," in value else value
    if match := _HOST_PORT.fullmatch(address):
        return match[1] or match[2]
    return address


def parse_json_line(line: str) -> AccessEntry | None:
    """A JSON object with a status and a method or target (see the module docstring)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # not JSON; nested deeper than the parser goes
        return None
    if not isinstance(record, dict):
        return None
    return record_entry(record)


def record_entry(record: dict[str, Any], log_format: str = "json") -> AccessEntry | None:
    """The request a record of named values describes (a JSON object, a logfmt line's pairs)."""
    status = _status(_first(record, _STATUS, (int, str)))
    method = _first(record, _METHOD, (str,))
    target = _first(record, _TARGET, (str,))
    if status is None or (method is None and target is None):
        return _nested_entry(record, log_format)
    if method is None and target is not None and " " in target:
        parts = target.split(" ")
        method, target = parts[0], parts[1]  # "request": "GET /a HTTP/1.1"
    problem = _first(record, _PROBLEM, (str,))
    ours = "problem" in record and "duration_ms" in record
    when = _time(_first(record, _TIME, (str, int, float)))
    client = client_address(_first(record, _CLIENT, (str, list)))
    return AccessEntry(
        log_format="service-json" if ours and log_format == "json" else log_format,
        status=status,
        method=method or "-",
        target=target or "-",
        time=None if when is None else when.time,
        offset=None if when is None else when.offset,
        client=client,
        agent=None if client else _first(record, _AGENT, (str,)),
        problem=problem,
    )


def _nested_entry(record: dict[str, Any], log_format: str) -> AccessEntry | None:
    """The request an object one level down describes, its time the record's own if it has
    none: Azure App Service's ``properties`` (``CsMethod``, ``ScStatus``), nginx's JSON
    nested under a key of the config's (``"@nginx_fields": {...}``)."""
    for value in record.values():
        if not isinstance(value, dict):
            continue
        fields = value
        if _first(value, _TIME, (str, int, float)) is None:
            outer = _first(record, _TIME, (str, int, float))
            if outer is not None:
                fields = {**value, "time": outer}
        if _status(_first(fields, _STATUS, (int, str))) is None:
            continue
        if _first(fields, _METHOD, (str,)) is None and _first(fields, _TARGET, (str,)) is None:
            continue
        return record_entry(fields, log_format)
    return None
