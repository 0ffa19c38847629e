"""The service at 1,000 to 1,000,000 documents, on SQLite and PostgreSQL, and what history costs.

    python -m bench.capacity [--counts 1000,100000,1000000] [--backends sqlite,postgres]
                             [--url postgresql://...] [--history-docs 200]
                             [--duration S] [--rounds N] [--connections C] [--warmup S]
                             [--write-docs]

1. **History.** `--history-docs` documents loaded with 1, 10, 100 and 1,000
   versions kept each (bench/capacity_load.py writes the rows the store
   writes): bytes on disk per document, and so per kept version. The
   service keeps at most `--history` versions of a document (100 by
   default), so that bounds what a document can cost.
2. **Scale.** For each backend, N documents of one version each (N from
   `--counts`), plus 1,000 documents whose history is full (100 versions
   each: every write also prunes one) and 1,000 documents served with
   `--history 1` (every write prunes its predecessor). Each set gets its
   own `httpconflict serve` (one worker by default; `--workers`), its own
   SQLite file or PostgreSQL schema. Then C connections read-modify-write
   random documents (GET, then PUT with If-Match the ETag just read;
   bench/rmw_client.py), `--duration` seconds per set, in interleaved
   rounds. Per set: writes/s, the GETs' p50/p99, CPU per read-modify-write
   (the server's processes, and on PostgreSQL its backends, found by
   application_name), and bytes on disk per document as loaded (SQLite:
   the file and its WAL; PostgreSQL: every table with its indexes and TOAST).

Everything is removed at the end (the temporary directory, the schemas).
Exits 1 if more than 1% of a set's requests were answered with anything
but 200 (or 412 to a PUT that lost a race to another connection).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from .capacity_chart import render
from .capacity_load import COLLECTION, PREFIX, load_postgres, load_sqlite
from .report import write_results
from .rmw_client import Tally, read_modify_write
from .rounds import cpu_seconds, exit_on_sigterm, machine, tree_cpu_seconds
from .servers import HOST, PROJECT, Server, free_port, running

DEFAULT_URL: Final = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_HISTORY: Final = 100
KEPT: Final = (1, 10, 100, 1000)
DOCS: Final = PROJECT / "docs" / "scaling.md"
CHART: Final = PROJECT / "docs" / "capacity.svg"
HEADING: Final = "## Capacity: results"
GOAL: Final = 0.8
MAX_BAD_SHARE: Final = 0.01
BACKENDS: Final = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


@dataclass(slots=True)
class Setup:
    """One set of documents under one server."""

    backend: str
    documents: int
    versions: int
    history: int
    server: Server
    bytes_on_disk: int
    #: PostgreSQL: the application_name of the server's connections.
    application: str | None = None
    tallies: list[Tally] = field(default_factory=list)
    #: CPU µs per read-modify-write of each measured round (server, database).
    cpu: list[tuple[float, float]] = field(default_factory=list)

    @property
    def label(self) -> str:
        what = f"{self.documents:,} documents"
        if self.versions > 1:
            what += f", {self.versions} versions each"
        if self.history != DEFAULT_HISTORY:
            what += f", --history {self.history}"
        return what

    @property
    def plain(self) -> bool:
        """One version each under the default history: a point of the scale."""
        return self.versions == 1 and self.history == DEFAULT_HISTORY


def main(argv: Sequence[str] | None = None) -> int:
    options = _parse(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)  # so the servers get stopped
    backends = [BACKENDS[b] for b in options.backends]
    tag = uuid.uuid4().hex[:8]
    now_us = time.time_ns() // 1000
    with (
        tempfile.TemporaryDirectory(prefix="httpconflict-capacity-") as tmp,
        ExitStack() as stack,
    ):
        work = Path(tmp)
        places = _Places(work, options.url, tag, stack)
        history = {
            backend: {
                kept: _history_bytes(places, backend, options.history_docs, kept, now_us)
                for kept in KEPT
            }
            for backend in backends
        }
        setups = [
            _start(places, backend, n, versions, keep, options, now_us)
            for backend in backends
            for n, versions, keep in [
                *((n, 1, DEFAULT_HISTORY) for n in options.counts),
                (1000, DEFAULT_HISTORY, DEFAULT_HISTORY),
                (1000, 1, 1),
            ]
        ]
        _rounds(setups, options)
    report = _report(setups, history, options)
    print(report)
    if options.write_docs:
        write_results(DOCS, report, heading=HEADING)
        CHART.write_text(_chart(setups, options) + "\n")
        print(
            f"\nwrote {DOCS.relative_to(PROJECT)} and {CHART.relative_to(PROJECT)}", file=sys.stderr
        )
    return _verdict(setups)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument(
        "--counts",
        default="1000,100000,1000000",
        type=lambda s: [int(n) for n in s.split(",")],
        help="document counts (default 1000,100000,1000000)",
    )
    parser.add_argument(
        "--backends",
        default="sqlite,postgres",
        type=lambda s: s.split(","),
        help="sqlite, postgres or both (default both)",
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"PostgreSQL (default {DEFAULT_URL})")
    parser.add_argument(
        "--history-docs", type=int, default=200, help="documents of the history sets (200)"
    )
    parser.add_argument("--workers", type=int, default=1, help="workers per server (default 1)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per set (default 3)")
    parser.add_argument("--connections", type=int, default=4, help="connections (default 4)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per set")
    parser.add_argument("--write-docs", action="store_true", help="write docs/scaling.md")
    options = parser.parse_args(argv)
    if unknown := set(options.backends) - set(BACKENDS):
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if 1000 not in options.counts:
        parser.error("--counts must include 1000: the other counts are compared with it")
    return options


class _Places:
    """Where each set of documents lives: SQLite files, PostgreSQL schemas (removed at the end)."""

    def __init__(self, work: Path, url: str, tag: str, stack: ExitStack) -> None:
        self.work, self.url, self.tag, self.stack = work, url, tag, stack
        self._count = 0

    def new(self, backend: str) -> tuple[str, Callable[[], tuple[int, int]], str | None]:
        """A fresh place: its --db, how to measure its bytes, the application_name (PG)."""
        self._count += 1
        name = f"capacity_{self.tag}_{self._count}"
        if backend == "SQLite":
            path = self.work / f"{name}.db"
            return str(path), lambda: _sqlite_bytes(path), None
        url = self.stack.enter_context(_schema(self.url, name))
        return url, lambda: _postgres_bytes(self.url, name), name


def _sqlite_bytes(path: Path) -> tuple[int, int]:
    """The file and its WAL, and of it the change feed's table and index."""
    import sqlite3

    total = sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists())
    db = sqlite3.connect(path)
    try:
        (feed,) = db.execute(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN (?, ?)",
            ("changes", "changes_by_collection"),
        ).fetchone()
    finally:
        db.close()
    return total, int(feed)


def _postgres_bytes(url: str, schema: str) -> tuple[int, int]:
    """Every table of `schema` with its indexes and TOAST, and of it the change feed's."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0), "
            "coalesce(sum(pg_total_relation_size(c.oid)) FILTER (WHERE relname = 'changes'), 0) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'",
            (schema,),
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


@contextmanager
def _schema(url: str, name: str) -> Iterator[str]:
    from .pg_put import _schema as schema

    with schema(url, name) as used:
        yield used


def _load(backend: str, db: str, n: int, versions: int, history: int, now_us: int) -> None:
    if backend == "SQLite":
        load_sqlite(Path(db), n, versions=versions, history=history, now_us=now_us)
    else:
        load_postgres(db, n, versions=versions, history=history, now_us=now_us)


def _history_bytes(
    places: _Places, backend: str, n: int, kept: int, now_us: int
) -> tuple[int, int]:
    """Bytes on disk per document with `kept` versions each, and of them the feed's.

    The set is removed after.
    """
    db, size, _ = places.new(backend)
    began = time.monotonic()
    _load(backend, db, n, kept, max(kept, DEFAULT_HISTORY), now_us)
    total, feed = size()
    per_document = (total // n, feed // n)
    _log(f"{backend}: {n:,} documents x {kept} versions: {per_document[0]:,} B each", began)
    if backend == "SQLite":
        for path in (Path(db), Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect(places.url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS document_versions, documents, changes")
    return per_document


def _start(
    places: _Places,
    backend: str,
    n: int,
    versions: int,
    history: int,
    options: argparse.Namespace,
    now_us: int,
) -> Setup:
    db, size, application = places.new(backend)
    began = time.monotonic()
    _load(backend, db, n, versions, history, now_us)
    bytes_on_disk, _ = size()
    _log(f"{backend}: loaded {n:,} documents x {versions} ({bytes_on_disk // n:,} B each)", began)
    port = free_port()
    server = places.stack.enter_context(
        running(
            f"{backend}-{n}-{versions}-{history}",
            [
                *(sys.executable, "-m", "httpconflict.cli", "serve", "--db", db),
                *("--host", HOST, "--port", str(port), "--workers", str(options.workers)),
                *("--history", str(history), "--log-format", "off"),
            ],
            db=Path(db) if backend == "SQLite" else places.work / "none",
            port=port,
            log_dir=places.work,
            discard_stdout=True,
        )
    )
    return Setup(backend, n, versions, history, server, bytes_on_disk, application)


def _log(what: str, began: float) -> None:
    print(f"{what} in {time.monotonic() - began:.1f} s", file=sys.stderr, flush=True)


def _rounds(setups: Sequence[Setup], options: argparse.Namespace) -> None:
    """A warm-up run of each set, then `rounds` rounds, the order rotating each round."""
    schedule = [(0, s, options.warmup) for s in setups]
    for r in range(options.rounds):
        k = r % len(setups)
        schedule += [(r + 1, s, options.duration) for s in [*setups[k:], *setups[:k]]]
    for round_number, setup, seconds in schedule:
        server_before, db_before = _cpu(setup, options.url)
        port = int(setup.server.url.rsplit(":", 1)[1])
        tally = read_modify_write(
            HOST,
            port,
            f"/v1/{COLLECTION}/{PREFIX}",
            setup.documents,
            connections=options.connections,
            seconds=seconds,
            seed=round_number * 1000,
        )
        server_after, db_after = _cpu(setup, options.url)
        what = f"round {round_number}/{options.rounds}" if round_number else "warm-up"
        print(
            f"{what:>11}  {setup.backend:<10} {setup.label:<40} "
            f"{tally.writes_per_second:>7,.0f} writes/s  GET p99 {tally.get_percentile(99):6.1f} ms"
            f"  412 {tally.conflicts}  bad {tally.bad}",
            file=sys.stderr,
            flush=True,
        )
        if round_number and tally.writes:
            setup.tallies.append(tally)
            setup.cpu.append(
                (
                    (server_after - server_before) / tally.writes * 1e6,
                    (db_after - db_before) / tally.writes * 1e6,
                )
            )


def _cpu(setup: Setup, url: str) -> tuple[float, float]:
    server = tree_cpu_seconds(setup.server.process.pid)
    if setup.application is None:
        return server, 0.0
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (setup.application,)
        ).fetchall()
    return server, sum(cpu_seconds(pid) for (pid,) in pids)


def _median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def _writes(s: Setup) -> float:
    return _median(t.writes_per_second for t in s.tallies)


def _p99(s: Setup) -> float:
    return _median(t.get_percentile(99) for t in s.tallies)


def _cpu_total(s: Setup) -> float:
    return _median(a + b for a, b in s.cpu)


def _reference(setups: Sequence[Setup], backend: str) -> Setup:
    return next(s for s in setups if s.backend == backend and s.plain and s.documents == 1000)


def _report(
    setups: Sequence[Setup],
    history: dict[str, dict[int, tuple[int, int]]],
    options: argparse.Namespace,
) -> str:
    lines = [
        f"{machine('uvicorn', 'psycopg')}. {options.connections} connections, each reading a "
        f"random document (GET) and writing it back (PUT with If-Match the ETag read); "
        f"{options.workers} worker(s) per server; a {options.warmup} s warm-up, then "
        f"{options.rounds} rounds x {options.duration} s per set, interleaved; medians of the "
        "rounds. CPU per write: the server's processes + (PostgreSQL) its backends, per GET + PUT.",
        "",
        "| Backend | Documents | Bytes on disk per document | writes/s | ratio to 1,000 "
        "| GET p50 ms | GET p99 ms | CPU µs per write (server + database) | CPU ratio to 1,000 "
        "| 412s | other |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for s in setups:
        ref = _reference(setups, s.backend)
        conflicts = sum(t.conflicts for t in s.tallies)
        bad = sum(t.bad for t in s.tallies)
        cpu, ref_cpu = _cpu_total(s), _cpu_total(ref)
        server, database = _median(a for a, _ in s.cpu), _median(b for _, b in s.cpu)
        lines.append(
            f"| {s.backend} | {s.label} | {s.bytes_on_disk / s.documents:,.0f} "
            f"| {_writes(s):,.0f} | {_writes(s) / _writes(ref):.2f}x "
            f"| {_median(t.get_percentile(50) for t in s.tallies):.2f} | {_p99(s):.2f} "
            f"| {cpu:,.0f} ({server:,.0f} + {database:,.0f}) "
            f"| {ref_cpu / cpu:.2f}x | {conflicts:,} | {bad:,} |"
        )
    lines += [
        "",
        f"History: bytes on disk per document with k versions kept and written "
        f"({options.history_docs:,} documents of ~110 B bodies); of them the change feed's "
        "rows (one per write, kept for --changes-retention, 7 days by default).",
        "",
        "| Backend | "
        + " | ".join(f"{k:,} kept" for k in KEPT)
        + " | per kept version | of which the feed, per write |",
        "|---|" + "--:|" * (len(KEPT) + 2),
    ]
    for backend, sizes in history.items():
        spread = KEPT[-1] - KEPT[0]
        per_version = (sizes[KEPT[-1]][0] - sizes[KEPT[0]][0]) / spread
        per_change = (sizes[KEPT[-1]][1] - sizes[KEPT[0]][1]) / spread
        lines.append(
            f"| {backend} | "
            + " | ".join(f"{sizes[k][0]:,}" for k in KEPT)
            + f" | {per_version:,.0f} | {per_change:,.0f} |"
        )
    largest = max(options.counts)
    verdicts = []
    for backend in history:
        ref = _reference(setups, backend)
        top = next(s for s in setups if s.backend == backend and s.plain and s.documents == largest)
        ratio = _writes(top) / _writes(ref)
        cpu_ratio = _cpu_total(ref) / _cpu_total(top)
        verdicts.append(
            f"- {backend}: writes/s at {largest:,} documents **{ratio:.2f}x** those at 1,000 "
            f"(**{cpu_ratio:.2f}x** by CPU per write; "
            f"{'meets' if min(ratio, cpu_ratio) >= GOAL else 'BELOW'} the {GOAL}x goal)."
        )
    return "\n".join([*lines, "", *verdicts])


def _chart(setups: Sequence[Setup], options: argparse.Namespace) -> str:
    plain = [s for s in setups if s.plain]
    backends = list(dict.fromkeys(s.backend for s in plain))
    writes = {b: [(s.documents, _writes(s)) for s in plain if s.backend == b] for b in backends}
    p99 = {b: [(s.documents, _p99(s)) for s in plain if s.backend == b] for b in backends}
    caption = (
        f"{options.connections} connections, GET then PUT If-Match on random documents; "
        f"1 worker; medians of {options.rounds} interleaved rounds of {options.duration} s"
    )
    return render(writes, p99, caption)


def _verdict(setups: Sequence[Setup]) -> int:
    failed = False
    for s in setups:
        requests = sum(2 * t.writes + t.conflicts + t.bad for t in s.tallies)
        bad = sum(t.bad for t in s.tallies)
        if not requests or bad > MAX_BAD_SHARE * requests:
            print(f"FAILED: {s.backend} {s.label}: {bad:,} bad in {requests:,}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
