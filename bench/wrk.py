"""Run wrk with one of the bench/*.lua scripts and read the line its done() prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .servers import on_cpus

SCRIPTS: Final = Path(__file__).parent
MARKER: Final = "WRK_RESULT "


@dataclass(frozen=True, slots=True)
class WrkResult:
    """One wrk run: requests answered, over how long, and the answers by status."""

    requests: int
    seconds: float
    statuses: dict[int, int]
    #: Answers whose status was not the one expected (see the script).
    bad: int
    #: Connect, read and write errors and timeouts.
    socket_errors: int
    #: Median and 99th percentile of the answers' latency, in µs (0: not measured).
    p50_us: int = 0
    p99_us: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (or run `make bench`)")
    return path


def run_wrk(
    url: str,
    script: str,
    args: Sequence[str],
    *,
    connections: int,
    duration: int,
    cpus: frozenset[int] | None = None,
) -> WrkResult:
    """Run `wrk -tN -cN` (one connection per thread) against `url` for `duration` seconds.

    `cpus`: the CPUs wrk runs on (None: any).
    """
    command = [
        require_wrk(),
        f"-t{connections}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(SCRIPTS / script),
        url,
        "--",
        *args,
    ]
    # wrk stops by itself after -d; the timeout only catches a hung wrk.
    # LUA_PATH lets the scripts `require("result")` from this folder.
    env = {**os.environ, "LUA_PATH": f"{SCRIPTS}/?.lua;;"}
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=False,
        env=env,
        preexec_fn=on_cpus(cpus),  # the bench starts no threads
    )
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            return _parse(line.removeprefix(MARKER))
    raise RuntimeError(
        f"wrk exited with {done.returncode} without a result:\n{done.stdout}\n{done.stderr}"
    )


def _parse(text: str) -> WrkResult:
    data = json.loads(text)
    return WrkResult(
        requests=int(data["requests"]),
        seconds=int(data["duration_us"]) / 1e6,
        statuses={int(k): int(v) for k, v in data["statuses"].items()},
        bad=int(data["bad"]),
        socket_errors=int(data["socket_errors"]),
        p50_us=int(data.get("p50_us", 0)),
        p99_us=int(data.get("p99_us", 0)),
    )
