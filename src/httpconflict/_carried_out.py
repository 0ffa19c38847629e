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
import contextvars
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, Final, TypeVar, cast

__all__ = ["carried_out"]

T = TypeVar("T")

#: Calls under way whose request's task may have been cancelled: kept until they end.
_UNDER_WAY: Final[set[asyncio.Future[Any]]] = set()


async def carried_out(call: Awaitable[T], *, eager: bool = False) -> T:
    """`call`'s result; cancelling the caller cancels its wait, never `call` itself.

    `eager` (a coroutine): `call` runs in the caller's task until it first
    waits, and a task of its own is made only then: one that ends without
    waiting (a connection back to a pool whose lock is free) costs no task
    and no turn of the loop. Only for calls that bind nothing to the task
    they run in before they first wait: an ``asyncio.timeout()`` entered
    there would cancel the caller, not the task that goes on with the call.
    """
    if eager and isinstance(call, Coroutine):
        # The caller's context, copied as a task's is: its watch, its key store marks.
        context = contextvars.copy_context()
        try:
            waits_on = context.run(call.send, None)
        except StopIteration as done:
            return cast(T, done.value)  # it never waited: nothing a cancellation could stop
        task = asyncio.get_running_loop().create_task(_Started(call, waits_on), context=context)
    else:
        task = asyncio.ensure_future(call)  # in a copy of the caller's context, as above
    _UNDER_WAY.add(task)
    task.add_done_callback(_ended)
    return await asyncio.shield(task)


class _Started(Coroutine[Any, Any, T]):
    """A coroutine already started, as one a task can run: what it waits on, then the rest.

    A task's first step sends None, which is answered with what the call
    waits on; any later send is the call's own, and so is a cancellation,
    thrown into the call even before the task's first step (at a loop's
    shutdown), so that the call's own cleanup runs.
    """

    __slots__ = ("_call", "_waits_on")

    def __init__(self, call: Coroutine[Any, Any, T], waits_on: Any) -> None:
        self._call = call
        self._waits_on = [waits_on]

    def send(self, value: Any) -> Any:
        if self._waits_on:
            return self._waits_on.pop()
        return self._call.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        self._waits_on.clear()
        if val is None and tb is None:
            return self._call.throw(typ)
        return self._call.throw(typ, val, tb)  # pragma: no cover - asyncio throws one object

    def close(self) -> None:
        self._call.close()

    def __await__(self) -> Generator[Any, Any, T]:  # pragma: no cover - only a task runs it
        return self._call.__await__()


def _ended(task: asyncio.Future[Any]) -> None:
    _UNDER_WAY.discard(task)
    if not task.cancelled():
        # Read, so that a failure no caller waits for any more is not logged as unread:
        # the store logged it as the incident it is, and the lease ends the claim.
        task.exception()
