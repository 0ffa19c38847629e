"""Calls carried out whatever happens to the task that made them.

A caller's timeout around an app, or a server cancelling a request whose
client left, may cancel a task in the middle of work that must finish:
the ASGI key middleware recording a request's answer (or releasing its
claim) in its store (cancelled there, the store's transaction rolled
back or its statement was cut, the claim stayed in flight until its
lease lapsed, and the resend ran the app a second time), a PostgreSQL
connection going back to its pool (psycopg_pool's ``putconn`` waits for
the pool's lock: cancelled there, the pool lost the connection for good).
So such a call runs in a task of its own, which a cancellation of the
caller does not stop: the cancellation is raised in the caller as ever,
and the call ends as if nothing had happened to it.
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
