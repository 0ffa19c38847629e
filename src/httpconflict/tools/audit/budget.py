"""The audit's bounds: how many requests, and until when.

Theory of operation: every request asks the `Budget` first. A check's
request is granted while fewer than ``max_requests`` requests have been
sent or set aside, and before the deadline; each grant comes with the
timeout that request may use (the per-request timeout, cut short by the
deadline). Creating a resource first *reserves* the requests its cleanup
needs (a GET for its ETag, then the DELETE), so cleanup never finds the
budget spent and the total stays within ``max_requests``. Cleanup spends
from the reserve and may run a short grace past the deadline. The clock
is a parameter, so tests step time by hand.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from .errors import BudgetSpent, DeadlineReached

#: Requests set aside to clean up one created resource: GET (for the ETag), DELETE.
CLEANUP_REQUESTS: Final = 2
#: Seconds cleanup may run past the deadline.
CLEANUP_GRACE: Final = 5.0


class Budget:
    """At most `max_requests` requests, checks before `time_limit` seconds from now."""

    def __init__(
        self,
        max_requests: int,
        time_limit: float,
        request_timeout: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_requests = max_requests
        self.request_timeout = request_timeout
        self._clock = clock
        self.deadline = clock() + time_limit
        self.used = 0
        self.reserved = 0

    @property
    def remaining(self) -> int:
        """Requests a check may still send."""
        return self.max_requests - self.used - self.reserved

    def spend(self) -> float:
        """Grant one check request; return its timeout in seconds."""
        left = self.deadline - self._clock()
        if left <= 0:
            raise DeadlineReached("the time budget (--timeout) ran out")
        if self.remaining <= 0:
            raise BudgetSpent(f"the request budget (--max-requests {self.max_requests}) ran out")
        self.used += 1
        return min(self.request_timeout, left)

    def reserve(self, count: int) -> None:
        """Set `count` requests aside for cleanup, or raise `BudgetSpent`."""
        if self.remaining < count:
            raise BudgetSpent(
                f"the request budget (--max-requests {self.max_requests}) cannot cover "
                "the cleanup of another resource"
            )
        self.reserved += count

    def release(self, count: int) -> None:
        """Give back `count` reserved requests that will not be needed."""
        self.reserved -= min(count, self.reserved)

    def spend_reserved(self) -> float:
        """Grant one cleanup request from the reserve; return its timeout."""
        left = self.deadline + CLEANUP_GRACE - self._clock()
        if left <= 0:
            raise DeadlineReached("no time was left to clean up")
        if self.reserved <= 0:
            raise BudgetSpent("no request was left to clean up")
        self.reserved -= 1
        self.used += 1
        return min(self.request_timeout, left)
