"""A keyed request's calls to its key store, carried out whatever happens to its task.

A caller's timeout around the app, or a server cancelling a request whose
client left, may cancel the request's task while the middleware records
its answer (or releases its claim) in the store. Cancelled there, the
store's transaction rolled back (SQLAlchemy's ``engine.begin()``) or its
statement was cut, the claim stayed in flight until its lease lapsed, and
the resend with the same key, refused 409 until then, ran the app a second
time. So each call runs in a task of its own, which a cancellation of the
request's task does not stop: the cancellation is raised in the request's
task as ever, and the store call ends as if nothing had happened to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Final, TypeVar

__all__ = ["carried_out"]

T = TypeVar("T")

#: Calls under way whose request's task may have been cancelled: kept until they end.
_UNDER_WAY: Final[set[asyncio.Future[Any]]] = set()


async def carried_out(call: Awaitable[T]) -> T:
    """`call`'s result; cancelling the caller cancels its wait, never `call` itself."""
    task = asyncio.ensure_future(call)  # the caller's context: its watch, its key store marks
    _UNDER_WAY.add(task)
    task.add_done_callback(_ended)
    return await asyncio.shield(task)


def _ended(task: asyncio.Future[Any]) -> None:
    _UNDER_WAY.discard(task)
    if not task.cancelled():
        # Read, so that a failure no caller waits for any more is not logged as unread:
        # the store logged it as the incident it is, and the lease ends the claim.
        task.exception()
