"""The request body bytes a worker holds at once, against ``--max-body-memory``.

Theory of operation: a connection's `ConnectionBodies` counts, per request,
the bytes of its body past the first `UNCOUNTED_BODY`, from their arrival
until that request's answer is complete, in one total shared by the
worker's connections (`held`). A body that would take the total past the
limit while others hold some is refused (the protocol answers 503); a body
alone is always taken, however large. Without it, uploads left unfinished
until the body timeout, one per connection, held a megabyte each: 300 grew
a worker by 333 MiB. The bodies' first bytes are what every request has:
their memory is bounded by the connections (uvicorn stops reading a body
the app has not read at 64 KiB).

Each request's bytes are its own: those of a body pipelined behind another
are held until its own answer, and the rest of a body already answered,
which uvicorn drops as it comes, counts nothing (counted, a client sending
it for the body timeout held the budget, and every other body past 64 KiB
got 503, with no byte held).
"""

from __future__ import annotations

import logging
import time
from typing import Final, Protocol

#: Bytes of each request's body not counted against the limit.
UNCOUNTED_BODY: Final = 64 * 1024
#: Seconds between two warnings that the limit was reached.
_WARN_EVERY: Final = 60.0

log = logging.getLogger("httpconflict")


class Answered(Protocol):
    """A request as uvicorn runs it: whether its answer is complete."""

    @property
    def response_complete(self) -> bool: ...


class WorkerBodies:
    """The bytes held by the bodies of all of a worker's connections."""

    held = 0
    _last_warning = 0.0

    @classmethod
    def warn(cls, limit: int) -> None:
        """Log, once a minute at most, that the limit was reached."""
        now = time.monotonic()
        if now - cls._last_warning >= _WARN_EVERY:
            cls._last_warning = now
            log.warning(
                "request bodies held reached %d bytes (--max-body-memory): bodies beyond get 503",
                limit,
            )


class ConnectionBodies:
    """One connection's share of `WorkerBodies.held`, request by request."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._body_bytes = 0  # of the body in progress, as received
        self._held = 0  # of this connection's bodies
        self._held_by: dict[Answered, int] = {}

    def begin(self) -> None:
        """A request's head is complete: its body starts."""
        self._body_bytes = 0

    def take(self, request: Answered | None, size: int) -> bool:
        """Count `size` more bytes of `request`'s body; False if they would pass the limit."""
        before, self._body_bytes = self._body_bytes, self._body_bytes + size
        counted = self._body_bytes - max(before, UNCOUNTED_BODY)
        if counted <= 0 or request is None or request.response_complete:
            return True  # its first bytes, or the rest of a body answered early (dropped)
        if WorkerBodies.held > self._held and WorkerBodies.held + counted > self.limit:
            return False  # others hold bodies too: this one waits its turn
        WorkerBodies.held += counted
        self._held += counted
        self._held_by[request] = self._held_by.get(request, 0) + counted
        return True

    def answered(self) -> None:
        """Give back the bytes of every request whose answer is complete."""
        for request in [r for r in self._held_by if r.response_complete]:
            self.give_back(request)

    def give_back(self, request: Answered) -> None:
        """Give back one request's bytes (answered, or refused)."""
        held = self._held_by.pop(request, 0)
        WorkerBodies.held -= held
        self._held -= held

    def give_back_all(self) -> None:
        """Give back every byte of the connection (it is lost)."""
        WorkerBodies.held -= self._held
        self._held = 0
        self._held_by.clear()
