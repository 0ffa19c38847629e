"""Reading a change feed's event stream in tests: events parsed as the SSE spec says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    """One server-sent event: its id, type and data (the JSON object it carries)."""

    id: str | None
    event: str
    data: dict[str, Any]


def events(response: httpx.Response) -> Iterator[Event]:
    """The events of a streamed answer, as they arrive (comments and retry lines skipped)."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in fields:
                yield Event(
                    fields.get("id"), fields.get("event", "message"), json.loads(fields["data"])
                )
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value.removeprefix(" ")
