"""Which parsers read a line: per line by default, or the ones ``--format`` names.

Detection is per line, so a file that mixes formats (two servers'
logs concatenated, stderr interleaved with the access log) is read whole.
A line starting with ``{`` is JSON, whatever else it could be. Any other
line goes to the text parsers: our service's text line, combined, uvicorn,
ALB, HAProxy, logfmt, W3C. Their patterns exclude each other (a combined line
has a bracketed time right before a quoted request, a uvicorn line ``- "``,
an ALB line starts with its type and an ISO time, an HAProxy line has
fields between its bracketed time and the request, a logfmt line has no
quoted request, ours neither quotes nor brackets, a W3C line has its
directive's count of values and W3C's date and time), so the order only
matters for speed: the parser that recognised the previous line is tried
first, and as logs are mostly one format, most lines take one try.

W3C extended lines (IIS) are read by the fields their file's last
``#Fields:`` directive names, so each `LineParser` keeps that directive
(`w3c`).

A line no parser recognises may be wrapped by a log collector (docker's
JSON, a kubectl or syslog prefix: see `wrappers`); it is unwrapped once
and read again.

A forced format limits the parsers to its own; lines in other formats then
count as unrecognised. ``nginx`` and ``apache`` are names for ``combined``,
``heroku`` for ``logfmt``, ``iis`` for ``w3c``;
``gunicorn`` is combined (its default access format) or uvicorn (what
uvicorn workers write through gunicorn's handlers); ``django`` is combined
(runserver's own format) or its request message in any other logging
format (`parse_request_line`, tried last in auto: the others exclude it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Final

from .entry import AccessEntry
from .json_lines import parse_json_line
from .text_formats import (
    parse_alb,
    parse_combined,
    parse_haproxy,
    parse_logfmt,
    parse_request_line,
    parse_service_text,
    parse_uvicorn,
)
from .w3c import W3CLog
from .wrappers import unwrap

Parser = Callable[[str], AccessEntry | None]

_TEXT: Final[tuple[Parser, ...]] = (
    parse_service_text,
    parse_combined,
    parse_uvicorn,
    parse_alb,
    parse_haproxy,
    parse_logfmt,
    parse_request_line,
)

#: What ``--format`` accepts, and the text parsers each name allows
#: (JSON lines are read unless the format is a text one).
FORMATS: Final[dict[str, tuple[Parser, ...]]] = {
    "auto": _TEXT,
    "service": (parse_service_text,),
    "combined": (parse_combined,),
    "nginx": (parse_combined,),
    "apache": (parse_combined,),
    "gunicorn": (parse_combined, parse_uvicorn),
    "uvicorn": (parse_uvicorn,),
    "django": (parse_combined, parse_request_line),
    "alb": (parse_alb,),
    "haproxy": (parse_haproxy,),
    "logfmt": (parse_logfmt,),
    "heroku": (parse_logfmt,),
    "w3c": (),
    "iis": (),
    "json": (),
}
_READS_JSON: Final = frozenset({"auto", "service", "json"})
_READS_W3C: Final = frozenset({"auto", "w3c", "iis"})


class LineParser:
    """Turns lines into entries with the parsers of one ``--format``."""

    def __init__(self, log_format: str = "auto") -> None:
        self._text = list(FORMATS[log_format])
        self._json = log_format in _READS_JSON
        self._w3c = W3CLog() if log_format in _READS_W3C else None
        if self._w3c is not None:
            self._text.append(self._w3c.parse)

    def parse(self, line: str) -> AccessEntry | None:
        """The entry a line records, or None if no parser of the format recognises it."""
        if line.startswith("#"):  # a W3C directive (no other format starts so)
            if self._w3c is not None:
                self._w3c.directive(line)
            return None
        entry = self._parse(line)
        if entry is not None or (inner := unwrap(line)) is None:
            return entry
        entry = self._parse(inner.line)
        if entry is None or entry.time is not None or inner.time is None:
            return entry
        return replace(entry, time=inner.time.time, offset=inner.time.offset)

    def _parse(self, line: str) -> AccessEntry | None:
        if line.startswith("{"):
            return parse_json_line(line) if self._json else None
        text = self._text
        for index, parser in enumerate(text):
            entry = parser(line)
            if entry is not None:
                if index:  # try this one first next time
                    text.insert(0, text.pop(index))
                return entry
        return None
