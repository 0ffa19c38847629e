"""How every SQLite store here connects, runs its calls, and answers a lock held too long.

Theory of operation: no call waits for a lock on the event loop. A store
call runs first on the loop, on a connection whose busy timeout is 0. When
the file's write lock is free (nearly always; and a read in WAL mode takes
no lock that a writer holds) it takes microseconds, less than a thread hop
would cost (one measured 30-140 us here), so the hot path stays as fast as
calling the driver directly. When the lock is held (by another process,
another worker, or this store's own waiting thread), SQLite answers
SQLITE_BUSY at once, having changed nothing, and the call runs again on
the store's waiting thread, on a connection that waits for the lock for
what is left of the call's budget (`busy_timeout_ms` from the moment the
call was made). Past the budget the call raises `Unavailable`: a 503 with
Retry-After. Meanwhile the loop goes on answering every other request.

A call is therefore a function of a connection that may run twice, and
must be safe to: when it raises SQLITE_BUSY, whatever it did before was a
read or is rolled back (an autocommit statement that got BUSY wrote
nothing; a transaction that got BUSY at BEGIN IMMEDIATE never began).

A file that cannot take a write (its disk full, an I/O error, SQLite out
of memory) fails the call with `Unavailable` too, saying which: SQLite
rolled the transaction back, and each write's Idempotency-Key is recorded
in that same transaction, so a retry can neither find a write that
happened nor make one twice. Reads go on meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Final, TypeVar

from .._errors import Unavailable, WritesUnavailable
from .._incidents import unavailable
from .._outage import describe, outage

DEFAULT_BUSY_TIMEOUT_MS: Final = 10_000
T = TypeVar("T")
#: A store call: what to do with a connection.
Call = Callable[[sqlite3.Connection], T]


#: Seconds a probe's committed header write answers for the file taking writes. Each
#: probe is a commit that takes the write lock from the writers: /healthz called by
#: many (balancers, monitors) cost writers 4 to 5 times their throughput, one commit
#: per call (bench/healthz_writes.py). A failed probe is not remembered.
PROBE_FRESH: Final = 1.0

#: Bytes of the file read through a memory map (SQLite's own limit may lower it).
MMAP_SIZE: Final = 1 << 30


def connect(
    path: str | Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
) -> sqlite3.Connection:
    """A connection in autocommit mode, WAL, tuned for many small writes."""
    # isolation_level=None: autocommit; every statement is its own
    # transaction unless a store opens one with BEGIN IMMEDIATE.
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    db.execute("PRAGMA journal_mode = WAL")
    # In WAL mode NORMAL loses no committed transaction on a process crash;
    # only a power loss may roll back the last ones.
    db.execute("PRAGMA synchronous = NORMAL")
    # Checkpoint (copy the WAL back, with an fsync) every ~40 MB of WAL
    # rather than every 4 MB: measured 10-17% faster writes; the WAL file is
    # cut back to 64 MB after each checkpoint.
    db.execute("PRAGMA wal_autocheckpoint = 10000")
    db.execute(f"PRAGMA journal_size_limit = {64 * 1024 * 1024}")
    db.execute("PRAGMA cache_size = -65536")
    # Pages read through a memory map of the file, shared by every worker
    # through the system's page cache, instead of a read() into each
    # connection's own cache: at a million documents most pages are not in
    # the 64 MB above (bench/capacity.py).
    db.execute(f"PRAGMA mmap_size = {MMAP_SIZE}")
    return db


def busy(error: sqlite3.OperationalError) -> bool:
    """Whether `error` says another connection holds a lock this one needs."""
    # The low byte is the primary result code (extended codes such as
    # SQLITE_BUSY_RECOVERY carry the primary one there).
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


#: What keeps a file that answers from taking a write, by SQLite's primary result code.
_NO_WRITES: Final = {
    sqlite3.SQLITE_FULL: ("full", "the database takes no writes: its disk is full"),
    sqlite3.SQLITE_READONLY: ("read-only", "the database takes no writes: its file is read-only"),
}


def probe_write(db: sqlite3.Connection, user_version: int) -> None:
    """Write the file's header (`user_version`, as it is) and commit: `WritesUnavailable`
    when the file cannot take it, as it would take no other write now.

    A commit appends to the write-ahead log, which a full disk refuses once
    the log must grow (as it refuses the next document write); a lock held
    by another writer says nothing against writing, and is no failure.
    """
    try:
        with transaction(db):
            db.execute(f"PRAGMA user_version = {int(user_version)}")
    except sqlite3.OperationalError as error:
        if busy(error):
            return
        code = getattr(error, "sqlite_errorcode", None)
        found = _NO_WRITES.get(code & 0xFF) if code is not None else None
        if found is not None:
            raise WritesUnavailable(*found) from error
        if (failed := _unavailable(error)) is not None:
            raise failed from error
        raise


class Connections:
    """One SQLite file as a store uses it: a connection that never waits, and one that does.

    `run(call)` is every store call's way in (see the module's docstring);
    `offload(call)` runs a call that is long by nature (building an index,
    opening the file) on the waiting thread from the start.
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._db: sqlite3.Connection | None = None
        # Used only on the waiting thread, and closed once that thread is done.
        self._waiting_db: sqlite3.Connection | None = None
        self._waiting: ThreadPoolExecutor | None = None
        self._probed = -PROBE_FRESH

    @property
    def db(self) -> sqlite3.Connection:
        """The loop's connection: it never waits for a lock."""
        if self._db is None:
            raise RuntimeError("the store is not open; call open() first")
        return self._db

    async def open(self) -> None:
        # One thread: a write needs the file's one write lock anyway, and
        # calls queued behind a waiting one run in order, each in its budget.
        self._waiting = ThreadPoolExecutor(1, thread_name_prefix="httpconflict-sqlite")
        # Setting the file up (WAL mode) may wait for another process.
        db = await asyncio.get_running_loop().run_in_executor(
            self._waiting, partial(connect, self.path, busy_timeout_ms=self.busy_timeout_ms)
        )
        db.execute("PRAGMA busy_timeout = 0")
        self._db = db

    async def close(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            # Waits for the calls still queued, each bounded by its budget:
            # the one thread runs them in order, so a last no-op ends after them.
            # RuntimeError: the interpreter is exiting (a finalizer closing
            # the store), no new work is accepted and nothing is left to wait for.
            with contextlib.suppress(RuntimeError):
                await asyncio.wrap_future(waiting.submit(lambda: None))
            waiting.shutdown(wait=False)
        for db in (self._db, self._waiting_db):
            if db is not None:
                db.close()
        self._db = self._waiting_db = None

    def probe_write(self, user_version: int) -> None:
        """`probe_write` on the loop's connection, unless one passed in the last PROBE_FRESH s."""
        now = time.monotonic()
        if now - self._probed < PROBE_FRESH:
            return
        probe_write(self.db, user_version)
        self._probed = now

    async def run(self, call: Call[T]) -> T:
        """`call(connection)`, without waiting on the loop for a lock."""
        try:
            return call(self.db)
        except sqlite3.OperationalError as error:
            if not busy(error):
                if (failed := _unavailable(error)) is not None:
                    self._probed = -PROBE_FRESH  # the next probe asks the file again
                    raise failed from error
                raise
        return await self.offload(call)

    async def offload(self, call: Call[T]) -> T:
        """`call(connection)` on the waiting thread, within the busy timeout from now."""
        if self._waiting is None:
            raise RuntimeError("the store is not open; call open() first")
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._waiting, self._wait, call, deadline)

    def _wait(self, call: Call[T], deadline: float) -> T:
        """On the waiting thread: run `call`, waiting for locks until `deadline`."""
        # Past the deadline (queued behind calls that waited), one try that
        # does not wait: the lock may be free by now.
        left_ms = max(0, int((deadline - time.monotonic()) * 1000))
        if self._waiting_db is None:
            self._waiting_db = connect(self.path, busy_timeout_ms=left_ms)
        db = self._waiting_db
        try:
            db.execute(f"PRAGMA busy_timeout = {left_ms}")
            return call(db)
        except sqlite3.OperationalError as error:
            if busy(error):
                waited = self.busy_timeout_ms / 1000
                raise unavailable(
                    f"the database file stayed locked by another writer for {waited:g} s", error
                ) from error
            if (failed := _unavailable(error)) is not None:
                self._probed = -PROBE_FRESH
                raise failed from error
            raise


def _unavailable(error: sqlite3.OperationalError) -> Unavailable | None:
    """The 503 for a file that could not take a call; None for the store's own bug (a 500)."""
    found = outage(error)
    if found is None or found.reason is None:
        return None  # bad SQL, a missing table
    return unavailable(describe(found), error)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK if the block raises.

    IMMEDIATE takes the write lock at the start, so a transaction that reads
    and then writes cannot find another writer's commit in between.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
