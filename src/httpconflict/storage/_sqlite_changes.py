"""The change feed on SQLite: the ``changes`` table, its triggers, reads and purge.

Triggers on the documents table append a change in the statement that
writes the document (as the history triggers do), so a change commits with
its write or not at all. SQLite has one writer at a time, so seqs (the
table's rowid) commit in increasing order and a reader that has seen seq s
has seen every committed change below it: the watermark is the largest
seq read. A rowid is the largest one plus 1: a write rolled back frees its
seq for the next, which is harmless (no reader saw it); the purge never
deletes the newest row, so a seq is never handed out twice once seen.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Final

from ._changes import Change, ChangeBounds, ChangesRead
from ._sqlite import Connections, transaction

_CHANGE: Final = """
    INSERT INTO changes (collection, id, version, etag, modified_us)
    VALUES (NEW.collection, NEW.id, NEW.version, NEW.etag, NEW.modified_us);
"""
SCHEMA: Final = [
    """CREATE TABLE IF NOT EXISTS changes (
        seq INTEGER PRIMARY KEY,     -- the rowid: commit order
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        etag TEXT,                   -- NULL: deleted (or purged)
        modified_us INTEGER NOT NULL,
        purged INTEGER NOT NULL DEFAULT 0  -- 1: the history went with it
    )""",
    "CREATE INDEX IF NOT EXISTS changes_by_collection ON changes (collection, seq)",
    f"""CREATE TRIGGER IF NOT EXISTS change_created AFTER INSERT ON documents BEGIN
        {_CHANGE}
    END""",
    # OF version: every write makes a new version; an upgrade that fills in
    # a column (previous_us) is not a change.
    f"""CREATE TRIGGER IF NOT EXISTS change_written AFTER UPDATE OF version ON documents BEGIN
        {_CHANGE}
    END""",
    # The largest seq the retention purge deleted: since below it is 410.
    "INSERT INTO settings (name, value) VALUES ('changes_horizon', 0) ON CONFLICT DO NOTHING",
]
_HORIZON: Final = "(SELECT value FROM settings WHERE name = 'changes_horizon')"
_COLUMNS: Final = "seq, collection, id, version, etag, modified_us, purged"
#: Files of schema version 4 had no changes.purged.
UPGRADE_TO_5: Final = "ALTER TABLE changes ADD COLUMN purged INTEGER NOT NULL DEFAULT 0"


def record_erased(db: sqlite3.Connection, collection: str, id: str, now_us: int) -> None:
    """Append the change of an erase (a deleted document's history gone), in its transaction."""
    db.execute(
        "INSERT INTO changes (collection, id, version, etag, modified_us, purged) "
        "SELECT collection, id, version, NULL, ?, 1 FROM documents WHERE collection = ? AND id = ?",
        (now_us, collection, id),
    )


def mark_purged(db: sqlite3.Connection) -> None:
    """Mark the change the transaction's write appended (its trigger's) as a purge.

    The transaction holds the file's one write lock: the newest change is its own.
    """
    db.execute("UPDATE changes SET purged = 1 WHERE seq = (SELECT max(seq) FROM changes)")


def _change(row: tuple[Any, ...]) -> Change:
    """A row of `_COLUMNS` (SQLite's purged is 0 or 1)."""
    seq, collection, id, version, etag, modified_us, purged = row
    return Change(seq, collection, id, version, etag, modified_us, bool(purged))


def bounds(db: sqlite3.Connection) -> ChangeBounds:
    horizon, latest = db.execute(f"SELECT {_HORIZON}, (SELECT max(seq) FROM changes)").fetchone()
    return ChangeBounds(horizon, max(horizon, latest or 0))


def read(
    db: sqlite3.Connection,
    collection: str,
    after: int,
    upto: int,
    id: str | None,
    limit: int,
) -> ChangesRead:
    # One statement, one snapshot: the rows and the horizon agree.
    sql = (
        f"SELECT {_COLUMNS}, {_HORIZON} FROM changes "
        "WHERE collection = ? AND seq > ? AND seq <= ? {} ORDER BY seq LIMIT ?"
    )
    if id is None:
        rows = db.execute(sql.format(""), (collection, after, upto, limit)).fetchall()
    else:
        rows = db.execute(sql.format("AND id = ?"), (collection, after, upto, id, limit)).fetchall()
    if not rows:
        return ChangesRead([], bounds(db).horizon)
    return ChangesRead([_change(row[:7]) for row in rows], rows[0][7])


def purge(db: sqlite3.Connection, before_us: int, limit: int) -> int:
    """Delete the oldest changes made before `before_us`, up to `limit`, raising the horizon.

    Only a prefix in seq order goes (everything up to the horizon is gone),
    and never the newest change (whose seq the next rowid follows).
    """
    with transaction(db):
        rows = db.execute(
            "SELECT seq, modified_us FROM changes WHERE seq < (SELECT max(seq) FROM changes) "
            "ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        cut = None
        for seq, modified_us in rows:
            if modified_us >= before_us:
                break
            cut = seq
        if cut is None:
            return 0
        gone = db.execute("DELETE FROM changes WHERE seq <= ?", (cut,)).rowcount
        db.execute(
            "UPDATE settings SET value = max(value, ?) WHERE name = 'changes_horizon'", (cut,)
        )
    return gone


class RowidWatermark:
    """A `ChangeFeed` of a SQLite file: commit order is seq order, so W is the largest seq read."""

    def __init__(self, sql: Connections) -> None:
        self._sql = sql
        self._watermark: int | None = None

    @property
    def watermark(self) -> int | None:
        return self._watermark

    async def poll(self, limit: int) -> list[Change]:
        if self._watermark is None:
            self._watermark = (await self._sql.run(bounds)).latest
            return []
        after = self._watermark
        rows = await self._sql.run(
            lambda db: db.execute(
                f"SELECT {_COLUMNS} FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
        )
        changes = [_change(row) for row in rows]
        if changes:
            self._watermark = changes[-1].seq
        return changes
