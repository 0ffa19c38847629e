"""Any idempotency store, called from threads: one private event loop runs every call.

Theory of operation: the stores are async, and the Redis and PostgreSQL
ones hold connections bound to the event loop that opened them. A threaded
(WSGI) server has no loop, and a loop per thread or per call would open a
pool per thread or reconnect per call. So one loop runs in one daemon
thread, the store is opened on it, and request threads submit each
primitive with `asyncio.run_coroutine_threadsafe`, waiting for its result.
Only store calls run there; waiting for a duplicate in flight (sleeping)
happens in the request's own thread, so one slow request holds up no other.
Writes a request still owes after its answer went out (`defer`: the store
was down) wait in a `Backlog` on that loop, made in the background.

The loop starts on the first call in a process, and the store opens
itself on that loop, so a server that imports the app and then forks its
workers gets one loop and one set of connections per worker; a store used
before the fork starts anew in the child, whose copy of the loop thread is
gone, and leaves the parent's connections alone. It stops in `close()`,
which also runs at interpreter exit, or when the object is
garbage-collected; `close()` first gives the backlog up to `CLOSE_GRACE`
seconds to finish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from typing import Final, TypeVar

from ..._errors import Unavailable
from ..._idempotency import Completion, Record, StoredResponse
from .._opening import reset_after_fork
from . import IdempotencyStore
from ._held_claims import HeldClaims
from .backlog import Backlog

__all__ = [
    "BlockingIdempotencyStore",
]

T = TypeVar("T")
#: Seconds `close()` waits for deferred writes before dropping them.
CLOSE_GRACE: Final = 5.0


class _Loop:
    """The loop thread and the store it opened: everything `close` must undo."""

    def __init__(self, store: IdempotencyStore) -> None:
        self.store = store
        self.backlog = Backlog()
        self.held = HeldClaims()  # the claims of requests running, renewed on the loop
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.closed = False
        reset_after_fork(self)

    def running(self) -> asyncio.AbstractEventLoop:
        loop = self.loop
        if loop is not None:
            return loop
        with self.lock:
            if self.closed:
                # Stores cannot all be reopened (a closed pool stays closed).
                raise RuntimeError("this idempotency store is closed")
            if self.loop is None:
                self._start()
            assert self.loop is not None
            return self.loop

    def after_fork(self) -> object:
        """In a forked child: the loop thread is gone; the next call starts one of its own."""
        inherited = (self.loop, self.thread, self.backlog)
        self.lock = threading.Lock()
        self.loop = self.thread = None
        self.backlog = Backlog()
        return inherited

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=loop.run_forever, name="httpconflict-idempotency-store", daemon=True
        )
        thread.start()
        # The store opens itself on its first call, on this loop.
        self.loop, self.thread = loop, thread

    def close(self) -> None:
        with self.lock:
            loop, thread = self.loop, self.thread
            self.loop, self.thread, self.closed = None, None, True
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._finish(), loop).result(timeout=CLOSE_GRACE + 10)
        finally:
            _stop(loop, thread)

    async def _finish(self) -> None:
        await self.held.stop()
        await self.backlog.drain(CLOSE_GRACE)
        self.backlog.cancel()
        await self.store.close()


def _stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    if not thread.is_alive():
        loop.close()


class BlockingIdempotencyStore:
    """An `IdempotencyStore`'s primitives as blocking calls, safe from any thread.

    `timeout` bounds each call: a store that does not answer in time is
    `Unavailable` (503), and the call is cancelled.
    """

    def __init__(self, store: IdempotencyStore, *, timeout: float = 30.0) -> None:
        self.store = store
        self.timeout = timeout
        self._loop = _Loop(store)
        # Close on garbage collection or at exit, without keeping self alive.
        self._finalizer = weakref.finalize(self, self._loop.close)

    def close(self) -> None:
        """Close the store and stop its loop thread; later calls raise RuntimeError."""
        self._loop.close()

    def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        loop = self._loop.running()

        async def run() -> T:
            return await call()

        future = asyncio.run_coroutine_threadsafe(run(), loop)
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise Unavailable(
                f"the idempotency store did not answer within {self.timeout:g} s"
            ) from None

    def defer(
        self, call: Callable[[IdempotencyStore], Awaitable[object]], *, within: float, what: str
    ) -> None:
        """Make ``call(store)`` in the background until the store answers, for `within` seconds.

        Returns at once: the request's answer does not wait for the store.
        """

        async def attempt() -> bool:
            await call(self.store)
            return True

        def add() -> None:
            self._loop.backlog.add(attempt, within=within, what=what)

        self._loop.running().call_soon_threadsafe(add)

    def claim(
        self, principal: str, key: str, fingerprint: str, token: str, *, now: float, lease: float
    ) -> Record | None:
        """None if this request now holds the key; else the live record."""
        return self._call(
            lambda: self.store.claim(principal, key, fingerprint, token, now=now, lease=lease)
        )

    def complete(
        self,
        principal: str,
        key: str,
        token: str,
        response: StoredResponse,
        *,
        now: float,
        retention: float,
        fingerprint: str | None = None,
    ) -> bool:
        """Record `response`; False if `token` no longer holds the claim."""
        return self._call(
            lambda: self.store.complete(
                principal,
                key,
                token,
                response,
                now=now,
                retention=retention,
                fingerprint=fingerprint,
            )
        )

    def release(self, principal: str, key: str, token: str) -> bool:
        """Drop the claim; False if `token` no longer holds it."""
        return self._call(lambda: self.store.release(principal, key, token))

    def renew(
        self,
        principal: str,
        key: str,
        token: str,
        *,
        now: float,
        lease: float,
        fingerprint: str | None = None,
    ) -> bool:
        """Hold the claim until `now + lease`; False if `token` no longer holds it."""
        return self._call(
            lambda: self.store.renew(
                principal, key, token, now=now, lease=lease, fingerprint=fingerprint
            )
        )

    @contextlib.contextmanager
    def keeping(
        self, renew: Callable[[IdempotencyStore, float], Awaitable[object]], period: float | None
    ) -> Iterator[None]:
        """Keep a claim while the block runs: ``renew(store, now)`` every `period` s, on the loop.

        Nothing if `period` is None. The renewals run on the store's loop
        thread, so the request's thread runs the app undisturbed.
        """
        if period is None:
            yield
            return
        loop = self._loop.running()
        with self._loop.held.holding(loop, lambda now: renew(self.store, now), period):
            yield

    def record(self, completion: Completion) -> bool:
        """Record a completed answer under a key holding none; False if one is live."""
        return self._call(lambda: self.store.record(completion))

    def get(self, principal: str, key: str, *, now: float) -> Record | None:
        return self._call(lambda: self.store.get(principal, key, now=now))

    def purge(self, *, now: float) -> int:
        """Delete expired records; how many."""
        return self._call(lambda: self.store.purge(now=now))
