"""What the change feed costs a write: the store's If-Match put with and without its change row.

    python -m bench.feed_write_cost [--puts N] [--rounds R] [--pg URL]

Each write appends its change in its own statement (a trigger on SQLite,
a CTE reading FROM ``written`` on PostgreSQL). This times the document
store's guarded put (one connection, one document per round, sequential)
with the change row, and without it (SQLite: the two triggers dropped;
PostgreSQL: the CTE left out of the statement), in interleaved rounds, and
prints the median CPU time per put of each and their ratio: this process's
(SQLite works in it) plus, on PostgreSQL, the server backend's of the one
connection (from /proc), so that a loaded machine's waits do not count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from httpconflict import ETag, Guard
from httpconflict.storage import DocumentStore, _pg_changes, document_store
from httpconflict.storage.postgres import PostgresDocumentStore

#: The PostgreSQL backend whose CPU counts too (None on SQLite).
_backend: list[int] = []


def _cpu() -> float:
    """Seconds of CPU of this process, and of the PostgreSQL backend if there is one."""
    total = time.process_time()
    for pid in _backend:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@asynccontextmanager
async def _opened(url: str) -> AsyncIterator[DocumentStore]:
    store = document_store(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def _puts(store: DocumentStore, count: int) -> float:
    """Seconds per guarded put of one document, `count` times in a row."""
    id = uuid.uuid4().hex
    body = b'{"n": 0}'
    etag = ETag.from_content(body).opaque
    await store.put("bench", id, body, etag, Guard(exists=False), time.time_ns() // 1000)
    started = _cpu()
    for n in range(1, count + 1):
        new = f'{{"n": {n}}}'.encode()
        new_tag = ETag.from_content(new).opaque
        guard = Guard(exists=True, etags=frozenset({etag}))
        result = await store.put("bench", id, new, new_tag, guard, time.time_ns() // 1000)
        assert result.written
        etag = new_tag
    return (_cpu() - started) / count


async def _sqlite(puts: int, rounds: int) -> tuple[list[float], list[float]]:
    directory = Path(tempfile.mkdtemp(prefix="feed-cost-"))
    with_feed, without = str(directory / "with.db"), str(directory / "without.db")
    async with _opened(without):
        pass
    with sqlite3.connect(without) as db:
        db.execute("DROP TRIGGER change_created")
        db.execute("DROP TRIGGER change_written")
    return await _interleaved(lambda: _opened(with_feed), lambda: _opened(without), puts, rounds)


async def _postgres(url: str, puts: int, rounds: int) -> tuple[list[float], list[float]]:
    kept = _pg_changes.CHANGED

    def toggle(on: bool) -> Callable[[], None]:
        def set_it() -> None:
            # The statement reads the module's CTE when it is made: left out, or put back.
            _pg_changes.CHANGED = kept if on else ""  # type: ignore[misc]  # a bench's switch

        return set_it

    store = PostgresDocumentStore(url, min_size=1, max_size=1)
    await store.open()
    try:
        row = await store._all("SELECT pg_backend_pid()", ())
        _backend.append(int(row[0][0]))
        a: list[float] = []
        b: list[float] = []
        for _ in range(rounds):
            toggle(True)()
            a.append(await _puts(store, puts))
            toggle(False)()
            b.append(await _puts(store, puts))
        toggle(True)()
        return a, b
    finally:
        await store.close()


async def _interleaved(
    first: Callable[[], AbstractAsyncContextManager[DocumentStore]],
    second: Callable[[], AbstractAsyncContextManager[DocumentStore]],
    puts: int,
    rounds: int,
) -> tuple[list[float], list[float]]:
    a: list[float] = []
    b: list[float] = []
    for _round in range(rounds):
        for opened, out in ((first, a), (second, b)):
            async with opened() as store:
                out.append(await _puts(store, puts))
    return a, b


def _row(name: str, timings: tuple[list[float], list[float]]) -> str:
    with_feed, without = (statistics.median(t) * 1e6 for t in timings)
    return f"| {name} | {with_feed:.0f} µs | {without:.0f} µs | {without / with_feed:.2f}x |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--puts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    rows = [_row("SQLite", asyncio.run(_sqlite(args.puts, args.rounds)))]
    if args.pg:
        rows.append(_row("PostgreSQL", asyncio.run(_postgres(args.pg, args.puts, args.rounds))))
    print("| store (CPU per put) | with its change | without | without / with |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
