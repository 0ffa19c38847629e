"""What an outage is: how a database failed a request, and which database (see `_outage`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutageKind(StrEnum):
    """How a database failed a request (see `httpconflict._outage`)."""

    REFUSED = "refused"
    GAVE_UP = "gave-up"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class Outage:
    """A database failure that is not the request's doing, and how it failed."""

    kind: OutageKind
    dialect: str
    #: Why, when the database said (its disk full, its memory out), in words for the client.
    reason: str | None = None
