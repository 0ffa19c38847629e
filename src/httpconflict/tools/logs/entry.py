"""One access-log line, parsed: who asked what, when, and what the answer was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: The statuses this tool is about: conflict, precondition failed, precondition required.
CONFLICT_STATUSES: Final = (409, 412, 428)


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """A request as one access-log line records it.

    Values are kept as logged (the raw request target, the client as
    written); `tally` normalises them only for the lines it counts.
    """

    #: Which parser recognised the line ("combined", "uvicorn", ...).
    log_format: str
    status: int
    #: The request method, or "-" when the line does not say.
    method: str
    #: The request target as logged (may carry a query or a scheme and host).
    target: str
    #: Seconds since the epoch (UTC), or None when the line has no time.
    time: float | None = None
    #: The client address, or None when the log does not record it.
    client: str | None = None
    #: Seconds east of UTC the line wrote its time in; None when it states no zone.
    offset: int | None = None
    #: The client's User-Agent, when the log records it.
    agent: str | None = None
    #: The problem type the server logged for the answer (our service's slug).
    problem: str | None = None
