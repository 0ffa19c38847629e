"""Which lines of a log are one message: the record a line belongs to.

Theory of operation. A pasted log is a run of records, each started by a
line with a log's prefix (a timestamp, an access log's client and date, a
klog or JSON log line, a level word, a shell prompt), by a new traceback, or
by an exception's headline that no log line or command heads (``AxiosError:
...`` after another message, a stack frame or a JSON log line; not the
exception that ends a Python traceback); the lines after it without such a
prefix (stack frames, a DETAIL line, a pretty-printed object, a response's
headers) continue it, until a record is whole: after a record of one line (a
JSON or access log line), an object closed at a line's start or the
exception that ends a Python traceback, an unindented line that does not go
on with it starts the next (two messages pasted back to back). A prefixed line
whose text is itself a continuation (a PostgreSQL server log's ``DETAIL:``,
an indented frame) continues it too. (The timestamp a CI runner puts on
every line is no prefix: `evidence` takes it off first.) `record`
finds the record of a line by walking out from it, at most `REACH` lines
each way, so a huge log costs only the lines near the message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from typing import Final

#: Lines walked each way from a message's line to find where its record starts and ends.
REACH: Final = 40

# A log's prefix at the start of a line, and what follows it.
_PREFIX: Final = re.compile(
    r"""^(?:
        \[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d|\ UTC)?\]?
          (?:\ \[\d+\])?                              # ISO time (a server's pid after it)
      | \S+\ \S+\ \S+\ \[\d\d/\w{3}/\d{4}:[^\]]*\]    # an access log line
      | [IWEF]\d{4}\ \d\d:\d\d:\d\d\.\d+\s+\d+\ [\w.-]+:\d+\]  # klog
      | \w{3}\ [\ \d]\d\ \d\d:\d\d:\d\d(?:\ \S+\ [\w./-]+(?:\[\d+\])?:)?  # syslog, journald
      | \{"(?:level|lvl|ts|time|timestamp|@timestamp|severity|msg)"  # a JSON log line
      | \[?(?:INFO|WARN(?:ING)?|ERROR|DEBUG|TRACE|FATAL|CRITICAL|NOTICE)\]?(?=[\s:])
      | \$\                                           # a shell prompt
      | Hibernate:
    )""",
    re.VERBOSE,
)
# What goes on with the message above it, whatever that is: an indented line (one space
# separates a prefix from its text; more indent the line), a server's DETAIL line, a cause,
# a stack frame, a closing bracket.
_GOES_ON_WORDS: Final = (
    r"(?:DETAIL|HINT|CONTEXT|STATEMENT|QUERY|WHERE|LOCATION):|Caused by:|at |File \"|[}\])]"
)
_GOES_ON: Final = re.compile(rf"[ \t]{{3,}}|\t|[ \t]*(?:{_GOES_ON_WORDS})")
# After a prefix: this continues the record before it (an object opened at its end too).
_CONTINUES: Final = re.compile(rf"[ \t]{{3,}}|\t|[ \t]*(?:{_GOES_ON_WORDS}|[{{\[(]\s*$)")
# A server's line that continues its message, after a longer prefix of the log's own
# (RDS: "...:postgres@db:[6367]:DETAIL: Key ...", structlog: "[info     ] DETAIL:  Key ...").
_DETAIL_LINE: Final = re.compile(r"(?<!\w)(?:DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION):\s")
#: How far after a prefix such a word may come.
_DETAIL_REACH: Final = 120
# An exception's headline at a line's start ("AxiosError: ...", "org.x.FooException: ..."):
# a new message, unless it ends a Python traceback.
_HEADLINE: Final = re.compile(r"[A-Za-z_][\w.$]*(?:Error|Exception)\b(?=[:(\[ ])")
_TRACEBACK: Final = "Traceback (most recent call last):"
# A record of one line: a JSON object (a JSON log line, a body) or an access log line.
_ONE_LINE: Final = re.compile(
    r"\{\".*\}\s*$|\S+ \S+ \S+ \[\d\d/\w{3}/\d{4}:[^\]]*\] \"[A-Z]+ \S+ HTTP/[\d.]+\" \d{3}\b"
)
# The end of an object printed over lines (Node.js's error object, a pretty-printed body).
_CLOSED: Final = re.compile(r"[}\])]+[;,]?\s*$")
# A stack frame of Java, .NET or JavaScript ("\tat Foo.bar(Foo.java:1)", "    at f (x.js:1:2)").
_FRAME: Final = re.compile(r"\s+at \S")
# The exception that ends a Python traceback ("requests.exceptions.HTTPError: 404 ...").
_TRACEBACK_END: Final = re.compile(
    r"[A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt)\b:? ?"
)
# A traceback after one of these continues the exception before it.
_CHAINED: Final = ("During handling of the above exception", "The above exception was the direct")


def starts_a_record(line: str, before: str = "", above: str = "") -> bool:
    """`line` starts a new record (`before`: the last non-blank line above it, `above`: the
    one above that)."""
    if line.startswith(_TRACEBACK):
        return not before.lstrip().startswith(_CHAINED)
    if _HEADLINE.match(line):
        # Python ends a traceback with its exception, under an indented frame; a log line or
        # a command is the header of the exception printed under it; another exception's
        # headline is not, nor a stack frame of Java, .NET or JavaScript.
        if _FRAME.match(before):
            return True
        return not before[:1].isspace() and not _heads(before)
    prefix = _PREFIX.match(line)
    if prefix is None:
        return _follows_a_record(line, before, above)
    if line.startswith(("{", "$ ")):
        return True
    end = prefix.end()
    continues = _CONTINUES.match(line, end) or _DETAIL_LINE.search(line, end, end + _DETAIL_REACH)
    return continues is None


def _heads(line: str) -> bool:
    """`line` is a log line or a command, which the exception printed under it continues."""
    return starts_a_record(line) and not _HEADLINE.match(line) and not _ONE_LINE.match(line)


def _follows_a_record(line: str, before: str, above: str) -> bool:
    """`line`, which has no log prefix, starts a message pasted after a whole one: `before` is
    a record of one line (a JSON log line, an access log line), an object closed at the
    line's start, or the exception that ends a Python traceback (an unindented line under
    the traceback's indented source line); and `line` does not go on with it (a stack frame,
    a cause, a server's DETAIL line; an indented line under a closed object or an exception)."""
    if _GOES_ON.match(line):
        return False
    if _ONE_LINE.match(before):
        return True
    if line[:1].isspace():
        return False
    if _CLOSED.match(before):
        return True
    return bool(
        not before[:1].isspace()
        and above.startswith("  ")
        and not above.lstrip().startswith(("at ", "..."))
        and _TRACEBACK_END.match(before)
    )


def record(
    line: int,
    count: int,
    text_of: Callable[[int], str],
    starts: Container[int] = frozenset(),
) -> tuple[int, int]:
    """The first and last line of the record holding `line` (of `count` lines; `text_of`
    gives a line's text; `starts`: lines that start one whatever they say), each at most
    `REACH` lines away."""
    first = line
    while first > 0 and line - first < REACH and not _starts(first, text_of, starts):
        first -= 1
    last = line
    while last + 1 < count and last - line < REACH and not _starts(last + 1, text_of, starts):
        last += 1
    return first, last


def _starts(number: int, text_of: Callable[[int], str], starts: Container[int]) -> bool:
    if number in starts:
        return True
    found: list[str] = []
    for above in range(number - 1, max(number - 5, -1), -1):
        text = text_of(above).rstrip()
        if text:
            found.append(text)
            if len(found) == 2:
                break
    before, above_before = (*found, "", "")[:2]
    return starts_a_record(text_of(number), before, above_before)
