"""Streamed list answers vs the same page held whole: the worker's peak memory and the time.

    python -m bench.lists [--rounds N] [--postgres URL]

Starts bench/lists_app.py (the service, plus the list answer built the old
way at /whole/{c}) with one worker on a fresh SQLite file, and with
``--postgres`` on that database too (in a schema of its own, dropped
afterwards). Fills two collections: 60 documents of 1 MB (the issue's 60 MB
page) and 1000 of 20 KB (a 20 MB page of many items). Then, `--rounds`
times, alternating which goes first, has 1 client and then 4 at once read
the page (limit=1000) streamed and whole, each client reading the answer
as it arrives and keeping none of it. Before each read the worker's peak
resident memory is reset (``5`` to /proc/PID/clear_refs), so the peak after
it is what the reading added. Prints the medians and the ratios as a
markdown table. Exits 1 if the two answers differ by a byte, or if a
streamed page added 32 MB or more (the issue's acceptance).
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Final
from urllib.parse import quote

import httpx

from httpconflict.service.config import ServiceConfig

from .rounds import exit_on_sigterm
from .servers import HOST, Server, free_port, running

MB: Final = 1_000_000
MIB: Final = 1024 * 1024
ACCEPTANCE: Final = 32 * MIB
#: (collection, documents, bytes each)
COLLECTIONS: Final = (("big", 60, MB), ("many", 1000, 20_000))
CLIENTS: Final = (1, 4)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lists", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="reads per case (default 3)")
    parser.add_argument("--postgres", metavar="URL", help="also measure on this PostgreSQL")
    options = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)  # so the server gets stopped
    rows: list[tuple[str, ...]] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="httpconflict-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        databases = [("SQLite", str(work / "lists.db"))]
        if options.postgres:
            databases.append(("PostgreSQL", stack.enter_context(_schema(options.postgres))))
        for name, db in databases:
            with _server(db, work) as server:
                found, broken = _measure(name, server, options.rounds)
                rows += found
                failed = failed or broken
    print(_table(rows))
    return 1 if failed else 0


@contextmanager
def _server(db: str, work: Path) -> Iterator[Server]:
    port = free_port()
    command = [
        *(sys.executable, "-m", "uvicorn", "bench.lists_app:create_app", "--factory"),
        *("--host", HOST, "--port", str(port), "--http", "httptools", "--no-access-log"),
    ]
    env = ServiceConfig(db=db, log_format="off").to_env()
    with running("lists", command, db=work / "lists.db", port=port, log_dir=work, env=env) as s:
        yield s


@contextmanager
def _schema(url: str) -> Iterator[str]:
    """A URL of `url`'s database whose tables go to a fresh schema, dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = sql.Identifier(f"bench_lists_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(name))
    try:
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options={quote(f'-csearch_path={name.as_string()}')}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(name))


def _measure(database: str, server: Server, rounds: int) -> tuple[list[tuple[str, ...]], bool]:
    rows: list[tuple[str, ...]] = []
    failed = False
    pid = server.process.pid
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for collection, count, size in COLLECTIONS:
            _fill(http, collection, count, size)
            paths = {
                "streamed": f"/v1/{collection}?limit=1000",
                "whole": f"/whole/{collection}?limit=1000",
            }
            digests = {how: _read(http, path)[1] for how, path in paths.items()}
            if digests["streamed"] != digests["whole"]:
                print(f"{database} {collection}: the answers differ", file=sys.stderr)
                failed = True
            for clients in CLIENTS:
                peaks: dict[str, list[float]] = {how: [] for how in paths}
                times: dict[str, list[float]] = {how: [] for how in paths}
                for r in range(rounds):
                    order = list(paths) if r % 2 == 0 else list(reversed(paths))
                    for how in order:
                        added, seconds = _peak_and_time(http, pid, paths[how], clients)
                        peaks[how].append(added)
                        times[how].append(seconds)
                        print(
                            f"{database} {collection} x{clients} {how:>8}: "
                            f"+{added / MIB:.1f} MiB, {seconds:.2f} s",
                            file=sys.stderr,
                            flush=True,
                        )
                peak = {how: statistics.median(v) for how, v in peaks.items()}
                took = {how: statistics.median(v) for how, v in times.items()}
                if max(peaks["streamed"]) >= ACCEPTANCE:
                    failed = True
                rows.append(
                    (
                        database,
                        f"{count} x {size // 1000} KB",
                        str(clients),
                        f"{peak['whole'] / MIB:.1f}",
                        f"{peak['streamed'] / MIB:.1f}",
                        f"{peak['streamed'] / peak['whole']:.3f}",
                        f"{took['whole']:.2f}",
                        f"{took['streamed']:.2f}",
                        f"{took['streamed'] / took['whole']:.2f}",
                    )
                )
    return rows, failed


def _fill(http: httpx.Client, collection: str, count: int, size: int) -> None:
    def create(n: int) -> None:
        head = f'{{"n":{n},"pad":"'
        body = (head + "x" * (size - len(head) - 2) + '"}').encode()
        response = http.put(
            f"/v1/{collection}/doc-{n:04}",
            content=body,
            headers={"If-None-Match": "*", "Content-Type": "application/json"},
        )
        if response.status_code != 201:
            raise RuntimeError(f"filling {collection}: {response.status_code} {response.text}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(create, range(count)))


def _read(http: httpx.Client, path: str) -> tuple[int, str]:
    """Read an answer as it arrives, keeping none of it: its size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    with http.stream("GET", path) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _peak_and_time(http: httpx.Client, pid: int, path: str, clients: int) -> tuple[int, float]:
    """What `clients` reads of `path` at once add to the worker's peak memory, and their time."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    start = _memory(pid)["VmRSS"]
    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: _read(http, path), range(clients)))
    seconds = time.perf_counter() - began
    return _memory(pid)["VmHWM"] - start, seconds


def _memory(pid: int) -> dict[str, int]:
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith(" kB"):
            figures[name] = int(value.split()[0]) * 1024
    return figures


def _table(rows: list[tuple[str, ...]]) -> str:
    header = (
        "database",
        "page",
        "clients",
        "whole: peak added (MiB)",
        "streamed (MiB)",
        "memory ratio",
        "whole: time (s)",
        "streamed (s)",
        "time ratio",
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [header, tuple("-" * w for w in widths), *rows]
    return "\n".join(
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |"
        for line in lines
    )


if __name__ == "__main__":
    sys.exit(main())
