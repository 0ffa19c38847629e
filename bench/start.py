"""How long `httpconflict serve` takes to answer its first 200, and the CPU it spent getting there.

    python -m bench.start [--rounds N]

A service start is paid by every deployment, every restart of a worker
(uvicorn spawns a fresh interpreter, which imports everything again) and
every command line run. For 1 and 2 workers, on a fresh SQLite file each
time, this starts the service `--rounds` times and measures, from the
moment the process is started: the wall time to the first 200 of
/healthz, and the CPU seconds (user + system) the service's processes
had used by then, read from /proc for the process and its workers. With 2
workers it also measures until every worker answered (the first one to
be up takes every connection meanwhile). Then the CPU of a command line
refused at once (`serve --port 0`, exit 2): the price of importing the
CLI. Prints the median of each. On a machine running other work the wall
times grow; the CPU seconds do not, much.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import httpx

from .servers import HOST, free_port

CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of `pid` and every process under it (and the ones they already reaped)."""
    seconds = 0.0
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # utime, stime, cutime, cstime: fields 14-17 of proc(5), 12-15 after the name.
        seconds += sum(int(f) for f in fields[11:15]) / CLOCK_TICKS
        todo.extend(children.get(current, []))
    return seconds


def workers_answered(log: Path) -> int:
    lines = log.read_text().splitlines()
    return len({json.loads(line)["worker"] for line in lines if line.startswith("{")})


def start_once(work: Path, workers: int) -> tuple[float, float, float | None, float | None]:
    """(wall to the first 200, CPU by then, wall and CPU once every worker answered)."""
    port = free_port()
    log = work / f"serve-{port}.log"
    command = [sys.executable, "-m", "httpconflict.cli", "serve", "--db", str(work / f"{port}.db")]
    command += ["--host", HOST, "--port", str(port), "--workers", str(workers)]
    command += ["--log-format", "json"]
    began = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://{HOST}:{port}/healthz"
        first: tuple[float, float] | None = None
        while time.monotonic() - began < 60:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited with {process.returncode}: {log.read_text()}")
            try:
                answered = httpx.get(url, timeout=5).status_code == 200
            except httpx.TransportError:
                answered = False
            if answered and first is None:
                first = (time.monotonic() - began, tree_cpu(process.pid))
            if first is not None and workers_answered(log) >= workers:
                return (*first, time.monotonic() - began, tree_cpu(process.pid))
            time.sleep(0.01)
        raise RuntimeError(f"serve did not answer in 60 s: {log.read_text()}")
    finally:
        process.terminate()
        process.wait(timeout=30)


def refused_cli_cpu() -> float:
    """CPU seconds of `httpconflict serve --port 0`, refused by the argument check."""
    command = [sys.executable, "-m", "httpconflict.cli", "serve", "--port", "0"]
    before = os.times()
    subprocess.run(command, capture_output=True, check=False)
    after = os.times()
    return (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.start", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="starts of each kind (default 7)")
    rounds = parser.parse_args(argv).rounds
    median = statistics.median
    with tempfile.TemporaryDirectory(prefix="httpconflict-bench-") as tmp:
        for workers in (1, 2):
            runs = [start_once(Path(tmp), workers) for _ in range(rounds)]
            print(
                f"{workers} worker(s): first 200 after {median(r[0] for r in runs):.2f} s wall, "
                f"{median(r[1] for r in runs):.2f} s CPU"
                + (
                    f"; every worker up after {median(r[2] or 0 for r in runs):.2f} s wall, "
                    f"{median(r[3] or 0 for r in runs):.2f} s CPU"
                    if workers > 1
                    else ""
                )
            )
    cli = [refused_cli_cpu() for _ in range(rounds)]
    print(f"command line refused at once: {median(cli):.2f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
