"""httpconflict's framework adapters vs the same framework's plain PUT, side by side.

    python -m bench.adapters [--duration S] [--rounds N] [--connections C] [--write-docs]

For FastAPI + SQLAlchemy (uvicorn), Flask + SQLAlchemy (werkzeug's threaded
server) and Django (uvicorn, ASGI), starts two servers of the same small app
(bench/adapter_apps/), one worker each, each on its own fresh SQLite file
with one note per wrk connection: the adapter side, whose PUT goes through
httpconflict's adapter (If-Match checked in the UPDATE), and the plain side,
the framework's own handler doing an unconditional UPDATE. wrk runs
bench/put.lua against each: the adapter side sends If-Match with the ETag of
the connection's previous answer (read from the database before each run),
the plain side sends none. Contenders take turns in interleaved rounds; the
table gives medians and, per framework, the adapter's ratio to its plain side.

Exits 1 if more than 1% of any contender's answers are not 2xx (an adapter
answering 428 or 412 measures nothing), or if an adapter side stored fewer
writes than it answered 2xx to.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .report import Row, table, write_results
from .rounds import Contender, environment, exit_on_sigterm, measure, parse_args, verdict
from .servers import HOST, PROJECT, Server, free_port, running
from .wrk import WrkResult, require_wrk

DOCS: Final = PROJECT / "docs" / "benchmarks.md"
HEADING: Final = "## Results: framework adapters"
PREFIX: Final = "/notes/"
GOAL: Final = 0.9


@dataclass(frozen=True, slots=True)
class Framework:
    """One framework's bench app: how to serve it, and the table its notes live in."""

    test: str
    short: str
    command: Callable[[int], list[str]]
    table: str


def _uvicorn(target: str, *extra: str) -> Callable[[int], list[str]]:
    return lambda port: [
        *(sys.executable, "-m", "uvicorn", target, "--host", HOST, "--port", str(port)),
        *("--workers", "1", "--http", "httptools", "--no-access-log", *extra),
    ]


FRAMEWORKS: Final = (
    Framework(
        "FastAPI + SQLAlchemy, uvicorn",
        "FastAPI",
        _uvicorn("bench.adapter_apps.fastapi_app:app"),
        "notes",
    ),
    Framework(
        "Flask + SQLAlchemy, werkzeug threaded",
        "Flask",
        lambda port: [sys.executable, "-m", "bench.adapter_apps.flask_app", str(port)],
        "notes",
    ),
    Framework(
        "Django, uvicorn (ASGI)",
        "Django",
        # Django speaks no ASGI lifespan.
        _uvicorn("bench.adapter_apps.django_app:application", "--lifespan", "off"),
        "django_app_note",
    ),
)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(
        argv,
        "python -m bench.adapters",
        "Conditional PUT through each framework adapter vs the framework's plain UPDATE.",
    )
    require_wrk()
    signal.signal(signal.SIGTERM, exit_on_sigterm)  # so the servers get stopped
    n = options.connections
    contenders: list[Contender] = []
    adapters: dict[str, tuple[Server, str]] = {}
    with tempfile.TemporaryDirectory(prefix="httpconflict-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)

        def start(framework: Framework, side: str) -> Server:
            name = f"{framework.short.lower()}-{side}"
            db, port = work / f"{name}.db", free_port()
            env = {"ADAPTER_DB": str(db), "ADAPTER_SIDE": side, "ADAPTER_NOTES": str(n)}
            return stack.enter_context(
                running(
                    name,
                    framework.command(port),
                    db=db,
                    port=port,
                    log_dir=work,
                    env=env,
                    discard_stdout=True,
                )
            )

        for f in FRAMEWORKS:
            plain, adapter = start(f, "plain"), start(f, "adapter")
            label = f"{f.short} httpconflict If-Match PUT"
            adapters[label] = (adapter, f.table)
            contenders += [
                Contender(f.test, f"{f.short} plain UPDATE", plain, "put.lua", _plain_args(n)),
                Contender(f.test, label, adapter, "put.lua", _adapter_args(adapter, f.table, n)),
            ]
        runs = measure(contenders, options)
        stored = {label: _stored_writes(server, name) for label, (server, name) in adapters.items()}

    # The first run of each contender is its warm-up: it counts for the checks only.
    rows: list[Row] = []
    for c in contenders:
        reference = next((row for row in rows if row.test == c.test), None)
        rows.append(Row(c.test, c.label, runs[c.label][1:], reference))
    answered = {label: sum(_ok(r) for r in runs[label]) for label in stored}
    report = _report(rows, options, stored, answered)
    print(report)
    if options.write_docs:
        write_results(DOCS, report, heading=HEADING)
        print(f"\nwrote the results into {DOCS.relative_to(PROJECT)}", file=sys.stderr)
    return verdict(runs, stored, answered)


def _plain_args(n: int) -> Callable[[], list[str]]:
    return lambda: [PREFIX, uuid.uuid4().hex[:12], *["-"] * n]


def _adapter_args(server: Server, table_name: str, n: int) -> Callable[[], list[str]]:
    def args() -> list[str]:
        versions = settled_versions(server.db, table_name)
        return [PREFIX, uuid.uuid4().hex[:12], *(f'"{versions[k]}"' for k in range(n))]

    return args


def read_versions(db: Path, table_name: str) -> dict[int, int]:
    with closing(sqlite3.connect(db)) as connection:
        query = f"SELECT id, version FROM {table_name}"  # noqa: S608  # a constant table name
        return {int(k): int(v) for k, v in connection.execute(query)}


def settled_versions(db: Path, table_name: str) -> dict[int, int]:
    """The notes' versions once no write is still landing from the previous wrk run."""
    versions = read_versions(db, table_name)
    while True:
        time.sleep(0.1)
        again = read_versions(db, table_name)
        if again == versions:
            return versions
        versions = again


def _stored_writes(server: Server, table_name: str) -> int:
    """Writes the adapter side stored: each note's version minus its first."""
    return sum(v - 1 for v in read_versions(server.db, table_name).values())


def _ok(result: WrkResult) -> int:
    return sum(count for status, count in result.statuses.items() if 200 <= status <= 299)


def _report(
    rows: Sequence[Row],
    options: argparse.Namespace,
    stored: dict[str, int],
    answered: dict[str, int],
) -> str:
    ratios = []
    for row in rows[1::2]:
        goal = "meets" if row.ratio() >= GOAL else "BELOW"
        ratios.append(f"{row.label.split()[0]} **{row.ratio():.2f}x** ({goal})")
    checks = ", ".join(f"{name} {stored[name]:,} for {answered[name]:,}" for name in stored)
    return "\n".join(
        [
            environment(options, "fastapi", "sqlalchemy", "flask", "werkzeug", "django", "uvicorn"),
            "",
            table(rows),
            "",
            f"- Adapter PUT with If-Match / the framework's plain UPDATE ({GOAL}x goal): "
            + "; ".join(ratios)
            + ".",
            "- Unexpected: non-2xx answers; on the adapter side a 428 or 412 would mean the"
            " precondition was missing or stale, and the run fails above 1%.",
            f"- Writes stored by the adapter side vs its 2xx answers (warm-up included): {checks}.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
