"""The PostgreSQL PUT of bench/pg_put.py, counted in CPU instructions instead of timed.

    python -m bench.pg_put_instructions [--url postgresql://...] [--requests N] [--warmup N]

req/s on a shared 2-core machine moves by 20-30% from one round to the
next, and CPU time per request by 10-15%. An instruction count does not:
each contender's server runs under valgrind's callgrind, which counts
the instructions its process executes in user space (the interpreter's,
its libraries', not the kernel's), with counting on only while a
client sends it `--requests` PUTs one after another on one connection,
after `--warmup` ones. Where the server's CPU is what limits req/s (one
worker, as in bench/pg_put.py), the ratio of the counts is the ratio of
req/s the CPU allows. The database's own work is not counted: its share
is bench/pg_put.py's PostgreSQL CPU column.

The contenders are bench/pg_put.py's, each in a schema of its own:
`httpconflict serve` (its If-Match PUT: a new version, its history row,
the prune of the oldest and the feed row), the bare Starlette and FastAPI
apps (an unconditional UPDATE) and the Starlette app making the
service's writes by hand. They run at once: load changes no count.
Needs valgrind (``apt-get install -y valgrind``); about 2 minutes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .pg_put import (
    BASELINE,
    BASELINE_OPTIONS,
    DEFAULT_URL,
    FASTAPI,
    SAME_WRITES,
    SERVICE,
    _create_baseline_documents,
    _create_same_writes_documents,
    _same_writes_etags,
    _schema,
)
from .servers import HOST, PROJECT, free_port

#: Seconds a server under valgrind may take to answer its first request (imports run ~5x slower).
START_TIMEOUT: Final = 180.0


@dataclass(frozen=True)
class Counted:
    """One contender's server: how to start it, the document it writes, its first If-Match."""

    label: str
    command: list[str]
    env: dict[str, str]
    path: str
    conditional: bool
    prepare: Callable[[int], str | None]


def main(argv: Sequence[str] | None = None) -> int:
    options = _parse(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind")
    tag = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="httpconflict-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        urls = {
            name: stack.enter_context(_schema(options.url, f"bench_pg_instr_{tag}_{name}"))
            for name in ("service", "baseline", "fastapi", "same")
        }
        contenders = [_service(urls["service"])]
        for name, label, app in (
            ("baseline", BASELINE, "bench.pg_baseline_app:app"),
            ("fastapi", FASTAPI, "bench.pg_baseline_app:fastapi_app"),
        ):
            _create_baseline_documents(urls[name], 1)
            contenders.append(_uvicorn(label, app, urls[name], conditional=False))
        _create_same_writes_documents(urls["same"], 1)
        contenders.append(
            _uvicorn(SAME_WRITES, "bench.pg_same_writes_app:app", urls["same"], conditional=True)
        )
        with ThreadPoolExecutor(len(contenders)) as pool:
            counts = dict(
                zip(
                    (c.label for c in contenders),
                    pool.map(lambda c: _count(c, work, options), contenders),
                    strict=True,
                )
            )
    print(_report(counts, options))
    return 0


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pg_put_instructions",
        description="Instructions per If-Match PUT: the service vs bare UPDATE apps, by callgrind.",
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"PostgreSQL (default {DEFAULT_URL})")
    parser.add_argument("--requests", type=int, default=300, help="PUTs counted (default 300)")
    parser.add_argument("--warmup", type=int, default=100, help="PUTs first (default 100)")
    return parser.parse_args(argv)


def _service(url: str) -> Counted:
    command = [sys.executable, "-m", "httpconflict.cli", "serve", "--db", url]
    return Counted(
        SERVICE,
        [*command, "--log-format", "off", "--host", HOST],
        {},
        "/v1/bench/doc-0",
        conditional=True,
        prepare=lambda port: _create_service_document(port),
    )


def _uvicorn(label: str, app: str, url: str, *, conditional: bool) -> Counted:
    return Counted(
        label,
        [sys.executable, "-m", "uvicorn", app, *BASELINE_OPTIONS, "--host", HOST],
        {"BASELINE_PG": url},
        "/docs/doc-0",
        conditional=conditional,
        prepare=lambda port: _same_writes_etags(url, 1)[0] if conditional else None,
    )


def _count(contender: Counted, work: Path, options: argparse.Namespace) -> int:
    """Instructions the contender's server executes per counted PUT."""
    port = free_port()
    out = work / f"callgrind-{port}.out"
    log = work / f"server-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                *contender.command,
                "--port",
                str(port),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **contender.env},
            cwd=PROJECT,
        )
    try:
        _wait_until_up(port, process, log)
        etag = contender.prepare(port)
        client = http.client.HTTPConnection(HOST, port, timeout=60)
        etag = _puts(client, contender, etag, options.warmup, 0)
        _instrument(process.pid, "on")
        _puts(client, contender, etag, options.requests, options.warmup)
        _instrument(process.pid, "off")
        client.close()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
    if not totals:
        raise SystemExit(f"{contender.label}: callgrind counted nothing:\n{log.read_text()}")
    requests: int = options.requests
    return int(totals[0].split()[1]) // requests


def _puts(
    client: http.client.HTTPConnection, contender: Counted, etag: str | None, n: int, first: int
) -> str | None:
    """`n` PUTs of put.lua's bodies, each If-Match the last answer's ETag when conditional."""
    for write in range(first, first + n):
        body = json.dumps(
            {"title": "benchmark document", "writer": 0, "write": write, "filler": "x" * 64}
        ).encode()
        headers = {"Content-Type": "application/json"}
        if contender.conditional and etag is not None:
            headers["If-Match"] = etag
        client.request("PUT", contender.path, body=body, headers=headers)
        answer = client.getresponse()
        answer.read()
        if answer.status != 200:
            raise SystemExit(f"{contender.label}: PUT answered {answer.status}")
        etag = answer.getheader("ETag") if contender.conditional else None
    return etag


def _instrument(pid: int, state: str) -> None:
    """Counting on or off in the valgrind process `pid`; it takes effect within a moment."""
    subprocess.run(["callgrind_control", "-i", state, str(pid)], check=True, capture_output=True)
    time.sleep(0.5)


def _create_service_document(port: int) -> str:
    client = http.client.HTTPConnection(HOST, port, timeout=60)
    client.request(
        "PUT",
        "/v1/bench/doc-0",
        body=b'{"title": "benchmark document"}',
        headers={"Content-Type": "application/json", "If-None-Match": "*"},
    )
    answer = client.getresponse()
    answer.read()
    client.close()
    etag = answer.getheader("ETag")
    if answer.status != 201 or etag is None:
        raise SystemExit(f"the service answered {answer.status} to the document's creation")
    return etag


def _wait_until_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server exited with {process.returncode}:\n{log.read_text()}")
        probe = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            probe.request("GET", "/healthz")
            probe.getresponse().read()
            return
        except OSError:
            time.sleep(0.5)
        finally:
            probe.close()
    raise SystemExit(f"a server under valgrind did not answer in {START_TIMEOUT} s")


def _report(counts: dict[str, int], options: argparse.Namespace) -> str:
    service = counts[SERVICE]
    lines = [
        f"{options.requests} If-Match PUTs counted after {options.warmup}, one connection, "
        f"instructions of each server process (callgrind).",
        "",
        "| Contender | instructions per PUT | service / contender (req/s where CPU limits) |",
        "|---|--:|--:|",
    ]
    for label, count in counts.items():
        ratio = "1.00x (reference)" if label == SERVICE else f"**{count / service:.2f}x**"
        lines.append(f"| {label} | {count:,} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
