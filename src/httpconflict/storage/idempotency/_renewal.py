"""Keeping the claim of a request that is running: renewed until it ends.

The period, and what a renewal means, are the core's (`renewal_period`,
`Renew` in ``httpconflict._idempotency``); this is the loop, run beside
the app by the ASGI middleware, and on the store's own loop thread for the
WSGI one (`BlockingIdempotencyStore.keeping`). A renewal the store could
not make (`Unavailable`) is tried again at the next period: the lease
covers two that fail. One that finds the claim gone (its lease lapsed and
a retry took the key over) ends the loop, as there is nothing left to
keep; a store that lost the claim with its data (Redis restarted empty)
claims the key again for the request instead, while that is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from ..._errors import Unavailable

__all__ = [
    "keep_claim",
    "renewing",
]

#: Renews the claim as of `now` (seconds since the epoch): True, or False if it is gone.
Renewal = Callable[[float], Awaitable[object]]


async def keep_claim(renew: Renewal, period: float, *, now: bool = False) -> None:
    """Call `renew` every `period` seconds (`now`: first at once), until cancelled or it is gone."""
    while True:
        if not now:
            await asyncio.sleep(period)
        now = False
        try:
            kept = await renew(time.time())
        except Unavailable:
            continue
        if kept is False:
            return


@contextlib.asynccontextmanager
async def renewing(renew: Renewal, period: float | None) -> AsyncIterator[None]:
    """Keep the claim (`keep_claim`) while the block runs; nothing if `period` is None.

    Almost every request ends long before its first renewal is due: until
    then there is only a timer (a task per request would cost more than
    the rest of the middleware's work on it), and the renewals' task is
    started when it fires.
    """
    if period is None:
        yield
        return
    loop = asyncio.get_running_loop()
    keeper: asyncio.Task[None] | None = None

    def start() -> None:
        nonlocal keeper
        keeper = loop.create_task(keep_claim(renew, period, now=True))

    timer = loop.call_later(period, start)
    try:
        yield
    finally:
        timer.cancel()
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
