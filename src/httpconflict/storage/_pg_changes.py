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

from collections.abc import Awaitable, Callable
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
    modified_us bigint NOT NULL
);
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
_COLUMNS: Final = "seq, collection, id, version, etag, modified_us"
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
        f"{CHANGED} SELECT 1 FROM erased LIMIT 1"
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


async def purge(run: Run, before_us: int, limit: int) -> int:
    """Delete up to `limit` of the oldest changes made before `before_us`, raising the horizon.

    Only a prefix in seq order goes, in one statement (concurrent purges of
    several workers delete each row once, and the horizon only rises).
    """
    rows = await run(
        "WITH head AS (SELECT seq, modified_us FROM changes ORDER BY seq LIMIT %(limit)s), "
        "cut AS (SELECT max(seq) AS seq FROM head WHERE seq < coalesce("
        "  (SELECT min(seq) FROM head WHERE modified_us >= %(before)s), 'Infinity'::numeric)), "
        "gone AS (DELETE FROM changes WHERE seq <= (SELECT seq FROM cut) RETURNING 1), "
        "raised AS (UPDATE changes_horizon SET seq = greatest(seq, (SELECT seq FROM cut)) "
        "  WHERE (SELECT seq FROM cut) IS NOT NULL) "
        "SELECT count(*) FROM gone",
        {"limit": limit, "before": before_us},
    )
    return int(rows[0][0])


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
