"""Start the servers under test on free 127.0.0.1 ports, one worker each, and stop them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PROJECT: Final = Path(__file__).resolve().parent.parent
HOST: Final = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Server:
    """A server process under test."""

    name: str
    url: str
    db: Path
    process: subprocess.Popen[bytes]
    log: Path


def split_cpus() -> tuple[frozenset[int], frozenset[int]] | None:
    """(the server's CPUs, the load's) for a pinned run: the first CPU, and the others.

    On a 2-core machine a server left to the scheduler shares its core with
    wrk or the database from one round to the next, and its CPU per request
    moves between two modes (the service's PUT on PostgreSQL: about 290 or
    about 430 µs); pinned, five runs in a row stayed within 288-296. None
    with fewer than 2 CPUs.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return frozenset(cpus[:1]), frozenset(cpus[1:])


def pin_tree(pid: int, cpus: frozenset[int]) -> int:
    """Move a running process, its threads and its descendants onto `cpus`; how many processes.

    Each thread is pinned on its own (an affinity is a thread's), so a
    server started anywhere (by a benchmark that did not pass `cpus` to
    `running`) runs where a pinned run says it does; what it starts from
    now on inherits the affinity. A process that ended meanwhile is skipped.
    """
    pinned, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            tasks = [int(task.name) for task in Path(f"/proc/{current}/task").iterdir()]
        except OSError:
            continue  # ended
        pinned += 1
        for task in tasks:
            with suppress(OSError):
                os.sched_setaffinity(task, cpus)
            with suppress(OSError):
                children = Path(f"/proc/{current}/task/{task}/children").read_text()
                pending += [int(child) for child in children.split()]
    return pinned


def on_cpus(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A `preexec_fn` that runs the child (and what it starts) on `cpus`; None: anywhere."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def service_command(db: Path, port: int, log_format: str) -> list[str]:
    """`httpconflict serve` on SQLite with one worker."""
    return [
        *(sys.executable, "-m", "httpconflict.cli", "serve"),
        *("--db", str(db), "--host", HOST, "--port", str(port)),
        *("--workers", "1", "--log-format", log_format),
    ]


def baseline_command(port: int, *, access_log: bool) -> list[str]:
    """uvicorn (httptools, uvloop: its defaults when installed) with bench/baseline_app.py."""
    return [
        *(sys.executable, "-m", "uvicorn", "bench.baseline_app:app"),
        *("--host", HOST, "--port", str(port), "--workers", "1", "--http", "httptools"),
        "--access-log" if access_log else "--no-access-log",
    ]


@contextmanager
def running(
    name: str,
    command: list[str],
    *,
    db: Path,
    port: int,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    discard_stdout: bool = False,
    cpus: frozenset[int] | None = None,
) -> Iterator[Server]:
    """Run `command` until the block ends; stderr (and stdout unless discarded) to a log.

    `cpus`: the CPUs it (and every process it starts) runs on.
    """
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=PROJECT,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if discard_stdout else out,
            stderr=out,
            preexec_fn=on_cpus(cpus),  # the bench starts no threads
        )
    try:
        _wait_for_port(port, process, log)
        yield Server(name, f"http://{HOST}:{port}", db, process, log)
    finally:
        _stop(process)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    # uvicorn listens only once the app's startup is done.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on port {port} within 30 s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
