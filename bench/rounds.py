"""What every benchmark here shares: options, contenders, interleaved rounds, the setting."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Final, NoReturn

from .servers import Server, pin_tree, split_cpus
from .wrk import WrkResult, run_wrk


@dataclass(frozen=True, slots=True)
class Contender:
    """One wrk workload against one server; `args` are computed afresh for each run."""

    test: str
    label: str
    server: Server
    script: str
    args: Callable[[], list[str]]


def parse_args(
    argv: Sequence[str] | None,
    prog: str,
    description: str,
    more: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The options every benchmark takes, and those `more` adds."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    if more is not None:
        more(parser)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per contender (default 3)")
    parser.add_argument(
        "--connections",
        type=int,
        default=4,
        help="wrk connections, one per thread (default 4)",
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of unmeasured load per contender first"
    )
    parser.add_argument(
        "--write-docs", action="store_true", help="write the results into docs/benchmarks.md"
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=bool(parser.get_default("pin")),  # off unless `more` turned it on
        help="servers on the first CPU, wrk on the others (bench/servers.py's split_cpus)",
    )
    options = parser.parse_args(argv)
    options.cpus = split_cpus() if options.pin else None
    for name in ("duration", "rounds", "connections", "warmup"):
        if getattr(options, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return options


def exit_on_sigterm(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def measure(
    contenders: Sequence[Contender],
    options: argparse.Namespace,
    *,
    cpu: dict[str, list[float]] | None = None,
    cpu_of: Callable[[Contender], float] | None = None,
) -> dict[str, list[WrkResult]]:
    """A warm-up run of each contender, then `rounds` rounds, rotating the order each round.

    With `cpu`, each measured round also adds the server process's CPU time
    per answered request, in µs, under the contender's label: on a shared
    machine it drifts far less than req/s does. `cpu_of` counts the CPU
    seconds of a contender instead (its worker processes, its database
    backends...).
    """
    if cpu_of is None:
        cpu_of = lambda c: cpu_seconds(c.server.process.pid)  # noqa: E731
    split = pin_servers(contenders, options)
    runs: dict[str, list[WrkResult]] = {c.label: [] for c in contenders}
    schedule = [(0, c, options.warmup) for c in contenders]
    for r in range(options.rounds):
        k = r % len(contenders)
        schedule += [(r + 1, c, options.duration) for c in [*contenders[k:], *contenders[:k]]]
    for round_number, c, seconds in schedule:
        args = c.args()
        before = cpu_of(c)
        result = run_wrk(
            c.server.url,
            c.script,
            args,
            connections=options.connections,
            duration=seconds,
            cpus=None if split is None else split[1],
        )
        used = cpu_of(c) - before
        runs[c.label].append(result)
        if cpu is not None and round_number and result.requests:
            cpu.setdefault(c.label, []).append(used / result.requests * 1e6)
        what = f"round {round_number}/{options.rounds}" if round_number else "warm-up"
        print(
            f"{what:>11}  {c.label:<44} {result.rps:>9,.0f} req/s  "
            f"unexpected {result.bad}  socket errors {result.socket_errors}",
            file=sys.stderr,
            flush=True,
        )
    return runs


def pin_servers(
    contenders: Sequence[Contender], options: argparse.Namespace
) -> tuple[frozenset[int], frozenset[int]] | None:
    """With ``options.cpus``, move every contender's server onto its first set; the split.

    Whether or not a benchmark started its servers there (`running`'s
    `cpus`), a pinned run's servers are then where `environment` says.
    """
    split: tuple[frozenset[int], frozenset[int]] | None = getattr(options, "cpus", None)
    if split is not None:
        for pid in {c.server.process.pid for c in contenders}:
            pin_tree(pid, split[0])
    return split


def tree_cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and its live descendants (a server and its workers)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        total += cpu_seconds(current)
        with suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
    return total


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux's /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Fields 14 and 15 of proc(5), counted after the command's closing parenthesis.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def environment(options: argparse.Namespace, *packages: str) -> str:
    """The machine, the versions of `packages` and wrk, and how the rounds ran."""
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    wrk_version = (wrk.stdout or wrk.stderr).split(" [")[0].removeprefix("wrk ")
    return (
        f"{machine(*packages)}, wrk {wrk_version}. "
        f"`wrk -t{options.connections} -c{options.connections}` (one connection per thread), "
        f"a {options.warmup} s warm-up, then {options.rounds} rounds x {options.duration} s per "
        "contender, interleaved; req/s is the median of the rounds."
        + (
            ""
            if getattr(options, "cpus", None) is None
            else f" Each server pinned to CPU {_cpus(options.cpus[0])}, wrk to CPU "
            f"{_cpus(options.cpus[1])}."
        )
    )


def _cpus(cpus: frozenset[int]) -> str:
    return ", ".join(str(cpu) for cpu in sorted(cpus))


def machine(*packages: str) -> str:
    """The CPUs, the system, Python and the versions of `packages`."""
    cpu = platform.machine()
    with suppress(OSError):
        models = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = models[0] if models else cpu
    versions = ", ".join(f"{p} {version(p)}" for p in packages)
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, {versions}"
    )


MAX_BAD_SHARE: Final = 0.01


def verdict(
    runs: dict[str, list[WrkResult]], stored: dict[str, int], answered: dict[str, int]
) -> int:
    """Exit status of a write benchmark: 1 if any contender answered more than 1%
    unexpectedly, or stored fewer writes than it answered 2xx to."""
    failures = []
    for label, results in runs.items():
        requests = sum(r.requests for r in results)
        bad = sum(r.bad for r in results) + sum(r.socket_errors for r in results)
        if requests == 0 or bad > MAX_BAD_SHARE * requests:
            failures.append(f"{label}: {bad:,} unexpected answers or errors in {requests:,}")
        elif bad:
            print(f"warning: {label}: {bad:,} unexpected answers or errors", file=sys.stderr)
    for name, count in stored.items():
        if count < answered[name]:
            failures.append(f"{name} stored {count:,} writes for {answered[name]:,} 2xx answers")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0
