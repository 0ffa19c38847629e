"""A structured log's lines read as the messages they carry.

Theory of operation. A structured logger writes each record as one line of
JSON and the message in a string member of it, its line ends escaped as
``\\n`` and its quotes as ``\\"``: pino's and bunyan's ``msg`` (and ``err.stack``),
structlog's ``event`` and ``exception``, logrus's ``error``, zap's ``stacktrace``,
Serilog's compact ``@x``, Google Cloud's and CloudWatch's ``message``. On that
one line a traceback is no lines, a status line starts no line, a body's JSON
is a string: the entries' patterns, written for the message as its system
prints it, miss it. So each such line (a JSON object with a level, a severity,
a logger's ``ts`` or Docker's ``stream`` beside its message: a response body
has none of them) is written out as
its message, unescaped, line by line as alone, and then the record without its
message (``{"level":50,"status":409,...}``), which starts a record of one line
(`records`), so the next message is not read as this one's. What that rest
states (a request logger's ``"status":409``, ``"res":{"statusCode":412}``, an
error code) is the message's: `unpacked` says where the message starts, and
`evidence` puts the rest's statuses there. Docker's json-file driver writes a
record per line of a program's output (``{"log":"...\\n","stream":"stderr"}``),
and one per 16 KiB of a longer line: a run of them of one stream is written out
as the output they make, joined. A string that escapes what is no character
(half of a surrogate pair) reads as U+FFFD; a line whose escapes are no JSON
(``\\x41``, a lone backslash) is read with them as text; a line that is no JSON
object stays as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

#: Members that say how bad a record is, when a logger (not a server's body: Spring's error
#: has a ``timestamp``) logged it or from which stream: a one-line JSON object with one of
#: them beside its message is a log record.
_LOG_MEMBERS: Final = frozenset(
    {"level", "lvl", "levelname", "log.level", "severity", "@l", "ts", "@t", "stream"}
)
#: Members that hold the message (read in the record's order); of an ``error`` object, its
#: message and stack.
_MESSAGE_MEMBERS: Final = frozenset(
    {
        "msg",
        "message",
        "@m",
        "event",
        "error",
        "err",
        "exception",
        "exc_info",
        "@x",
        "error.message",
        "error.stack_trace",
        "errorVerbose",
        "stack",
        "stacktrace",
        "stack_trace",
        "log",
    }
)
_ERROR_OBJECTS: Final = frozenset({"error", "err", "exception"})
_ERROR_TEXT: Final = frozenset({"message", "msg", "stack", "stacktrace", "stack_trace"})
#: Docker's and Fluentd's member: a piece of a program's output, line end and all.
_OUTPUT: Final = "log"
#: Members that differ between the records of one program's output.
_TIMES: Final = frozenset({"time", "ts", "timestamp", "@timestamp", "@t"})
# A backslash that starts no JSON escape (a logger that wrote "\x41" or a Windows path).
_BAD_ESCAPE: Final = re.compile(r'\\(?!["\\/bfnrt]|u[0-9a-fA-F]{4})')
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Unpacked:
    """A text with its JSON log lines written out as their messages."""

    text: str
    #: The line (from 0) of the rest of each record, mapped to its message's first line.
    carried: Mapping[int, int] = field(default_factory=dict)
    #: The lines that start a record: each message's first, each rest's.
    starts: frozenset[int] = frozenset()


def unpacked(text: str) -> Unpacked:
    """`text` with each JSON log line written out as its message then the rest of its
    record."""
    if '{"' not in text:
        return Unpacked(text)
    lines = text.split("\n")
    out: list[str] = []
    carried: dict[int, int] = {}
    i = 0
    while i < len(lines):
        found = _log_record(lines[i])
        if found is None:
            out.append(lines[i])
            i += 1
            continue
        message, rest, output = found
        first = i
        i += 1
        # Docker's records of one stream: the program's output, a piece each.
        while output and i < len(lines):
            following = _log_record(lines[i])
            if following is None or not following[2] or _untimed(following[1]) != _untimed(rest):
                break
            message += following[0]
            i += 1
        message = message.rstrip("\n")
        if not message.strip():
            out.extend(lines[first:i])
            continue
        start = len(out)
        out.extend(message.split("\n"))
        carried[len(out)] = start
        out.append(json.dumps(rest, ensure_ascii=False))
    if not carried:
        return Unpacked(text)
    starts = frozenset((*carried, *carried.values()))
    return Unpacked(_SURROGATE.sub("\ufffd", "\n".join(out)), carried, starts)


def _log_record(line: str) -> tuple[str, dict[str, Any], bool] | None:
    """The message of the JSON log record `line` is, the rest of the record and whether it is
    a piece of a program's output (Docker's), or None (no JSON object, or one with no message
    or without a level, a severity or a log time)."""
    stripped = line.strip()
    if not (stripped.startswith('{"') and stripped.endswith("}")):
        return None
    record = _loads(stripped)
    if record is None and "\\" in stripped:
        record = _loads(_BAD_ESCAPE.sub(r"\\\\", stripped))
    if not isinstance(record, dict) or _LOG_MEMBERS.isdisjoint(record):
        return None
    parts: list[str] = []
    rest = dict(record)
    for member in [key for key in record if key in _MESSAGE_MEMBERS]:
        value = record[member]
        if isinstance(value, str):
            # (Docker's piece of output may be a blank line of it)
            if value.strip() or member == _OUTPUT:
                parts.append(value)
                del rest[member]
        elif isinstance(value, dict) and member in _ERROR_OBJECTS:
            texts = [v for k, v in value.items() if k in _ERROR_TEXT and isinstance(v, str)]
            if texts:
                parts.extend(texts)
                left = {k: v for k, v in value.items() if k not in _ERROR_TEXT}
                if left:
                    rest[member] = left
                else:
                    del rest[member]
    if not parts:
        return None
    if isinstance(record.get(_OUTPUT), str) and len(parts) == 1:
        return parts[0], rest, True
    return "\n".join(part.rstrip("\n") for part in parts) + "\n", rest, False


def _loads(text: str) -> Any:
    try:
        # (strict=False: a logger that wrote a tab or a line end as it is)
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return None


def _untimed(rest: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rest.items() if k not in _TIMES}
