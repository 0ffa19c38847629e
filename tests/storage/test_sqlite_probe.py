"""The SQLite store's write probe (/healthz) commits at most once a second, however often asked.

Each probe is a commit of the file's header, which takes the write lock
from the writers (of every worker) and appends a page to the write-ahead
log: /healthz called by many balancers and monitors made one per call. A
probe that passed answers for the next `PROBE_FRESH` seconds; a write
that found the file unable to take it makes the next probe ask again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from httpconflict.storage._sqlite import PROBE_FRESH
from httpconflict.storage.sqlite import SQLiteDocumentStore

PINGS = 50


def test_pings_in_a_burst_commit_once(tmp_path: Path) -> None:
    """50 pings in a row grow the WAL by one page's frame at most, not 50."""
    path = tmp_path / "probe.db"
    wal = Path(str(path) + "-wal")
    store = SQLiteDocumentStore(path)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(store.open())
        loop.run_until_complete(store.ping())  # the first probe commits
        before = wal.stat().st_size
        for _ in range(PINGS):
            loop.run_until_complete(store.ping())
        grown = wal.stat().st_size - before
    finally:
        loop.run_until_complete(store.close())
        loop.close()
    assert PROBE_FRESH >= 0.5
    assert grown == 0, f"{PINGS} pings appended {grown} bytes to the WAL"
