"""A store opens itself: once per process, on first use or when asked, whichever comes first.

Theory of operation: an app may await a store's ``open()`` in a start-up
hook (a lifespan), or never: each primitive first calls `Opening.ensure`,
which opens the store unless this process has already. The first caller
starts the opening as a task of its own event loop, and every concurrent
caller (another task, another thread) waits for that one task, so a store is
opened once however many first requests arrive at once. A caller cancelled
while it waits (its client went away) does not cancel the opening, which
others may be waiting for. A failed opening is not remembered: its waiters
get its error, and the next call tries again, so a database that was down
at the first request is used as soon as it is back. ``close()`` makes the
store closed again: a later call opens it anew.

Fork: a server that imports the app and then forks its workers (gunicorn)
must not let two processes share a connection. An opening belongs to the
process that made it: in a forked child the store counts as never opened,
and its first use there opens connections of its own. What the parent
opened is left alone, neither used nor closed (a PostgreSQL connection
closed from the child would end the parent's session), and stays
referenced so that the child's garbage collector does not close it either.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Protocol


class Forkable(Protocol):
    def after_fork(self) -> object:
        """In a forked child: start afresh; return what the parent had opened."""


#: What to reset in a forked child.
_FORKABLE: weakref.WeakSet[Forkable] = weakref.WeakSet()
#: What forked children inherited from their parent: kept, never closed here.
_INHERITED: list[object] = []


def reset_after_fork(thing: Forkable) -> None:
    """Call ``thing.after_fork()`` in every child this process forks from now on."""
    _FORKABLE.add(thing)


class Opening:
    """Runs a store's `open` once per process, on the first `ensure()`.

    `forget()` is called in a forked child: it drops the store's references
    to what the parent opened and returns them (they are kept alive).
    """

    def __init__(
        self, open: Callable[[], Awaitable[None]], *, forget: Callable[[], object]
    ) -> None:
        self._open = open
        self._forget = forget
        self._lock = threading.Lock()
        self._pending: concurrent.futures.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        #: Opened by this process, and not closed since.
        self.is_open = False
        reset_after_fork(self)

    async def ensure(self) -> None:
        """Open the store unless it is open; wait for an opening under way."""
        if self.is_open:
            return
        with self._lock:
            if self.is_open:
                return
            pending = self._pending
            if pending is None:
                pending = self._pending = concurrent.futures.Future()
                self._task = asyncio.get_running_loop().create_task(self._run(pending))
        opened = asyncio.wrap_future(pending)
        try:
            # shield: a waiter's cancellation must not cancel the opening itself.
            await asyncio.shield(opened)
        except asyncio.CancelledError:
            opened.add_done_callback(_retrieve)  # its error, if any, is another caller's
            raise

    async def _run(self, pending: concurrent.futures.Future[None]) -> None:
        try:
            await self._open()
        except BaseException as error:
            with self._lock:
                self._pending = None
            pending.set_exception(error)
            if not isinstance(error, Exception):
                raise
        else:
            with self._lock:
                self.is_open, self._pending = True, None
            pending.set_result(None)

    def closed(self) -> None:
        """The store was closed: its next use opens it again."""
        with self._lock:
            self.is_open = False

    def after_fork(self) -> object:
        # In the child, right after fork(): one thread, and the lock may be
        # a copy of one another thread held.
        self._lock = threading.Lock()
        self._pending = self._task = None
        self.is_open = False
        return self._forget()


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _reset_after_fork() -> None:
    _INHERITED.extend(thing.after_fork() for thing in list(_FORKABLE))


os.register_at_fork(after_in_child=_reset_after_fork)
