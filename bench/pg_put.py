"""The service's conditional PUT on PostgreSQL vs a bare Starlette app's UPDATE, side by side.

    python -m bench.pg_put [--url postgresql://...] [--workers W] [--duration S] [--rounds N]
                           [--connections C] [--warmup S] [--write-docs]

Both on the same database (`--url`, each in a schema of its own, dropped at
the end), with the same number of uvicorn workers (`--workers`, 1 by
default) and the same pool (2 to 10 connections per worker, the service's
default):

- the service, `httpconflict serve --db URL --log-format off`: `PUT` with
  If-Match, each wrk connection owning one document and taking the ETag of
  each answer for its next write (bench/put.lua), so every write stores a
  new version, its history row and the prune of the oldest;
- the same service with `--pg-group-commit on` (If-Match PUTs that arrive
  while 2 statements are at the database go together in one);
- bench/pg_baseline_app.py: `PUT` doing ``UPDATE docs SET body = $1 WHERE id
  = $2`` with psycopg 3, no precondition, no history.

Interleaved rounds (bench/rounds.py), each server pinned to the first CPU
and wrk to the others when there is one worker (`--no-pin`: anywhere;
bench/servers.py's `split_cpus` says why). Beside req/s, the CPU per request of
each contender's server processes AND of its PostgreSQL backends (found by
their application_name in pg_stat_activity, read from /proc: the database
runs on this machine), which on a shared machine drift far less than req/s,
and wrk's p50/p99 latency. Exits 1 if more than 1% of a contender's answers
were unexpected, or if the service stored fewer writes than it answered 2xx to.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Final
from urllib.parse import urlencode

import psycopg

from .put_get import (
    SERVICE_DOC,
    _create_service_documents,
    _first_body,
    _service_etags,
    _stored_writes,
)
from .report import Row, table, write_results
from .rounds import (
    Contender,
    cpu_seconds,
    environment,
    exit_on_sigterm,
    measure,
    parse_args,
    tree_cpu_seconds,
    verdict,
)
from .servers import HOST, PROJECT, Server, free_port, running
from .wrk import WrkResult, require_wrk

DEFAULT_URL: Final = "postgresql://postgres@127.0.0.1:5432/test"
BASELINE_DOC: Final = "/docs/doc-"
DOCS: Final = PROJECT / "docs" / "benchmarks.md"
HEADING: Final = "## Results: PostgreSQL"
GOAL: Final = 0.9
SERVICE: Final = "service If-Match PUT"
BASELINE: Final = "bare UPDATE (Starlette + psycopg)"
FASTAPI: Final = "FastAPI UPDATE (FastAPI + psycopg)"
SAME_WRITES: Final = "the service's writes by hand (Starlette + psycopg)"
GROUPED: Final = "service If-Match PUT, --pg-group-commit on"
BASELINE_OPTIONS: Final = ("--http", "httptools", "--no-access-log")


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(
        argv,
        "python -m bench.pg_put",
        "The service's If-Match PUT on PostgreSQL vs a bare Starlette UPDATE.",
        _more_options,
    )
    require_wrk()
    if options.workers != 1:
        options.cpus = None  # several workers on one pinned CPU would be half the server
    signal.signal(signal.SIGTERM, exit_on_sigterm)  # so the servers get stopped
    n, tag = options.connections, uuid.uuid4().hex[:8]
    with (
        tempfile.TemporaryDirectory(prefix="httpconflict-bench-") as tmp,
        ExitStack() as stack,
    ):
        work = Path(tmp)
        service_url = stack.enter_context(_schema(options.url, f"bench_pg_put_{tag}_service"))
        baseline_url = stack.enter_context(_schema(options.url, f"bench_pg_put_{tag}_baseline"))
        fastapi_url = stack.enter_context(_schema(options.url, f"bench_pg_put_{tag}_fastapi"))
        same_url = stack.enter_context(_schema(options.url, f"bench_pg_put_{tag}_same"))
        grouped_url = stack.enter_context(_schema(options.url, f"bench_pg_put_{tag}_grouped"))
        for url in (baseline_url, fastapi_url):
            _create_baseline_documents(url, n)
        _create_same_writes_documents(same_url, n)
        workers = ("--workers", str(options.workers))

        def start(name: str, command: list[str], env: dict[str, str] | None = None) -> Server:
            port = free_port()
            return stack.enter_context(
                running(
                    name,
                    [*command, "--host", HOST, "--port", str(port), *workers],
                    db=work / "none",
                    port=port,
                    log_dir=work,
                    env=env,
                    discard_stdout=True,
                    cpus=None if options.cpus is None else options.cpus[0],
                )
            )

        service, grouped = (
            start(
                name,
                [
                    sys.executable,
                    "-m",
                    "httpconflict.cli",
                    "serve",
                    *("--db", url, "--log-format", "off", "--pg-group-commit", group_commit),
                ],
            )
            for name, url, group_commit in (
                ("service", service_url, "off"),
                ("grouped", grouped_url, "on"),
            )
        )
        baseline, fastapi, same = (
            start(
                name,
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"bench.{'pg_same_writes_app' if name == 'same' else 'pg_baseline_app'}:{app}",
                    *BASELINE_OPTIONS,
                ],
                {"BASELINE_PG": url},
            )
            for name, app, url in (
                ("baseline", "app", baseline_url),
                ("fastapi", "fastapi_app", fastapi_url),
                ("same", "app", same_url),
            )
        )
        for server in (service, grouped):
            _create_service_documents(server, n, SERVICE_DOC, _first_body)
        test = f"PUT (PostgreSQL), {options.workers} worker(s)"
        conditional, with_groups = (
            Contender(
                test,
                label,
                server,
                "put.lua",
                lambda server=server: [  # type: ignore[misc]
                    SERVICE_DOC,
                    uuid.uuid4().hex[:12],
                    *_service_etags(server, n),
                ],
            )
            for label, server in ((SERVICE, service), (GROUPED, grouped))
        )
        contenders = [
            *(
                Contender(
                    test,
                    label,
                    server,
                    "put.lua",
                    lambda: [BASELINE_DOC, uuid.uuid4().hex[:12], *["-"] * n],
                )
                for label, server in ((BASELINE, baseline), (FASTAPI, fastapi))
            ),
            Contender(
                test,
                SAME_WRITES,
                same,
                "put.lua",
                lambda: [BASELINE_DOC, uuid.uuid4().hex[:12], *_same_writes_etags(same_url, n)],
            ),
            with_groups,
            conditional,
        ]
        meter = CpuMeter(
            options.url,
            {
                SERVICE: service_url,
                BASELINE: baseline_url,
                FASTAPI: fastapi_url,
                SAME_WRITES: same_url,
                GROUPED: grouped_url,
            },
        )
        runs = measure(contenders, options, cpu_of=meter.read)
        stored = {SERVICE: _stored_writes(service, n), GROUPED: _stored_writes(grouped, n)}
    answered = {
        label: sum(r.statuses.get(200, 0) for r in runs[label]) for label in (SERVICE, GROUPED)
    }
    rows: list[Row] = []
    for c in contenders:
        reference = next((row for row in rows if row.test == c.test), None)
        rows.append(Row(c.test, c.label, runs[c.label][1:], reference))
    report = _report(rows, meter.per_request(runs), options, stored, answered)
    print(report)
    if options.write_docs:
        write_results(DOCS, report, heading=HEADING)
        print(f"\nwrote the results into {DOCS.relative_to(PROJECT)}", file=sys.stderr)
    return verdict(runs, stored, answered)


def _more_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=DEFAULT_URL, help=f"PostgreSQL (default {DEFAULT_URL})")
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn workers of each server (default 1)"
    )
    # Pinned by default: unpinned, a server's CPU per request moves between two modes.
    parser.set_defaults(pin=True)


def with_options(url: str, **options: str) -> str:
    """`url` with libpq options added to its query (search_path, application_name...)."""
    return f"{url}{'&' if '?' in url else '?'}{urlencode(options)}"


@contextmanager
def _schema(url: str, name: str) -> Iterator[str]:
    """A fresh schema of `url`'s database, dropped at the end; yields a URL using it.

    Its connections are named `name` (application_name), so that their
    backends can be found.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield with_options(url, options=f"-csearch_path={name}", application_name=name)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def _create_baseline_documents(url: str, n: int) -> None:
    from .pg_baseline_app import SCHEMA

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO docs (id, body) VALUES (%s, %s)",
                [(f"doc-{k}", _first_body(k).decode()) for k in range(n)],
            )


def _create_same_writes_documents(url: str, n: int) -> None:
    from httpconflict.storage import _pg_changes, postgres

    from .pg_same_writes_app import COLLECTION, content_etag

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(postgres.SCHEMA)
        conn.execute(_pg_changes.SCHEMA)
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO documents (collection, id, version, etag, body, modified_us) "
                "VALUES (%s, %s, 1, %s, %s, 0)",
                [
                    (COLLECTION, f"doc-{k}", content_etag(body), body.decode())
                    for k in range(n)
                    for body in (_first_body(k),)
                ],
            )


def _same_writes_etags(url: str, n: int) -> list[str]:
    """The current ETag of each document of the hand-written app, in order."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, etag FROM documents WHERE id = ANY(%s)", ([f"doc-{k}" for k in range(n)],)
        ).fetchall()
    etags: dict[str, str] = dict(rows)
    return [etags[f"doc-{k}"] for k in range(n)]


class CpuMeter:
    """CPU seconds of each contender's server processes and of its PostgreSQL backends.

    `read` is called before and after each wrk run (bench/rounds.py); each
    pair of calls makes one run's (server, database) CPU seconds.
    """

    def __init__(self, url: str, urls: dict[str, str]) -> None:
        self._url = url
        self._names = {label: _application_name(u) for label, u in urls.items()}
        self._pending: dict[str, tuple[float, float]] = {}
        #: Label -> (server s, database s) of each run, warm-up first.
        self.runs: dict[str, list[tuple[float, float]]] = {label: [] for label in urls}

    def read(self, c: Contender) -> float:
        server = tree_cpu_seconds(c.server.process.pid)
        database = self._backends_cpu(self._names[c.label])
        if c.label in self._pending:
            s0, d0 = self._pending.pop(c.label)
            self.runs[c.label].append((server - s0, database - d0))
        else:
            self._pending[c.label] = (server, database)
        return server + database

    def _backends_cpu(self, name: str) -> float:
        with psycopg.connect(self._url, autocommit=True) as conn:
            pids = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (name,)
            ).fetchall()
        return sum(cpu_seconds(pid) for (pid,) in pids)

    def per_request(self, runs: dict[str, list[WrkResult]]) -> dict[str, list[tuple[float, float]]]:
        """Label -> (server µs, database µs) per request of each measured round."""
        return {
            label: [
                (s / r.requests * 1e6, d / r.requests * 1e6)
                for (s, d), r in zip(self.runs[label][1:], runs[label][1:], strict=True)
                if r.requests
            ]
            for label in self.runs
        }


def _application_name(url: str) -> str:
    return url.rsplit("application_name=", 1)[1].split("&", 1)[0]


def _report(
    rows: Sequence[Row],
    cpu: dict[str, list[tuple[float, float]]],
    options: argparse.Namespace,
    stored: dict[str, int],
    answered: dict[str, int],
) -> str:
    cond = rows[-1]
    ratio = cond.ratio()

    def medians(label: str) -> tuple[float, float, float]:
        server = statistics.median(s for s, _ in cpu[label])
        database = statistics.median(d for _, d in cpu[label])
        total = statistics.median(s + d for s, d in cpu[label])
        return server, database, total

    def latency(row: Row, field: Callable[[WrkResult], int]) -> float:
        return statistics.median(field(r) for r in row.runs) / 1000

    lines = [
        "| Contender | req/s | server CPU µs/req | PostgreSQL CPU µs/req | total CPU µs/req "
        "| total per round | p50 ms | p99 ms |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        server, database, total = medians(row.label)
        lines.append(
            f"| {row.label} | {row.median:,.0f} | {server:,.0f} | {database:,.0f} | {total:,.0f} "
            f"| {' / '.join(f'{s + d:,.0f}' for s, d in cpu[row.label])} "
            f"| {latency(row, lambda r: r.p50_us):.2f} | {latency(row, lambda r: r.p99_us):.2f} |"
        )
    c = medians(SERVICE)
    for other in rows[:-1]:
        o = medians(other.label)
        p50 = latency(cond, lambda r: r.p50_us) / latency(other, lambda r: r.p50_us)
        p99 = latency(cond, lambda r: r.p99_us) / latency(other, lambda r: r.p99_us)
        lines.append(
            f"| service / {other.label.split(' (')[0]} | **{cond.median / other.median:.2f}x** "
            f"| {o[0] / c[0]:.2f}x | {o[1] / c[1]:.2f}x | **{o[2] / c[2]:.2f}x** | "
            f"| {p50:.2f} | {p99:.2f} |"
        )
    b = medians(BASELINE)
    cpu_ratio = b[2] / c[2] if c[2] else float("nan")
    same = next(row for row in rows if row.label == SAME_WRITES)
    h = medians(SAME_WRITES)
    goal = "meets" if min(ratio, cpu_ratio) >= GOAL else "BELOW"
    return "\n".join(
        [
            environment(options, "starlette", "fastapi", "uvicorn", "psycopg", "psycopg-pool"),
            f"PostgreSQL {_server_version(options.url)} on the same machine; "
            f"{options.workers} uvicorn worker(s) per server.",
            "",
            table(rows),
            "",
            *lines,
            "",
            f"- Service PUT / bare UPDATE: **{ratio:.2f}x** req/s, **{cpu_ratio:.2f}x** by total "
            f"CPU per request (CPU ratios are the bare app's CPU over the service's: what req/s "
            f"would come to where CPU is the limit; {goal} the {GOAL}x goal).",
            f"- Service PUT / the same writes by hand: **{cond.median / same.median:.2f}x** "
            f"req/s, **{h[2] / c[2]:.2f}x** by total CPU ({h[0] / c[0]:.2f}x by the server's "
            f"alone): the service's own cost, with the database doing the same work.",
            "- CPU per request is the median round's; CPU ratios are the other app's CPU over the"
            " service's; latency ratios the service's over the other's (lower is better for the"
            " service).",
            f"- Writes stored by the service vs 200 answers (warm-up included): "
            f"{stored[SERVICE]:,} for {answered[SERVICE]:,}; with --pg-group-commit on "
            f"{stored[GROUPED]:,} for {answered[GROUPED]:,}.",
        ]
    )


def _server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]  # type: ignore[index]


if __name__ == "__main__":
    sys.exit(main())
