"""Conditional PUT vs a bare FastAPI UPDATE, and GET 200 vs GET 304, side by side.

    python -m bench.put_get [--duration S] [--rounds N] [--connections C] [--write-docs]

Starts, on free 127.0.0.1 ports with one worker each and a fresh SQLite file
each: the service without access log and with its (default) text access
log, and bench/baseline_app.py without and with uvicorn's (default) access
log, all logs going to /dev/null. Creates one document per
connection, then runs wrk (one connection per thread, see bench/put.lua and
bench/get.lua) against each contender for `--duration` seconds, `--rounds`
times, interleaved (the order rotates each round), and prints the median
req/s of each and the ratios of medians as a markdown table. Exits 1 if more
than 1% of any contender's answers had an unexpected status, or if the
service stored fewer writes than it answered 2xx to.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Final

import httpx

from . import baseline_app
from .report import Row, table, write_results
from .rounds import Contender, environment, exit_on_sigterm, measure, parse_args, verdict
from .servers import PROJECT, Server, baseline_command, free_port, running, service_command
from .wrk import require_wrk

SERVICE_DOC: Final = "/v1/bench/doc-"
LARGE_DOC: Final = "/v1/bench/large-"
BASELINE_DOC: Final = "/docs/doc-"
DOCS: Final = PROJECT / "docs" / "benchmarks.md"
GOAL: Final = 0.9


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(
        argv,
        "python -m bench.put_get",
        "Conditional PUT vs a bare FastAPI UPDATE, and GET 200 vs GET 304.",
    )
    require_wrk()
    signal.signal(signal.SIGTERM, exit_on_sigterm)  # so the servers get stopped
    n = options.connections
    with tempfile.TemporaryDirectory(prefix="httpconflict-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)

        def service(name: str, log_format: str) -> Server:
            db, port = work / f"{name}.db", free_port()
            command = service_command(db, port, log_format)
            return stack.enter_context(
                running(name, command, db=db, port=port, log_dir=work, discard_stdout=True)
            )

        plain = service("service", "off")
        logged = service("service-text-log", "text")

        def baseline(name: str, *, access_log: bool) -> Server:
            db, port = work / f"{name}.db", free_port()
            _create_baseline_documents(db, n)
            command = baseline_command(port, access_log=access_log)
            return stack.enter_context(
                running(
                    name,
                    command,
                    db=db,
                    port=port,
                    log_dir=work,
                    env={"BASELINE_DB": str(db)},
                    discard_stdout=True,
                )
            )

        bare = baseline("baseline", access_log=False)
        bare_logged = baseline("baseline-access-log", access_log=True)
        for server in (plain, logged):
            _create_service_documents(server, n, SERVICE_DOC, _first_body)
        _create_service_documents(plain, n, LARGE_DOC, _large_body)

        put, put_logged = "PUT (SQLite), no access log", "PUT (SQLite), access log on"
        small, large = "GET, ~130 B document", "GET, 16 KiB document"
        conditional = Contender(put, "service If-Match PUT", plain, "put.lua", _put_args(plain, n))
        logged_put = Contender(
            put_logged, "service If-Match PUT, text log", logged, "put.lua", _put_args(logged, n)
        )
        contenders = [
            Contender(put, "baseline UPDATE", bare, "put.lua", _baseline_args(n)),
            conditional,
            Contender(
                put_logged,
                "baseline UPDATE, uvicorn log",
                bare_logged,
                "put.lua",
                _baseline_args(n),
            ),
            logged_put,
            Contender(small, "service GET 200", plain, "get.lua", _get_args(plain, n, "200")),
            Contender(small, "service GET 304", plain, "get.lua", _get_args(plain, n, "304")),
            Contender(
                large,
                "service GET 200, 16 KiB",
                plain,
                "get.lua",
                _get_args(plain, n, "200", LARGE_DOC),
            ),
            Contender(
                large,
                "service GET 304, 16 KiB",
                plain,
                "get.lua",
                _get_args(plain, n, "304", LARGE_DOC),
            ),
        ]
        runs = measure(contenders, options)
        stored = {c.label: _stored_writes(c.server, n) for c in (conditional, logged_put)}

    # The first run of each contender is its warm-up: it counts for the
    # checks, not for the speeds. Ratios are taken against each test's first row.
    rows: list[Row] = []
    for c in contenders:
        reference = next((row for row in rows if row.test == c.test), None)
        rows.append(Row(c.test, c.label, runs[c.label][1:], reference))
    answered = {label: sum(r.statuses.get(200, 0) for r in runs[label]) for label in stored}
    report = _report(rows, options, stored, answered)
    print(report)
    if options.write_docs:
        write_results(DOCS, report)
        print(f"\nwrote the results into {DOCS.relative_to(PROJECT)}", file=sys.stderr)
    return verdict(runs, stored, answered)


def _put_args(server: Server, n: int) -> Callable[[], list[str]]:
    return lambda: [SERVICE_DOC, uuid.uuid4().hex[:12], *_service_etags(server, n)]


def _baseline_args(n: int) -> Callable[[], list[str]]:
    return lambda: [BASELINE_DOC, uuid.uuid4().hex[:12], *["-"] * n]


def _get_args(
    server: Server, n: int, expect: str, prefix: str = SERVICE_DOC
) -> Callable[[], list[str]]:
    if expect == "200":
        return lambda: [prefix, expect, *["-"] * n]
    return lambda: [prefix, expect, *_service_etags(server, n, prefix)]


def _first_body(k: int) -> bytes:
    return json.dumps({"title": "benchmark document", "writer": k, "write": 0}).encode()


def _large_body(k: int) -> bytes:
    """About 16 KiB: 128 records of 128 bytes, like a page of a list."""
    records = [{"n": i, "writer": k, "text": "x" * 96} for i in range(128)]
    return json.dumps({"records": records}).encode()


def _create_service_documents(
    server: Server, n: int, prefix: str, body: Callable[[int], bytes]
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for k in range(n):
            answer = client.put(
                f"{prefix}{k}",
                content=body(k),
                headers={"Content-Type": "application/json", "If-None-Match": "*"},
            )
            if answer.status_code != 201:
                raise RuntimeError(f"creating {prefix}{k}: {answer.status_code} {answer.text}")


def _create_baseline_documents(db_path: Path, n: int) -> None:
    db = baseline_app.connect(str(db_path))
    try:
        rows = [(f"doc-{k}", _first_body(k).decode()) for k in range(n)]
        db.executemany("INSERT INTO docs (id, body) VALUES (?, ?)", rows)
        db.commit()
    finally:
        db.close()


def _service_etags(server: Server, n: int, prefix: str = SERVICE_DOC) -> list[str]:
    """Each document's current ETag, as the server sends it (quoted)."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        etags = []
        for k in range(n):
            answer = client.get(f"{prefix}{k}")
            answer.raise_for_status()
            etags.append(answer.headers["etag"])
        return etags


def _stored_writes(server: Server, n: int) -> int:
    """Replacements the service stored: each document's version number minus its creation."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        total = 0
        for k in range(n):
            answer = client.get(f"{SERVICE_DOC}{k}/versions", params={"limit": 1})
            answer.raise_for_status()
            total += int(answer.json()["items"][0]["version"]) - 1
        return total


def _report(
    rows: Sequence[Row],
    options: argparse.Namespace,
    stored: dict[str, int],
    answered: dict[str, int],
) -> str:
    _, cond, _, cond_logged, _, small304, _, large304 = rows
    ratio = cond.ratio()
    goal = "meets" if ratio >= GOAL else "BELOW"
    log_cost = cond_logged.median / cond.median if cond.median else float("nan")
    checks = ", ".join(f"{name} {stored[name]:,} for {answered[name]:,}" for name in stored)
    return "\n".join(
        [
            environment(options, "starlette", "fastapi", "uvicorn"),
            "",
            table(rows),
            "",
            f"- Conditional PUT / baseline UPDATE: **{ratio:.2f}x** ({goal} the {GOAL}x goal).",
            f"- Both with their default access log (uvicorn's; the service's text log):"
            f" **{cond_logged.ratio():.2f}x**. The service's PUT with / without its log:"
            f" {log_cost:.2f}x.",
            f"- GET 304 / GET 200: {small304.ratio():.2f}x for a ~130 B document,"
            f" {large304.ratio():.2f}x for a 16 KiB one.",
            "- Unexpected: answers with another status than expected (non-2xx for PUT and"
            " GET 200, non-304 for GET 304); a 412 would mean a connection lost track of"
            " its document's ETag.",
            f"- Writes stored by the service vs 200 answers to PUT (warm-up included): {checks}.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
