"""Group commit on PostgreSQL: the If-Match PUTs a worker has in hand, in one statement.

Theory of operation:

- A guarded update is one statement (`postgres._put`), and most of what it
  costs is paid per statement, not per row: the driver's round, the
  executor's start, the commit and its WAL flush. While one statement is
  at the database, the PUTs that arrive in the same worker wait in a queue;
  when it returns they go together as ONE statement over arrays
  (`BATCH`), each row guarded by its own If-Match exactly as alone. No
  request waits for others to arrive: a PUT that finds nothing in flight
  goes at once, alone, in the single-row statement. Measured on the
  driver alone, four rows in one statement cost about half the CPU per
  write (client and server) of four statements in flight together.
- Each row is its own compare-and-swap: ``WHERE etag = If-Match`` is
  checked per row under READ COMMITTED, as alone; a row whose tag no
  longer matches is simply not written, and its caller reads what won.
  One statement holds at most one PUT per document, so which of two PUTs
  to one document wins is decided by the database, one after the other,
  never by the order of an array. A statement first locks its rows in
  (collection, id) order (``locked``), so that statements of several
  workers sharing rows, and single-row statements queued on those rows,
  wait in one order and never in a cycle: a deadlock between them would
  cost a second (PostgreSQL's deadlock_timeout) and a single-row PUT its
  answer (503).
- Whatever fails for one row fails the whole statement, which commits
  nothing: a unique key violated, a body a unique key's index cannot
  take, a deadlock. Each PUT of it is then run again alone, so that each
  caller gets its own answer (the one it would have had alone). A broken
  connection fails every PUT of the statement alike: their outcome is
  unknown (504), as it would have been alone.
- Waiting is bounded: a PUT queued behind a statement that has been out
  for `SLOW_STATEMENT` (a database slowed down, a lock wait, a loaded
  machine) starts a statement of its own, up to `MAX_IN_FLIGHT`, so a
  slow statement costs the PUTs behind it at most that long.
- The statement runs in a task of its own: a caller that goes away does
  not cancel the others' write. Only small bodies are grouped (a large
  one would hold the others back), and at most `MAX_ROWS` at a time.
"""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
from psycopg.rows import TupleRow

#: Statements in flight at most: a PUT waits for one to return only while this many are out.
MAX_IN_FLIGHT: Final = 4
#: Seconds after which a statement in flight no longer holds the next PUTs back.
SLOW_STATEMENT: Final = 0.002
#: PUTs in one statement at most.
MAX_ROWS: Final = 64
#: Bodies larger than this are written alone.
MAX_GROUPED_BODY: Final = 16 * 1024

#: The single-row statement's history, change and answer, over ``written`` (see postgres._tail).
BATCH: Final = """
WITH input AS (
    SELECT * FROM unnest(%(collection)s::text[], %(id)s::text[], %(etags)s::text[],
        %(etag)s::text[], %(body)s::bytea[], %(now)s::bigint[])
        AS i(collection, id, match, etag, body, now)
), locked AS (
    SELECT d.collection, d.id FROM documents d JOIN input i USING (collection, id)
    ORDER BY d.collection, d.id FOR NO KEY UPDATE OF d
), written AS (
    UPDATE documents d SET version = d.version + 1, etag = i.etag,
        body = convert_from(i.body, 'UTF8'), previous_us = d.modified_us, modified_us = i.now
    FROM input i JOIN locked l USING (collection, id)
    WHERE d.collection = i.collection AND d.id = i.id AND d.etag = i.match AND d.etag <> i.etag
    RETURNING d.collection, d.id, d.version, d.etag, d.body, d.modified_us, d.previous_us
){tail}
SELECT collection, id, previous_us FROM written"""

#: The columns of `BATCH`'s arrays, each taken from a single-row statement's parameters.
_ARRAYS: Final = ("collection", "id", "etags", "etag", "body", "now")

#: A failure one row may cause; the statement committed nothing, and each PUT goes again alone.
_ONE_ROWS_DOING: Final = (
    psycopg.IntegrityError,
    psycopg.DataError,
    psycopg.errors.ProgramLimitExceeded,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
)

#: Run one statement (sql, params) writing: its rows.
RunMany = Callable[[dict[str, Any]], Awaitable[list[TupleRow]]]
#: Run a PUT's own single-row statement: the row it wrote, or None.
RunOne = Callable[[str, dict[str, Any]], Awaitable[TupleRow | None]]


@dataclass(slots=True)
class _Put:
    key: tuple[str, str]
    sql: str
    params: dict[str, Any]
    future: asyncio.Future[TupleRow | None] = field(repr=False)


class UpdateBatcher:
    """Guarded single-tag updates of one worker, sent together while one is at the database."""

    def __init__(self, run_many: RunMany, run_one: RunOne) -> None:
        self._run_many = run_many
        self._run_one = run_one
        self._queue: deque[_Put] = deque()
        #: The statements in flight: each a task that sends the queue's next group when done,
        #: with the loop time its current statement was sent.
        self._drains: dict[asyncio.Task[None], float] = {}
        #: Set while PUTs wait for a statement in flight: it starts another at `SLOW_STATEMENT`.
        self._timer: asyncio.TimerHandle | None = None

    async def update(
        self, collection: str, id: str, sql: str, params: dict[str, Any]
    ) -> TupleRow | None:
        """Run `sql` (a single-row guarded update) with `params`, or this PUT as a row of a group.

        Returns the row `sql` would return (``(previous_us,)``), or None
        when nothing was written. Raises what the statement alone would.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[TupleRow | None] = loop.create_future()
        self._queue.append(_Put((collection, id), sql, params, future))
        if self._all_slow(loop.time()):
            self._start(loop)
        elif self._timer is None and len(self._drains) < MAX_IN_FLIGHT:
            # It waits for the statement in flight, but no longer than a fast one takes.
            self._timer = loop.call_later(SLOW_STATEMENT, self._waited_long, loop)
        return await future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        drain = loop.create_task(self._drain())
        self._drains[drain] = loop.time()

    def _waited_long(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        if self._queue and len(self._drains) < MAX_IN_FLIGHT:
            self._start(loop)

    def _all_slow(self, now: float) -> bool:
        """Whether a PUT arriving `now` is to start a statement rather than wait for one."""
        if len(self._drains) >= MAX_IN_FLIGHT:
            return False
        return all(now - sent >= SLOW_STATEMENT for sent in self._drains.values())

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        try:
            while self._queue:
                group = self._take()
                if group:
                    if me is not None:
                        self._drains[me] = loop.time()
                    await self._send(group)
        except BaseException:  # cancelled (the loop closing): no caller waits forever
            for put in self._queue:
                put.future.cancel()
            self._queue.clear()
            raise
        finally:  # at once: a PUT queued from now on starts a statement of its own
            if me is not None:
                self._drains.pop(me, None)

    def _take(self) -> list[_Put]:
        """The queue's next group: in order, one PUT per document, at most `MAX_ROWS`."""
        group: dict[tuple[str, str], _Put] = {}
        left: deque[_Put] = deque()
        while self._queue:
            put = self._queue.popleft()
            if put.future.done():  # its caller went away before it was sent
                continue
            if put.key in group or len(group) >= MAX_ROWS:
                left.append(put)
            else:
                group[put.key] = put
        self._queue = left
        if not left and self._timer is not None:  # nothing waits any more
            self._timer.cancel()
            self._timer = None
        return [group[key] for key in sorted(group)]

    async def _send(self, group: list[_Put]) -> None:
        if len(group) == 1:
            await self._alone(group[0])
            return
        try:
            rows = await self._run_many(
                {name: [put.params[name] for put in group] for name in _ARRAYS}
            )
        except _ONE_ROWS_DOING:
            for put in group:
                await self._alone(put)
            return
        except asyncio.CancelledError:
            for put in group:
                put.future.cancel()
            raise
        except BaseException as error:  # each caller raises it
            for put in group:
                _settle(put, error=_own_copy(error))
            return
        written = {(collection, id): (previous_us,) for collection, id, previous_us in rows}
        for put in group:
            _settle(put, row=written.get(put.key))

    async def _alone(self, put: _Put) -> None:
        try:
            row = await self._run_one(put.sql, put.params)
        except asyncio.CancelledError:
            put.future.cancel()
            raise
        except BaseException as error:  # its caller raises it
            _settle(put, error=error)
        else:
            _settle(put, row=row)


def _own_copy(error: BaseException) -> BaseException:
    """`error` again for each caller, so that tracebacks do not join (the same one if it cannot)."""
    try:
        return copy.copy(error)
    except Exception:  # an __init__ that copy cannot call
        return error


def _settle(put: _Put, *, row: TupleRow | None = None, error: BaseException | None = None) -> None:
    if put.future.done():  # its caller was cancelled meanwhile; the write stands
        return
    if error is not None:
        put.future.set_exception(error)
    else:
        put.future.set_result(row)
