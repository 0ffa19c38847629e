"""The change feed on PostgreSQL: the ``changes`` table, its reads, purge and watermark.

Each write statement appends its change in a CTE reading FROM ``written``
(see `CHANGED`): the seq is taken from ``changes_seq`` after the document
row is written, which `SnapshotWatermark` relies on. The sequence has CACHE
1 (the default): values are handed out in one increasing order across
every connection. No NOTIFY in the write: PostgreSQL serialises every
committing transaction that notified on one database-wide lock; readers
poll the table instead (an index range scan above the watermark).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from psycopg.rows import TupleRow

from ._changes import Change, ChangeBounds, ChangesRead, Snapshot, SnapshotWatermark

SCHEMA: Final = """
CREATE SEQUENCE IF NOT EXISTS changes_seq;
CREATE TABLE IF NOT EXISTS changes (
    seq bigint PRIMARY KEY,
    collection text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    version bigint NOT NULL,
    etag text,                   -- NULL: deleted (or purged)
    modified_us bigint NOT NULL,
    purged boolean NOT NULL DEFAULT false  -- the history went with it
);
-- A table made before purged existed gets it (a default: no rewrite).
DO $$ BEGIN
    ALTER TABLE changes ADD COLUMN purged boolean NOT NULL DEFAULT false;
EXCEPTION WHEN duplicate_column THEN NULL;
END $$;
CREATE INDEX IF NOT EXISTS changes_by_collection ON changes (collection, seq);
-- The largest seq the retention purge deleted: since below it is 410.
CREATE TABLE IF NOT EXISTS changes_horizon (
    one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    seq bigint NOT NULL
);
INSERT INTO changes_horizon (seq) VALUES (0) ON CONFLICT DO NOTHING;
"""

#: The CTE a write statement appends its change with (after ``written``).
CHANGED: Final = """
, changed AS (
    INSERT INTO changes (seq, collection, id, version, etag, modified_us)
    SELECT nextval('changes_seq'), collection, id, version, etag, modified_us FROM written
)"""
#: `CHANGED` for a write that purges the document's history.
PURGED: Final = """
, changed AS (
    INSERT INTO changes (seq, collection, id, version, etag, modified_us, purged)
    SELECT nextval('changes_seq'), collection, id, version, etag, modified_us, true FROM written
)"""
_COLUMNS: Final = "seq, collection, id, version, etag, modified_us, purged"
_HORIZON: Final = "(SELECT seq FROM changes_horizon)"
BOUNDS: Final = f"SELECT {_HORIZON}, (SELECT max(seq) FROM changes)"

#: Run one statement on a pooled connection: (sql, params) -> rows.
Run = Callable[[str, Any], Awaitable[list[TupleRow]]]


def erase_sql() -> str:
    """Erase a deleted document's history and append its change, in one statement."""
    return (
        "WITH erased AS (DELETE FROM document_versions v WHERE v.collection = %(c)s "
        "AND v.id = %(i)s AND EXISTS (SELECT 1 FROM documents d WHERE d.collection = %(c)s "
        "AND d.id = %(i)s AND d.etag IS NULL FOR SHARE) RETURNING 1), "
        "written AS (SELECT collection, id, version, NULL::text AS etag, "
        "%(now)s::bigint AS modified_us FROM documents "
        "WHERE collection = %(c)s AND id = %(i)s AND EXISTS (SELECT 1 FROM erased))"
        f"{PURGED} SELECT 1 FROM erased LIMIT 1"
    )


async def bounds(run: Run) -> ChangeBounds:
    rows = await run(BOUNDS, ())
    horizon, latest = rows[0]
    return ChangeBounds(horizon, max(horizon, latest or 0))


async def read(
    run: Run, collection: str, after: int, upto: int, id: str | None, limit: int
) -> ChangesRead:
    # The horizon in the same statement: the rows and it agree.
    rows = await run(
        f"SELECT h.seq, c.* FROM changes_horizon h LEFT JOIN LATERAL ("
        f"  SELECT {_COLUMNS} FROM changes WHERE collection = %(c)s AND seq > %(after)s "
        "  AND seq <= %(upto)s AND (%(id)s::text IS NULL OR id = %(id)s) "
        "  ORDER BY seq LIMIT %(limit)s) c ON true ORDER BY c.seq",
        {"c": collection, "after": after, "upto": upto, "id": id, "limit": limit},
    )
    horizon = rows[0][0]
    return ChangesRead([Change(*row[1:]) for row in rows if row[1] is not None], horizon)


async def purge(run: Run, before_us: int, limit: int, upto: int) -> int:
    """Delete up to `limit` of the oldest changes made before `before_us`, raising the horizon.

    Only a prefix in seq order goes, in one statement (concurrent purges of
    several workers delete each row once, and the horizon only rises), and
    only at or below `upto`, a seq every one below which is resolved
    (`PurgeFence`): else a change committed later below the horizon would
    be lost to every reader, with no 410.
    """
    rows = await run(
        "WITH head AS (SELECT seq, modified_us FROM changes WHERE seq <= %(upto)s "
        "  ORDER BY seq LIMIT %(limit)s), "
        "cut AS (SELECT max(seq) AS seq FROM head WHERE seq < coalesce("
        "  (SELECT min(seq) FROM head WHERE modified_us >= %(before)s), 'Infinity'::numeric)), "
        "gone AS (DELETE FROM changes WHERE seq <= (SELECT seq FROM cut) RETURNING 1), "
        "raised AS (UPDATE changes_horizon SET seq = greatest(seq, (SELECT seq FROM cut)) "
        "  WHERE (SELECT seq FROM cut) IS NOT NULL) "
        "SELECT count(*) FROM gone",
        {"limit": limit, "before": before_us, "upto": upto},
    )
    return int(rows[0][0])


#: Seconds a fence waits for the transactions that may hold its seqs to end.
FENCE_WAIT: Final = 1.0
#: Seconds a resolved fence serves the purge's batches before it is taken again.
FENCE_FRESH: Final = 1.0
#: Seconds between two looks at whether a fence's suspects have ended.
_FENCE_LOOK: Final = 0.02


@dataclass(slots=True)
class PurgeFence:
    """How far the retention purge may go: a seq every one at or below which is resolved.

    A change still to commit may hold any seq the sequence handed out, even
    below changes already committed and old enough to purge (a transaction
    that wrote a document and stays open). Purged past, it would commit
    under the horizon: a reader already beyond the horizon never sees it,
    and nothing says so. So the purge goes no higher than a fence: the
    sequence's last value M, read BEFORE the transactions locking the
    changes table (their xids, the suspects). A writer takes that lock
    before its seq (see `SnapshotWatermark`), so whoever holds a seq <= M
    and has not ended is a suspect; once a snapshot shows every suspect
    ended, every seq <= M committed or never will. A fence waits
    `FENCE_WAIT` for that (the service's writes are single statements); if
    a suspect is still open, the purge stays at the last fence resolved and
    the next one looks again.
    """

    resolved: int = 0
    #: (M, the suspects' 64-bit xids) of a fence taken and not yet resolved.
    _pending: tuple[int, frozenset[int]] | None = None
    _resolved_at: float = float("-inf")

    async def upto(self, run: Run) -> int:
        """The seq a purge may go up to now: the newest fence resolved, taken again if stale."""
        if time.monotonic() - self._resolved_at < FENCE_FRESH:
            return self.resolved
        if self._pending is None:
            (latest,), *_ = await run("SELECT pg_sequence_last_value('changes_seq')", ())
            (snapshot, lockers), *_ = await run(
                f"SELECT pg_current_snapshot()::text, ARRAY({LOCKERS})", ()
            )
            seen = Snapshot.parse(snapshot)
            self._pending = (latest or 0, frozenset(seen.widen(int(x)) for x in lockers))
        fence, suspects = self._pending
        deadline = time.monotonic() + FENCE_WAIT
        while True:
            (now,), *_ = await run("SELECT pg_current_snapshot()::text", ())
            if not any(Snapshot.parse(now).running(xid) for xid in suspects):
                self.resolved, self._pending = max(self.resolved, fence), None
                self._resolved_at = time.monotonic()
                return self.resolved
            if time.monotonic() >= deadline:
                return self.resolved
            await asyncio.sleep(_FENCE_LOOK)


class PostgresChangeFeed:
    """A `ChangeFeed` of a PostgreSQL database (see `SnapshotWatermark`)."""

    def __init__(self, run: Run) -> None:
        self._run = run
        self._state = SnapshotWatermark()
        self._started = False
        #: The watermark as of the last poll that returned.
        self._watermark: int | None = None
        #: Changes resolved by a poll that then failed: the next poll returns them first.
        self._unreturned: list[Change] = []

    @property
    def watermark(self) -> int | None:
        return self._watermark

    async def poll(self, limit: int) -> list[Change]:
        # A poll makes up to three statements, and the state moves past what
        # each read resolves: when a later statement fails (the database
        # restarting), what the earlier read resolved is kept for the next
        # poll, or no watcher would ever be sent it.
        resolved, self._unreturned = self._unreturned, []
        try:
            if not self._started:
                rows = await self._run(f"SELECT pg_current_snapshot()::text, {BOUNDS[7:]}", ())
                snapshot, horizon, latest = rows[0]
                self._state.start(Snapshot.parse(snapshot), max(horizon, latest or 0))
                self._started = True
            resolved += await self._read(limit - len(resolved))
            if self._state.to_narrow:
                # A gap (or the start) waits for transactions: keep only those
                # that may hold a seq, then look again in a new snapshot.
                lockers = await self._run(LOCKERS, ())
                self._state.narrow(frozenset(int(xid) for (xid,) in lockers))
                resolved += await self._read(limit - len(resolved))
        except BaseException:
            self._unreturned = resolved
            raise
        self._watermark = self._state.watermark
        return resolved

    async def _read(self, limit: int) -> list[Change]:
        if limit <= 0:
            return []
        rows = await self._run(
            "SELECT s::text, c.* FROM pg_current_snapshot() s LEFT JOIN LATERAL ("
            f"  SELECT {_COLUMNS} FROM changes WHERE seq > %s ORDER BY seq LIMIT %s"
            ") c ON true ORDER BY c.seq",
            (self._state.reads_after, limit),
        )
        snapshot = Snapshot.parse(rows[0][0])
        changes = [Change(*row[1:]) for row in rows if row[1] is not None]
        return self._state.advance(snapshot, changes)


#: The xids of the transactions holding a lock on the changes table (each
#: holds one on its own xid too, under the same virtual transaction).
LOCKERS: Final = (
    "SELECT t.transactionid::text FROM pg_locks r JOIN pg_locks t "
    "ON t.virtualtransaction = r.virtualtransaction AND t.locktype = 'transactionid' "
    "WHERE r.locktype = 'relation' AND r.relation = 'changes'::regclass "
    "AND r.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
