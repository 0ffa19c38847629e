"""Start `httpconflict serve` as a real process on a free port, and stop it."""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.spawn import spawn
from tests.zygote import FORK_WORKERS

# Ports for the suite's servers come from below the kernel's ephemeral range
# (32768-60999), where the suite's own client connections take their local
# ports, and each xdist worker has a slice of its own: a port found free here
# is not taken by another test's server or client before the server binds it.
_FIRST_PORT, _SLICE = 20000, 1500
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0) % 8
_OWN_PORTS = range(_FIRST_PORT + _WORKER * _SLICE, _FIRST_PORT + (_WORKER + 1) * _SLICE)
_next_ports = itertools.cycle(random.sample(_OWN_PORTS, _SLICE))

#: Where the private database servers keep their files: a tmpfs, where there is one
#: (their directories there are mkdtemp's own, private to their user). Nothing they
#: hold outlives a test, and creating them on a disk cost its syncs: initdb took
#: 0.62-0.73 s there and 0.35 s here, mariadb-install-db 3.5-6 s there and 0.5 s here.
_SHM = "/dev/shm"  # noqa: S108  # only ever a parent for mkdtemp
MEMORY = _SHM if os.access(_SHM, os.W_OK) else None


#: One TLS context for every client the suite's helpers make. httpx builds one per
#: client otherwise, loading certifi's bundle: 25 ms of CPU a client, spent
#: polling servers every 50 ms (every probe made a client) before this was shared,
#: and no server here speaks TLS.
TLS = httpx.create_ssl_context()


def answer_status(url: str, timeout: float = 1) -> int | None:
    """The status of a GET of `url` on a new connection, or None if nothing answered.

    The standard library's client, with no TLS context to build (URLs here are
    http://): a probe costs 0.05 ms of CPU, where `httpx.get` cost 25.
    """
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers={"Connection": "close"})
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def free_port() -> int:
    """A port on 127.0.0.1 no socket listens on, from this test worker's own slice."""
    for _ in range(_SLICE):
        port = next(_next_ports)
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port in this test worker's slice")


@dataclass
class ServiceProcess:
    """A running service: its URL, its process and its access log (JSON lines)."""

    url: str
    db: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def access_log(self) -> list[dict[str, Any]]:
        text = self.log_path.read_text()
        # The last line may be read while it is being written: only whole lines count.
        lines = text[: text.rfind("\n") + 1].splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_for_log(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5, count: int = 1
    ) -> list[dict[str, Any]]:
        """The access-log records matching `predicate`, once there are `count` of them.

        A line is written just after its answer is sent, so a test that has
        its answer may look before the line is there.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.access_log() if predicate(r)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def wait_for_workers(self, workers: int, timeout: float = 30) -> None:
        """Ask /healthz on new connections until each of the `workers` processes answered one.

        The first answer says one worker is up; on a busy machine the others
        may take seconds more, and meanwhile the first takes every connection.
        """
        deadline = time.monotonic() + timeout
        while len({r["worker"] for r in self.access_log()}) < workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"not every one of {workers} workers answered in {timeout} s")
            answer_status(self.url + "/healthz", timeout=10)
            time.sleep(0.01)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, verify=TLS, **kwargs)


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], log: Path, path: str = "/healthz"
) -> None:
    """Poll `url + path` until it answers 200 (or fail with the server's log)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        if answer_status(url + path) == 200:
            return
        time.sleep(0.02)
    raise RuntimeError(f"the server did not come up:\n{log.read_text()}")


@contextmanager
def start_service(
    db: str,
    log_dir: Path,
    *,
    workers: int = 1,
    extra: tuple[str, ...] = (),
    allowed_5xx: frozenset[int] = frozenset(),
    port: int | None = None,
    fork_workers: bool = False,
) -> Iterator[ServiceProcess]:
    """Run `httpconflict serve` until the block ends; fail if any request got a 5xx.

    `allowed_5xx` names the 5xx statuses a test expects (503 while a store is
    down); a 500 is never allowed: it says the server failed without knowing why.
    `port`: where to listen (a restart listens where its predecessor did).
    `fork_workers`: the workers are forks of the server process, not fresh
    interpreters (tests/zygote.py; a second of CPU saved a worker), for tests
    of what workers do rather than of how they start.
    """
    assert 500 not in allowed_5xx, "a 500 is always a failure"
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = log_dir / f"access-{port}.log"
    with log_path.open("wb") as log:
        process = spawn(
            [
                sys.executable,
                "-m",
                "httpconflict.cli",
                "serve",
                "--db",
                db,
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-format",
                "json",
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                **({FORK_WORKERS: "1"} if fork_workers else {}),
            },
        )
    service = ServiceProcess(url, db, process, log_path)
    try:
        wait_until_up(url, process, log_path)
        if workers > 1:
            service.wait_for_workers(workers)
        yield service
    finally:
        stop(process)
    failures = [
        r for r in service.access_log() if r["status"] >= 500 and r["status"] not in allowed_5xx
    ]
    if failures:  # with what the service logged of them: their incidents' lines
        said = [line for line in log_path.read_text().splitlines() if "incident" in line]
        raise AssertionError(f"requests answered 5xx: {failures[:5]}; logged: {said[-10:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        _kill(process)


def terminate(process: subprocess.Popen[bytes], wait: float = 10) -> None:
    """SIGTERM, then a kill after `wait` seconds: for servers that end at once on it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        _kill(process)


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill `process` and the workers it started: killed, a master leaves them running.

    (A gunicorn worker held in a busy SQLite statement outlived its killed
    master, with no parent, ignoring SIGTERM.)
    """
    try:
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    except OSError:
        children = []
    process.kill()
    process.wait()
    for child in children:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(child), signal.SIGKILL)


@contextmanager
def start_app(
    factory: str,
    log_dir: Path,
    *,
    env: dict[str, str] | None = None,
    probe: str = "/orders/count",
    wsgi: bool = False,
) -> Iterator[str]:
    """Run an app factory ("module:function") as a server process; yield its URL.

    An ASGI app runs under uvicorn; a WSGI app (`wsgi`) under werkzeug's
    threaded server (tests/apps/wsgi.py). `probe` answers 200 once it is up.
    """
    port = free_port()
    if wsgi:
        command = [sys.executable, "-m", "tests.apps.wsgi", factory, str(port)]
    else:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ]
    url = f"http://127.0.0.1:{port}"
    log_path = log_dir / f"app-{port}.log"
    with log_path.open("wb") as log:
        process = spawn(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
        )
    try:
        wait_until_up(url, process, log_path, probe)
        yield url
    finally:
        stop(process)


@contextmanager
def one_thread_gunicorn(target: str, log_dir: Path, env: dict[str, str]) -> Iterator[str]:
    """A WSGI app ("module:name") under gunicorn's threaded worker with one thread: its URL.

    Every request runs on that one thread, in the context it keeps.
    """
    port = free_port()
    log = log_dir / f"gunicorn-{port}.log"
    command = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "1", "-w", "1"]
    command += ["-b", f"127.0.0.1:{port}", target]
    with log.open("wb") as out:
        process = spawn(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
