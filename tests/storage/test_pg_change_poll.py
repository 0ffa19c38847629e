"""A PostgreSQL change-feed poll that fails after a read resolved changes loses none of them.

A poll is up to three statements: a read, and when it found a gap, the
transactions locking the changes table and a second read. When the
database goes away between them (a restart), the first read has already
moved the watermark past the changes it resolved: the next poll must return
them, or no watcher is ever sent them. The statements are answered here by
hand (snapshots and rows as PostgreSQL would give them), so that the failure
falls exactly between two of them.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from httpconflict.storage._pg_changes import LOCKERS, PostgresChangeFeed

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def row(snapshot: str, seq: int) -> tuple[object, ...]:
    return (snapshot, seq, "c", f"d{seq}", 1, f'"e{seq}"', 0)


class Database:
    """Answers the feed's statements from scripted reads; the locks query fails on call `fail`."""

    def __init__(self, reads: list[list[tuple[object, ...]]], *, fail: int) -> None:
        self.reads = reads
        self.fail = fail
        self.locks = 0

    async def run(self, sql: str, params: Any) -> list[Any]:
        if sql.startswith("SELECT pg_current_snapshot()::text,"):
            return [("10:12:11", 0, 2)]  # transaction 11 runs; the newest seq is 2
        if sql == LOCKERS:
            self.locks += 1
            if self.locks == self.fail:
                raise psycopg.OperationalError("the database system is shutting down")
            return [("13",)]
        return self.reads.pop(0)


async def test_changes_resolved_before_a_failure_come_with_the_next_poll() -> None:
    """Read 4 (then a gap at 5), fail on the locks: the next poll returns 4, and 6 after it."""
    database = Database(
        [
            # The start: 11 still runs, and the locks were not read yet.
            [row("10:12:11", 3)],
            # After the locks (13 holds one): 13 has ended, W is 2, then 3.
            [row("12:14:", 3)],
            # 4 resolved, 6 visible, 5 missing: the locks must be read (and that fails).
            [row("14:16:15", 4), row("14:16:15", 6)],
            # The next poll: 5 still missing, its suspects not known yet...
            [row("14:16:15", 6)],
            # ...then the lockers (13) have ended without writing 5: 5 is a permanent gap.
            [row("16:16:", 6)],
        ],
        fail=2,
    )
    feed = PostgresChangeFeed(database.run)
    assert [change.seq for change in await feed.poll(100)] == [3]
    with pytest.raises(psycopg.OperationalError):
        await feed.poll(100)
    assert feed.watermark == 3  # nothing more was returned yet
    changes = await feed.poll(100)
    assert [change.seq for change in changes] == [4, 6]
    assert feed.watermark == 6
