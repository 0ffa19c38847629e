"""PostgreSQL connections for the stores: dead ones skipped, waits bounded, recovery prompt.

Theory of operation:

- A restart of PostgreSQL ends every pooled connection, and a pool learns it
  only when one is used. So each connection taken from the pool is looked
  at first (`_usable`): a connection at rest has nothing to read, while one
  the server ended has its goodbye and end-of-file waiting. A zero-timeout
  poll of its socket tells, without the round trip of the pool's own check
  (an empty query: a quarter or more of a read, bench/pg_checkout.py); only
  when something is there does an empty query decide (a notice is read and
  the connection kept). A dead connection is closed and the next one taken
  at once (the pool's own check would sleep a second after each), and the
  pool replaces it in the background. A restart therefore costs only the
  requests in flight.
- Every wait is bounded: `CONNECTION_WAIT` seconds for a free connection,
  then 503; `CONNECT_TIMEOUT` to connect, unless the URL says otherwise.
- Recovery: psycopg_pool replaces a lost connection with a backoff (1, 2,
  4 ... s between attempts), which would keep the service refusing for
  seconds after the database is back. Here a replacement that fails is
  given up after `RECONNECT_WINDOW` seconds instead, and the pool connects
  again whenever a request waits for a connection: during an outage, one
  attempt at a time; once the database accepts connections, at once.
- A statement whose connection broke after it may have reached the server
  has an unknown outcome: for a write that is `WriteOutcomeUnknown` (504), not
  `Unavailable` (503, which promises that nothing was applied). Either way
  the driver's message goes to the log, not into the answer.
- Every statement of a request has a deadline (`STATEMENT_DEADLINE` by
  default): a server that stopped answering (frozen, or cut off by the
  network without a reset) would otherwise hold the request, and its
  connection, for as long as TCP keeps trying. At the deadline the
  connection's socket is shut down under the driver, which wakes at once
  with a broken connection: the answer is a 504 for a write (it may yet
  commit), a 503 for a read. Cancelling the driver's await instead would
  first ask the silent server to cancel, and wait 10 s for it.
- A session takes its settings from the database's and the role's
  defaults when it begins, and keeps them: a statement refused by one
  (``statement_timeout``, ``lock_timeout``, ``default_transaction_read_only``
  set with ``ALTER DATABASE``) has the pool's sessions made again, at most
  once a second (`_renew_sessions`), so a setting changed back is in force
  at once, not when each pooled session ends of age (an hour).
- Behind a connection pooler (PgBouncer, pgcat, Odyssey, Supavisor) each
  statement may run on another server connection, where a prepared
  statement of this one does not exist, or another of the same name does:
  psycopg prepares a statement run 5 times, so "prepared statement
  _pg3_0 does not exist" (500s), or a read answered with another query's
  rows. A pooler answers the connection's start with its own backend key,
  so its `backend_pid` is not the server's `pg_backend_pid()`: each new
  connection is asked (`_unprepared_behind_a_pooler`), and one reached
  through a pooler never prepares. Direct connections keep preparing.
- A connection goes back to its pool whatever happens to the task that
  took it (`_give_back`). psycopg_pool's ``putconn`` waits for the pool's
  lock, and a task cancelled there (a client gone from a streamed list,
  a key's renewal stopped, a caller's timeout) lost the connection
  without the pool knowing: it counted it as out for good, one slot less
  each time, until every request of the worker waited its second and was
  answered 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import socket
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from .._carried_out import carried_out
from .._errors import WriteOutcomeUnknown, WritesUnavailable
from .._incidents import log_incident, new_incident, unavailable
from .._outage import describe, outage
from . import DEFAULT_PG_STATEMENT_TIMEOUT

#: Where a store beside the documents gets their pool (opened first if it is not yet).
PoolSource = Callable[[], Awaitable[AsyncConnectionPool]]

#: Seconds a request waits for a free connection before its 503.
CONNECTION_WAIT: Final = 1.0
#: Seconds the pool keeps trying to replace a lost connection in the background.
RECONNECT_WINDOW: Final = 0.5
#: Seconds to establish a connection (libpq's connect_timeout), unless the URL sets one.
CONNECT_TIMEOUT: Final = 2
#: Seconds a request's statement may take before its connection is cut (503, or 504 for a write).
STATEMENT_DEADLINE: Final = DEFAULT_PG_STATEMENT_TIMEOUT


def _connect_options(conninfo: str) -> dict[str, Any]:
    """Autocommit, and `CONNECT_TIMEOUT` unless the URL sets one."""
    options: dict[str, Any] = {"autocommit": True}
    if "connect_timeout" not in conninfo_to_dict(conninfo):
        options["connect_timeout"] = CONNECT_TIMEOUT
    return options


async def connect(conninfo: str) -> AsyncConnection[TupleRow]:
    """One autocommit connection outside any pool, within `CONNECT_TIMEOUT` by default."""
    conn = await AsyncConnection.connect(conninfo, **_connect_options(conninfo))
    try:
        await _unprepared_behind_a_pooler(conn)
    except BaseException:
        await conn.close()
        raise
    return conn


async def _unprepared_behind_a_pooler(conn: AsyncConnection[TupleRow]) -> None:
    """No server-side prepared statements on a connection reached through a pooler.

    The backend id the connection was given at its start is the server's
    own when nothing stands between; a pooler gives its own instead.
    """
    cursor = await conn.execute("SELECT pg_backend_pid()", prepare=False)
    row = await cursor.fetchone()
    if row is None or row[0] != conn.info.backend_pid:
        conn.prepare_threshold = None


def new_pool(conninfo: str, *, min_size: int, max_size: int) -> AsyncConnectionPool:
    """A pool of autocommit connections with the waits above; open it with ``open()``."""
    kwargs = _connect_options(conninfo)
    return AsyncConnectionPool(
        conninfo,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs=kwargs,
        configure=_unprepared_behind_a_pooler,
        timeout=CONNECTION_WAIT,
        reconnect_timeout=RECONNECT_WINDOW,
    )


@asynccontextmanager
async def connection(
    pool: AsyncConnectionPool,
    *,
    wait: float = CONNECTION_WAIT,
    writes: bool = False,
    deadline: float | None = None,
) -> AsyncIterator[AsyncConnection[TupleRow]]:
    """A working connection of `pool`, its failures raised as problems.

    `writes`: the block sends statements that change data, so a connection
    that breaks under it leaves their outcome unknown (`WriteOutcomeUnknown`).
    Anything else that fails is `Unavailable`, as is no free connection
    within `wait` seconds. `deadline`: the connection is cut that many
    seconds on, as `run`'s (None: never, for a schema change or an index
    build, which may rightly take long).
    """
    conn = await _usable_connection(pool, wait)
    loop = asyncio.get_running_loop()
    timer = None if deadline is None else loop.call_later(deadline, _cut, conn)
    try:
        async with conn:
            yield conn
        if writes:
            _written[pool] = time.monotonic()
    except psycopg.errors.ProgramLimitExceeded:
        raise  # the request's own doing (a value too large to index): the store answers it
    except psycopg.errors.ReadOnlySqlTransaction as error:
        await _renew_sessions(pool, error)
        raise _failure(error, conn, writes) from error  # a replica: nothing ran
    except psycopg.OperationalError as error:
        if timer is not None and deadline is not None and loop.time() >= timer.when():
            raise _past_deadline(error, deadline, writes) from error
        await _renew_sessions(pool, error)
        raise _failure(error, conn, writes) from error
    finally:
        if timer is not None:
            timer.cancel()
        await _give_back(pool, conn)


async def run(
    pool: AsyncConnectionPool,
    sql: str | bytes,
    params: Any,
    *,
    writes: bool,
    binary: bool = False,
    deadline: float = STATEMENT_DEADLINE,
    passing: tuple[type[psycopg.Error], ...] = (),
) -> list[TupleRow]:
    """One statement on a connection of `pool` (autocommit), its rows; failures as `connection`.

    What ``async with connection(...)`` does for one statement, without
    its two context managers: a request's every statement comes here. Its
    connection is cut `deadline` seconds on (see the module's docstring).
    `passing`: errors raised as the driver raised them, for the caller.
    """
    conn = await _usable_connection(pool, CONNECTION_WAIT)
    loop = asyncio.get_running_loop()
    timer = loop.call_later(deadline, _cut, conn)
    try:
        rows = await (await conn.execute(sql, params, binary=binary)).fetchall()
        if writes:
            _written[pool] = time.monotonic()
        return rows
    except psycopg.errors.ProgramLimitExceeded:
        raise
    except passing:  # the caller's to answer
        raise
    except psycopg.errors.ReadOnlySqlTransaction as error:
        await _renew_sessions(pool, error)
        raise _failure(error, conn, writes) from error
    except psycopg.OperationalError as error:
        if loop.time() >= timer.when():  # cut at the deadline (`_cut`)
            raise _past_deadline(error, deadline, writes) from error
        await _renew_sessions(pool, error)
        raise _failure(error, conn, writes) from error
    finally:
        timer.cancel()
        await _give_back(pool, conn)


async def _give_back(
    pool: AsyncConnectionPool, conn: AsyncConnection[TupleRow], *, close: bool = False
) -> None:
    """Return `conn` to `pool` (closed first if `close`), even if this task is cancelled meanwhile.

    (`carried_out`: the cancellation is raised here as ever, the connection
    is back in its pool.)
    """
    await carried_out(_return(pool, conn, close), eager=True)


async def _return(pool: AsyncConnectionPool, conn: AsyncConnection[TupleRow], close: bool) -> None:
    if close:
        # Closed, the pool discards it and connects a replacement.
        await conn.close()
    await pool.putconn(conn)


#: What a session's own settings refused, rather than the database: the
#: database's and the role's defaults (``ALTER DATABASE ... SET
#: statement_timeout``, ``lock_timeout``, ``default_transaction_read_only``)
#: as they were when the session began, which it keeps however they change.
_SESSION_REFUSALS: Final = (
    psycopg.errors.QueryCanceled,
    psycopg.errors.LockNotAvailable,
    psycopg.errors.ReadOnlySqlTransaction,
)
#: Seconds between two renewals of one pool's sessions.
RENEW_AFTER: Final = 1.0
_renewed: weakref.WeakKeyDictionary[AsyncConnectionPool, float] = weakref.WeakKeyDictionary()


async def _renew_sessions(pool: AsyncConnectionPool, error: psycopg.Error) -> None:
    """After a refusal of a session's settings, the pool's sessions are made again (once a second).

    A setting changed back (a ``statement_timeout`` set to 1 ms and reset,
    the database writable again) reaches new sessions only: the pooled ones
    made meanwhile kept refusing every request for their lifetime, an hour.
    The connection in hand is replaced when it is put back.
    """
    if not isinstance(error, _SESSION_REFUSALS):
        return
    now = time.monotonic()
    if now - _renewed.get(pool, float("-inf")) < RENEW_AFTER:
        return
    _renewed[pool] = now
    await pool.drain()


def read_only(error: psycopg.errors.ReadOnlySqlTransaction, what: str) -> Exception:
    """The 503 for a store that cannot set its tables up on a read-only database (a replica)."""
    found = outage(error)
    reason = describe(found) if found is not None else "the database is read-only"
    return unavailable(f"{what}: {reason}", error)


def _cut(conn: AsyncConnection[TupleRow]) -> None:
    """End a connection whose statement is past its deadline: the driver wakes, broken.

    Its socket is shut down (through a duplicate of its descriptor: the
    driver's own stays open until it closes the connection), so the wait
    on it ends at once with end-of-file.
    """
    try:
        fileno = -1 if conn.closed else conn.pgconn.socket
    except psycopg.Error:  # ended meanwhile (libpq has no socket for it)
        return
    if fileno < 0:
        return
    with socket.socket(fileno=os.dup(fileno)) as duplicate, contextlib.suppress(OSError):
        duplicate.shutdown(socket.SHUT_RDWR)  # an OSError: closed meanwhile, nothing to wake


def _past_deadline(error: BaseException, deadline: float, writes: bool) -> Exception:
    """The answer for a statement cut at its deadline: 504 for a write, 503 for a read."""
    if writes:
        return _outcome_unknown(
            error, f"the database did not answer the write within {deadline:g} s"
        )
    return unavailable(f"the database did not answer within {deadline:g} s", error)


def _failure(error: psycopg.Error, conn: AsyncConnection[TupleRow], writes: bool) -> Exception:
    """What a statement's failure is to the caller: a 504 if a write may have been applied."""
    if writes and conn.broken:
        return _outcome_unknown(error)
    found = outage(error)
    if found is not None and found.reason is not None:
        return unavailable(describe(found), error)  # its disk full, read-only (a replica)
    return unavailable("the database failed the request", error)


#: Of a ping's wait, the share it waits for a pooled connection before connecting apart.
POOLED_SHARE: Final = 0.25


async def ping(pool: AsyncConnectionPool, *, wait: float) -> None:
    """Raise `Unavailable` unless the database answers, and takes writes.

    A pooled connection if one is free within a quarter of `wait` seconds;
    otherwise (every connection busy, or being replaced after a restart) a
    connection of its own, made within what is left of `wait`: the question
    is whether the database answers, and requests queued for the pool are
    no answer to it. Its one statement is let run `SILENT_AFTER` seconds
    past the wait before its connection is cut: only a server gone silent
    takes that long, and its callers (/healthz) stop waiting at their own
    time.

    Pings of one pool at the same time share one (the stores beside the
    documents share their pool, and /healthz asks each): one question,
    asked once, rather than a connection apart each just when the database
    is busiest.
    """
    running = _PINGS.get(pool)
    if running is None or running.done():
        running = asyncio.ensure_future(_ping(pool, wait))
        # Its exception is read here if every caller has stopped waiting for it.
        running.add_done_callback(lambda task: task.cancelled() or task.exception())
        _PINGS[pool] = running
    await asyncio.shield(running)


#: Each pool's ping under way.
_PINGS: Final[weakref.WeakKeyDictionary[AsyncConnectionPool, asyncio.Future[None]]] = (
    weakref.WeakKeyDictionary()
)


#: Seconds past its wait that a ping's statement is given before its connection is cut (a
#: server gone silent: TCP would wait for minutes). /healthz answers at its own wait meanwhile;
#: a statement merely slow on a loaded machine is let answer, not made a failure that costs
#: a pooled connection.
SILENT_AFTER: Final = 2.0


#: When each pool last had a write answered (monotonic): `_ping`'s evidence that the
#: database answers, and takes writes, when its own statement is slow.
_written: Final[weakref.WeakKeyDictionary[AsyncConnectionPool, float]] = weakref.WeakKeyDictionary()


async def _ping(pool: AsyncConnectionPool, wait: float) -> None:
    """`_ask`, or, once `wait` is over, a write of the pool's answered since it began.

    A write answered meanwhile says what the ping asks (the database answers,
    and takes writes) better than the ping can when it is the one left
    waiting: behind requests queued for the pool, on a connection of its own
    that a server busy after a restart is slow to make, on a loaded machine.
    Said "down" then, /healthz had a balancer take out an instance whose every
    write succeeded. Its own question is left to end (within its `SILENT_AFTER`).
    """
    started = time.monotonic()
    asking = asyncio.ensure_future(_ask(pool, wait, started))
    asking.add_done_callback(lambda task: task.cancelled() or task.exception())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(asking), timeout=wait)
    if not asking.done():
        if _written.get(pool, float("-inf")) >= started:
            return
        await asking
        return
    error = asking.exception()
    if error is None:
        return
    if isinstance(error.__cause__, TimeoutError) and _written.get(pool, float("-inf")) >= started:
        return  # its own connection not made in time (a server busy), while writes were answered
    raise error  # refused, read-only: what it found outweighs a write answered before


async def _ask(pool: AsyncConnectionPool, wait: float, started: float) -> None:
    deadline, silent = started + wait, started + wait + SILENT_AFTER
    conn: AsyncConnection[TupleRow] | None
    try:
        conn = await pool.getconn(timeout=wait * POOLED_SHARE)
    except PoolTimeout:
        conn = None
    if conn is not None and not await _usable(conn):
        await _give_back(pool, conn, close=True)
        conn = None
    if conn is None:
        await _ping_apart(str(pool.conninfo), deadline, silent)
        return
    try:
        taken = await _takes_writes(conn, silent)
    except psycopg.OperationalError as error:
        raise _failure(error, conn, writes=False) from error
    finally:
        await _give_back(pool, conn)
    if not taken:
        raise _read_only_now()


async def _ping_apart(conninfo: str, deadline: float, silent: float) -> None:
    """`SELECT 1` on a connection opened for it by `deadline`, then closed (monotonic times).

    Its statement is cut at `silent`.
    """
    try:
        conn = await asyncio.wait_for(
            AsyncConnection.connect(conninfo, **_connect_options(conninfo)),
            timeout=max(deadline - time.monotonic(), 0.001),
        )
    except (psycopg.OperationalError, TimeoutError) as error:
        raise unavailable("the database does not answer", error) from error
    try:
        async with conn:
            taken = await _takes_writes(conn, silent)
    except psycopg.OperationalError as error:
        raise unavailable("the database failed a ping", error) from error
    if not taken:
        raise _read_only_now()


# A hot standby (a failover left the service on a replica) is in recovery; a
# primary may be read-only for new transactions (default_transaction_read_only,
# as in a planned switchover). Either way every write would be a 503.
_TAKES_WRITES: Final = (
    "SELECT NOT (pg_is_in_recovery() OR current_setting('transaction_read_only')::boolean)"
)


async def _takes_writes(conn: AsyncConnection[TupleRow], silent: float) -> bool:
    """Whether a write on `conn` could run now: one round trip, as the ping's ``SELECT 1``.

    At `silent` (monotonic) the connection is cut (`_cut`): the driver
    raises `OperationalError`, and a pooled connection is replaced.
    """
    loop = asyncio.get_running_loop()
    timer = loop.call_later(max(silent - time.monotonic(), 0.001), _cut, conn)
    try:
        row = await (await conn.execute(_TAKES_WRITES)).fetchone()
    finally:
        timer.cancel()
    return bool(row and row[0])


def _read_only_now() -> WritesUnavailable:
    return WritesUnavailable(
        "read-only",
        "the database takes no writes: it is read-only (a hot standby, or "
        "default_transaction_read_only)",
    )


async def _usable_connection(pool: AsyncConnectionPool, wait: float) -> AsyncConnection[TupleRow]:
    deadline = time.monotonic() + wait
    while True:
        try:
            # A timeout of zero refuses even a connection that is ready.
            conn: AsyncConnection[TupleRow] = await pool.getconn(
                timeout=max(deadline - time.monotonic(), 0.001)
            )
        except PoolTimeout as error:
            raise unavailable(
                f"no database connection within {wait:g} s: the database does not "
                "answer, or every connection is busy",
                error,
            ) from error
        try:
            usable = await _usable(conn)
        except BaseException:  # cancelled while it asked: back to the pool, to be looked at again
            await _give_back(pool, conn)
            raise
        if usable:
            return conn
        await _give_back(pool, conn, close=True)


async def _usable(conn: AsyncConnection[TupleRow]) -> bool:
    """Whether a connection just taken from the pool still works; a round trip only if in doubt."""
    if conn.closed:
        return False
    if not _has_input(conn.fileno()):
        return True
    try:
        await conn.execute("")
    except psycopg.Error:
        return False
    return not conn.closed


def _has_input(fd: int) -> bool:
    """Whether anything (data, end of file, an error) waits on an idle connection's socket."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [], 0)  # Windows has no poll()
    return bool(readable)


def _outcome_unknown(
    error: BaseException,
    cause: str = "the connection to the database broke after the write was sent",
) -> WriteOutcomeUnknown:
    """The 504 for a write whose connection broke under it, its cause logged as an incident."""
    what = (
        f"{cause}: it may have been applied; send the same request again with its "
        "Idempotency-Key to learn which"
    )
    incident = new_incident()
    log_incident(incident, f"504 {what}", error, level=logging.WARNING)
    return WriteOutcomeUnknown(what, incident=incident)
