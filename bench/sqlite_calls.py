"""What a SQLite store call costs on the event loop, and what a thread hop would add.

    python -m bench.sqlite_calls [--calls N] [--rounds N]

In one process, on one SQLite file with one document, times the same
primary-key read (the statement behind `validators`) three ways, the
ways interleaved round by round: the driver called directly on the event
loop; through `Connections.run`, which the stores use (on the loop while
no lock is in the way); and through `Connections.offload`, one hop to the
waiting thread and back, which is what running every call off the loop
would cost. Runs on uvloop when installed, as the service does. Prints
the median microseconds per call of each and the ratios to the direct
call as a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final

from httpconflict.storage._sqlite import Connections

from .rounds import machine

SQL: Final = "SELECT etag, modified_us FROM documents WHERE collection = ? AND id = ?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sqlite_calls", description=__doc__)
    parser.add_argument(
        "--calls", type=int, default=2_000, help="calls per way per round (default 2000)"
    )
    parser.add_argument(
        "--rounds", type=int, default=41, help="rounds, each way in turn (default 41)"
    )
    options = parser.parse_args(argv)
    try:  # the service's loop under uvicorn, when installed
        import uvloop

        micros = uvloop.run(_measure(options.calls, options.rounds))
        loop = "uvloop"
    except ImportError:
        micros = asyncio.run(_measure(options.calls, options.rounds))
        loop = "asyncio"
    print(
        f"{machine('uvloop')}; on {loop}. {options.rounds} rounds x {options.calls} calls "
        "per way, interleaved; the median per call.\n"
    )
    print("| way | us per call | ratio |")
    print("|---|---:|---:|")
    direct = micros["driver called directly"]
    for way, us in micros.items():
        print(f"| {way} | {us:.2f} | {us / direct:.2f}x |")
    return 0


async def _measure(calls: int, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="httpconflict-calls-") as tmp:
        sql = Connections(Path(tmp) / "calls.db")
        await sql.open()
        try:
            db = sql.db
            db.execute(
                "CREATE TABLE documents (collection TEXT, id TEXT, etag TEXT, modified_us INT, "
                "PRIMARY KEY (collection, id)) WITHOUT ROWID"
            )
            db.execute("INSERT INTO documents VALUES ('c', 'a', 'e', 1)")

            def read(db: Any) -> Any:
                return db.execute(SQL, ("c", "a")).fetchone()

            async def direct() -> Any:
                return read(db)

            ways: dict[str, Callable[[], Awaitable[Any]]] = {
                "driver called directly": direct,
                "Connections.run (on the loop)": lambda: sql.run(read),
                "Connections.offload (a thread hop)": lambda: sql.offload(read),
            }
            times: dict[str, list[float]] = {way: [] for way in ways}
            for _ in range(rounds):
                for way, call in ways.items():
                    start = time.perf_counter()
                    for _ in range(calls):
                        await call()
                    times[way].append((time.perf_counter() - start) / calls * 1e6)
        finally:
            await sql.close()
    return {way: statistics.median(us) for way, us in times.items()}


if __name__ == "__main__":
    raise SystemExit(main())
