"""What looking at a pooled PostgreSQL connection before each use costs a read.

    python -m bench.pg_checkout [--url postgresql://...] [--reads N] [--rounds R]

A restart of PostgreSQL ends every pooled connection, so each connection
taken from the pool is looked at before use (storage/_pg_pool.py). This
times `PostgresDocumentStore.get` of one small document (a primary-key read,
the cheapest statement a request makes), `--reads` in a row on one event
loop, with the look done three ways, in interleaved rounds (the median
round of each is reported):

- none: the connection used as the pool gives it (what a dead one fails);
- socket poll: a zero-timeout poll of the socket, a round trip only when
  something waits on it (what the stores do);
- round trip: an empty query each time (psycopg_pool's ``check_connection``,
  the pool's documented ``check=``).

Prints a markdown table of microseconds per read and the ratio to none.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from httpconflict import ETag, Guard
from httpconflict.storage import _pg_pool
from httpconflict.storage.postgres import PostgresDocumentStore

from .rounds import machine

DEFAULT_URL: Final = "postgresql://postgres@127.0.0.1:5432/test"
Check = Callable[[AsyncConnection[TupleRow]], Awaitable[bool]]


async def unchecked(conn: AsyncConnection[TupleRow]) -> bool:
    return True


async def round_trip(conn: AsyncConnection[TupleRow]) -> bool:
    try:
        await AsyncConnectionPool.check_connection(conn)
    except Exception:  # any failure: the connection is not usable
        return False
    return True


CHECKS: Final[dict[str, Check]] = {
    "none": unchecked,
    "socket poll (httpconflict)": _pg_pool._usable,
    "round trip (check_connection)": round_trip,
}


async def reads(store: PostgresDocumentStore, id: str, count: int) -> float:
    """Seconds per read, over `count` reads in a row."""
    began = time.perf_counter()
    for _ in range(count):
        await store.get("bench", id)
    return (time.perf_counter() - began) / count


async def measure(url: str, count: int, rounds: int) -> dict[str, float]:
    store = PostgresDocumentStore(url, min_size=1, max_size=1)
    await store.open()
    try:
        id = uuid.uuid4().hex
        body = b'{"n": 0}'
        await store.put("bench", id, body, ETag.from_content(body).opaque, Guard(exists=False), 1)
        await reads(store, id, count)  # warm up: connection, prepared statements
        seen: dict[str, list[float]] = {name: [] for name in CHECKS}
        for _ in range(rounds):
            for name, check in CHECKS.items():
                _pg_pool._usable = check  # type: ignore[assignment]  # the variant under test
                seen[name].append(await reads(store, id, count))
        return {name: statistics.median(times) for name, times in seen.items()}
    finally:
        _pg_pool._usable = CHECKS["socket poll (httpconflict)"]  # type: ignore[assignment]  # restored
        await store.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pg_checkout", description=__doc__)
    parser.add_argument("--url", default=DEFAULT_URL, help="a PostgreSQL URL (libpq syntax)")
    parser.add_argument("--reads", type=int, default=500, help="reads per round (default 500)")
    parser.add_argument("--rounds", type=int, default=21, help="rounds per variant (default 21)")
    options = parser.parse_args(argv)
    results = asyncio.run(measure(options.url, options.reads, options.rounds))
    base = results["none"]
    setting = machine("psycopg", "psycopg-pool")
    print(f"{setting}; {options.rounds} rounds of {options.reads} reads, median round\n")
    print("| look before use | µs per read | ratio to none |")
    print("|---|---|---|")
    for name, seconds in results.items():
        print(f"| {name} | {seconds * 1e6:.0f} | {seconds / base:.2f} |")


if __name__ == "__main__":
    main()
