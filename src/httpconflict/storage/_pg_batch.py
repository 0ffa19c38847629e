"""Group commit on PostgreSQL: the If-Match PUTs a worker has in hand, in one statement.

Theory of operation:

- A guarded update is one statement (`postgres._put`), and much of what it
  costs the database is paid per statement, not per row: the executor's
  start, the commit and its WAL flush, the round trip. When a worker
  already has `IN_FLIGHT` statements at the database, the PUTs it takes
  next wait in a queue, and as soon as one of those statements returns
  they go together as ONE statement over arrays (`BATCH`). A PUT that
  finds fewer in flight goes at once, alone, in the single-row statement:
  no request waits for others to arrive, and a worker whose database keeps
  up (its statements return before the next PUT is ready) never groups.
  Groups form where the database is the bottleneck, which is where they
  pay: several instances on one PostgreSQL (bench.pg_put).
- Each row is its own compare-and-swap: ``WHERE etag = If-Match`` is
  checked per row under READ COMMITTED, as alone; a row whose tag no
  longer matches is not written, and its caller reads what won. One
  statement holds at most one PUT per document, so which of two PUTs to
  one document wins is decided by the database, one after the other.
- A group never waits for a row lock: it locks its rows first with SKIP
  LOCKED (``locked``), and a PUT whose document another transaction holds
  (or that does not exist) is sent again alone, where it waits as it
  always did. So a group cannot deadlock on rows, nor share the fate of
  a document held by a slow transaction.
- Whatever fails for one row fails the whole statement, which commits
  nothing: a unique key violated, a body a unique key's index cannot
  take. Each PUT of it is then sent again alone, so that each caller gets
  the answer it would have had alone. A broken connection, or the
  statement deadline, fails every PUT of the statement alike: their
  outcome is unknown (504), as it would have been alone.
- The statement runs in a task of its own: a caller that goes away does
  not cancel the others' write (one that goes before its group is sent is
  left out of it). Only small bodies are grouped, at most `MAX_ROWS`.
"""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

import psycopg
from psycopg.rows import TupleRow

#: Statements a worker has at the database before the next PUTs wait to go together.
IN_FLIGHT: Final = 2
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
    FOR NO KEY UPDATE OF d SKIP LOCKED
), written AS (
    UPDATE documents d SET version = d.version + 1, etag = i.etag,
        body = convert_from(i.body, 'UTF8'), previous_us = d.modified_us, modified_us = i.now
    FROM input i JOIN locked l USING (collection, id)
    WHERE d.collection = i.collection AND d.id = i.id AND d.etag = i.match AND d.etag <> i.etag
    RETURNING d.collection, d.id, d.version, d.etag, d.body, d.modified_us, d.previous_us
){tail}
SELECT l.collection, l.id, w.previous_us FROM locked l LEFT JOIN written w USING (collection, id)"""

#: The columns of `BATCH`'s arrays, each taken from a single-row statement's parameters.
_ARRAYS: Final = ("collection", "id", "etags", "etag", "body", "now")

#: A failure one row may cause; the statement committed nothing, and each PUT goes again alone.
_ONE_ROWS_DOING: Final = (
    psycopg.IntegrityError,
    psycopg.DataError,
    psycopg.errors.ProgramLimitExceeded,
    psycopg.errors.DeadlockDetected,  # two groups' unique-key entries waiting on each other
    psycopg.errors.SerializationFailure,
)

#: Run one statement (sql, params) writing: its rows.
RunMany = Callable[[dict[str, Any]], Awaitable[list[TupleRow]]]
#: Run a PUT's own single-row statement: the row it wrote, or None. (Quoted: psycopg
#: before 3.2.2 defines `TupleRow` as a string, which `| None` cannot be applied to.)
RunOne: TypeAlias = Callable[[str | bytes, dict[str, Any]], Awaitable["TupleRow | None"]]


@dataclass(slots=True)
class _Put:
    key: tuple[str, str]
    sql: str | bytes
    params: dict[str, Any]
    future: asyncio.Future[TupleRow | None] = field(repr=False)


class UpdateBatcher:
    """Guarded single-tag updates of one worker, sent together while one is at the database."""

    def __init__(self, run_many: RunMany, run_one: RunOne) -> None:
        self._run_many = run_many
        self._run_one = run_one
        self._queue: deque[_Put] = deque()
        #: The statements in flight, each a task that sends the queue's next group when done.
        self._drains: set[asyncio.Task[None]] = set()

    async def update(
        self, collection: str, id: str, sql: str | bytes, params: dict[str, Any]
    ) -> TupleRow | None:
        """Run `sql` (a single-row guarded update) with `params`, or this PUT as a row of a group.

        Returns the row `sql` would return (``(previous_us,)``), or None
        when nothing was written. Raises what the statement alone would.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[TupleRow | None] = loop.create_future()
        self._queue.append(_Put((collection, id), sql, params, future))
        if len(self._drains) < IN_FLIGHT:
            self._drains.add(loop.create_task(self._drain()))
        return await future

    async def _drain(self) -> None:
        me = asyncio.current_task()
        try:
            while self._queue:
                group = self._take()
                if group:
                    await self._send(group)
        except BaseException:  # cancelled (the loop closing): no caller waits forever
            for put in self._queue:
                put.future.cancel()
            self._queue.clear()
            raise
        finally:  # at once: a PUT queued from now on starts a statement of its own
            if me is not None:
                self._drains.discard(me)

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
        return list(group.values())

    async def _send(self, group: list[_Put]) -> None:
        if len(group) == 1:
            await self._alone(group[0])
            return
        try:
            rows = await self._run_many(
                {name: [put.params[name] for put in group] for name in _ARRAYS}
            )
        except _ONE_ROWS_DOING:
            await self._each_alone(group)
            return
        except asyncio.CancelledError:
            for put in group:
                put.future.cancel()
            raise
        except BaseException as error:  # each caller raises it
            for put in group:
                _settle(put, error=_own_copy(error))
            return
        # A row for each document the group held; None where its If-Match did not hold.
        held = {(collection, id): previous_us for collection, id, previous_us in rows}
        for put in group:
            if put.key in held:
                previous_us = held[put.key]
                _settle(put, row=None if previous_us is None else (previous_us,))
        # Held by another transaction (or absent): alone, each waits as it always did.
        await self._each_alone([put for put in group if put.key not in held])

    async def _each_alone(self, puts: list[_Put]) -> None:
        """Each of `puts` in its own single-row statement, at once."""
        await asyncio.gather(*(self._alone(put) for put in puts))

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
