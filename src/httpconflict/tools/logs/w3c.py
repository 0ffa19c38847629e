"""W3C extended log files (IIS's default): lines whose fields a ``#Fields:`` directive names.

    #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip
             cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
    2026-11-24 20:11:22 10.0.0.4 PUT /v1/notes/42 - 443 - 203.0.113.7 curl/8.5.0 - 409 0 0 15

Unlike the other formats, a line cannot be read alone: the last
``#Fields:`` directive seen says which value is which, so this reader has
state, and each `LineParser` has its own. A line is read when it has as
many values as there are fields, no quotes, a date and time as W3C
writes them (when it names those fields), a status, and a method or a
path, so a line of another format that happens to have as many values is
not read as one. IIS
writes W3C times in UTC; a ``+`` in a value stands for a space (the user
agent), and ``-`` for a value it has not.
"""

from __future__ import annotations

import re
from typing import Final

from .entry import AccessEntry
from .timestamps import parse_timestamp

DIRECTIVE: Final = "#Fields:"
_DATE: Final = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?")


class W3CLog:
    """Reads W3C extended lines by the fields the last ``#Fields:`` directive named."""

    def __init__(self) -> None:
        self._fields: dict[str, int] = {}

    def directive(self, line: str) -> None:
        """Take a ``#`` line: a ``#Fields:`` directive names the values of the lines after it."""
        if line.startswith(DIRECTIVE):
            self._fields = {
                name: index for index, name in enumerate(line[len(DIRECTIVE) :].split())
            }

    def parse(self, line: str) -> AccessEntry | None:
        """The request a W3C line records, or None (no directive yet, or not such a line)."""
        fields = self._fields
        if not fields or '"' in line:  # W3C values hold no quotes (a space is written +)
            return None
        values = line.split()
        if len(values) != len(fields):
            return None

        def value(name: str) -> str | None:
            index = fields.get(name)
            found = None if index is None else values[index]
            return None if found in (None, "-") else found

        status, method, path = value("sc-status"), value("cs-method"), value("cs-uri-stem")
        if status is None or len(status) != 3 or not status.isdigit() or not (method or path):
            return None
        if path and (query := value("cs-uri-query")):
            path = f"{path}?{query}"
        date, clock = value("date"), value("time")
        when = parse_timestamp(f"{date}T{clock}Z") if date and clock else None
        if date and clock and (when is None or not _DATE.fullmatch(f"{date} {clock}")):
            return None  # another format's line that happens to have as many values
        client = value("c-ip")
        agent = value("cs(User-Agent)")
        return AccessEntry(
            log_format="w3c",
            status=int(status),
            method=method or "-",
            target=path or "-",
            time=None if when is None else when.time,
            offset=None if when is None else 0,
            client=client,
            agent=None if client or agent is None else agent.replace("+", " "),
        )
