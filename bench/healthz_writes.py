"""What /healthz costs writers: a pure counter hammered on SQLite with 2 workers, with and without
/healthz called as fast as C callers can (and, to tell the probe's cost from a request's,
with C callers of a document GET instead).

Each writer loops GET, then PUT {"n": n + 1} with If-Match (a 412 reads
again); a 200 is an acknowledged write. At the end the counter must equal
the acknowledged writes. Reported: acknowledged writes per second,
/healthz answers per second, 5xx and "database is locked" answers, and
the WAL file's size at the end (SQLite's header write per /healthz is a
commit).

    python -m bench.healthz_writes [--seconds 10] [--writers 8] [--health 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.servers import HOST, free_port, running

DOC = "/v1/bench/counter"


@dataclass
class Tally:
    writes: int = 0
    conflicts: int = 0
    health: int = 0
    health_bad: dict[int, int] = field(default_factory=dict)
    bad: dict[str, int] = field(default_factory=dict)


async def writer(client: httpx.AsyncClient, tally: Tally, until: float) -> None:
    while time.monotonic() < until:
        read = await client.get(DOC)
        if read.status_code != 200:
            tally.bad[f"GET {read.status_code}"] = tally.bad.get(f"GET {read.status_code}", 0) + 1
            continue
        n = read.json()["n"]
        put = await client.put(DOC, json={"n": n + 1}, headers={"If-Match": read.headers["etag"]})
        if put.status_code == 200:
            tally.writes += 1
        elif put.status_code == 412:
            tally.conflicts += 1
        else:
            locked = "locked" in put.text
            what = f"PUT {put.status_code}{' locked' if locked else ''}"
            tally.bad[what] = tally.bad.get(what, 0) + 1


async def prober(client: httpx.AsyncClient, tally: Tally, until: float, path: str) -> None:
    while time.monotonic() < until:
        answer = await client.get(path)
        if answer.status_code == 200:
            tally.health += 1
        else:
            tally.health_bad[answer.status_code] = tally.health_bad.get(answer.status_code, 0) + 1


async def hammer(url: str, seconds: float, writers: int, health: int, path: str) -> Tally:
    tally = Tally()
    limits = httpx.Limits(max_connections=writers + health + 2)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        created = await client.put(DOC, json={"n": 0}, headers={"If-None-Match": "*"})
        assert created.status_code == 201, created.text
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(writer(client, tally, until) for _ in range(writers)),
            *(prober(client, tally, until, path) for _ in range(health)),
        )
        final = (await client.get(DOC)).json()["n"]
    if final != tally.writes:
        raise SystemExit(f"counter {final} != {tally.writes} acknowledged writes")
    return tally


def run(seconds: float, writers: int, health: int, workers: int, path: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        port = free_port()
        command = [
            *(sys.executable, "-m", "httpconflict.cli", "serve"),
            *("--db", str(db), "--host", HOST, "--port", str(port)),
            *("--workers", str(workers), "--log-format", "json"),
        ]
        with running("healthz", command, db=db, port=port, log_dir=Path(tmp)) as server:
            tally = asyncio.run(hammer(server.url, seconds, writers, health, path))
            wal = Path(str(db) + "-wal")
            wal_mb = wal.stat().st_size / 1e6 if wal.exists() else 0.0
    return {
        "callers": f"{health} x GET {path}" if health else "none",
        "writes_per_s": round(tally.writes / seconds, 1),
        "412_per_s": round(tally.conflicts / seconds, 1),
        "callers_200_per_s": round(tally.health / seconds, 1),
        "callers_not_200": tally.health_bad,
        "writes_not_200_412": tally.bad,
        "wal_mb": round(wal_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--health", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    # The control: as many callers of a document GET (a read, no commit), which
    # cost the server's CPU as a request does, to tell that from the probe's commit.
    runs = [(0, ""), (args.health, DOC), (args.health, "/healthz")]
    for _ in range(args.rounds):
        for health, path in runs:
            result = run(args.seconds, args.writers, health, args.workers, path)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
