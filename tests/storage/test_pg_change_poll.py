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
    """Answers the feed's statements from scripted reads; the locks query fails once if told."""

    def __init__(self, reads: list[list[tuple[object, ...]]], *, locks_fail: bool) -> None:
        self.reads = reads
        self.locks_fail = locks_fail

    async def run(self, sql: str, params: Any) -> list[Any]:
        if sql.startswith("SELECT pg_current_snapshot()::text,"):
            return [("10:12:11", 0, 2)]  # transaction 11 runs; the newest seq is 2
        if sql == LOCKERS:
            if self.locks_fail:
                self.locks_fail = False
                raise psycopg.OperationalError("the database system is shutting down")
            return [("13",)]
        return self.reads.pop(0)


async def test_changes_resolved_before_a_failure_come_with_the_next_poll() -> None:
    """Read 3 (and 5 after a gap at 4), fail on the locks: the next poll returns 3 and 5."""
    database = Database(
        [
            # 11 has ended; 13 runs, and may hold seq 4: W stops at 3.
            [row("12:14:13", 3), row("12:14:13", 5)],
            # 13 has ended without writing 4: 4 is a permanent gap.
            [row("14:14:", 5)],
        ],
        locks_fail=True,
    )
    feed = PostgresChangeFeed(database.run)
    with pytest.raises(psycopg.OperationalError):
        await feed.poll(100)
    assert feed.watermark is None  # nothing was returned yet
    changes = await feed.poll(100)
    assert [change.seq for change in changes] == [3, 5]
    assert feed.watermark == 5
