"""Whether a long request's caller still may: its credential and its right, asked again.

A request is authenticated and authorized once, when it arrives. The
change feed's stream then goes on for hours, and a long-poll for up to a
minute, sending what is written meanwhile: a token revoked, a JWT expired
or a right taken away since must stop that as it refuses the next
request. So each middleware that admitted a request leaves in its scope
how to ask again (`add_check`), and a long request asks (`Standing.holds`)
before it sends more, at most once per `RECHECK` seconds: the access
rules a worker keeps hold that long, and a worker keeps a valid token
about as long (`storage.tokens.kept`), so asking more often would learn
nothing sooner.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final

from starlette.types import Scope

#: The scope's checks, each the admission of one middleware, in the order they ran.
STANDING_SCOPE_KEY: Final = "httpconflict.standing"
#: Seconds between two askings of one request's checks.
RECHECK: Final = 1.0

#: True while the caller is still admitted, False once not; a `ProblemError` of
#: 5xx when it cannot be told now (the token store down).
Check = Callable[[], Awaitable[bool]]


def add_check(scope: Scope, check: Check) -> None:
    """Leave in `scope` how to ask again whether its caller is admitted."""
    scope.setdefault(STANDING_SCOPE_KEY, []).append(check)


class Standing:
    """A request's admission, asked again at most every `every` seconds (none: always admitted)."""

    def __init__(
        self,
        scope: Scope,
        *,
        every: float = RECHECK,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._checks: tuple[Check, ...] = tuple(scope.get(STANDING_SCOPE_KEY, ()))
        self._every = every
        self._clock = clock
        self._asked = clock()  # the middlewares asked as the request arrived

    async def holds(self) -> bool:
        """Whether the caller is still admitted; raises what a check raises (a 503)."""
        now = self._clock()
        if not self._checks or now - self._asked < self._every:
            return True
        for check in self._checks:
            if not await check():
                return False
        self._asked = now
        return True
