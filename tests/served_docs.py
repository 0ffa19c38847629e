"""A docs page's whole app: its files and commands read from the page, and served as a user would.

A section of a page holds the app: each ``py`` block whose first line is
``# <path>.py`` is a file, and its ``sh`` block holds the commands, in
order: ``pip install ...`` (the test environment has them), commands to
run once (``python app.py``, ``python -m django migrate``), and one or more
ways to serve it (``uvicorn ...``, ``gunicorn ...``), each given only the
address to listen on. Nothing else is set up: the commands run in an
empty directory with the settings a test passes as environment variables.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.servers import free_port

REPO = Path(__file__).parent.parent
DOCS = REPO / "docs"
_BLOCK = re.compile(r"^```(py|sh)\n(.*?)^```", re.S | re.M)
_FILE = re.compile(r"# ([\w./-]+\.py)\n")
_SERVERS = ("uvicorn", "gunicorn")
BASH = shutil.which("bash") or "/bin/bash"
#: What each server logs once per worker, when the worker is ready.
_READY = {"uvicorn": "Application startup complete.", "gunicorn": "Booting worker with pid"}


@dataclass(frozen=True)
class Recipe:
    """What a section says to write and to run."""

    files: dict[str, str]
    commands: list[str]
    servers: list[str]


def recipe(page: str, heading: str) -> Recipe:
    """The files and commands of the section `heading` (a level-2 heading) of `page`."""
    text = (DOCS / page).read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end >= 0 else len(text)]
    files: dict[str, str] = {}
    commands: list[str] = []
    servers: list[str] = []
    for kind, body in _BLOCK.findall(section):
        if kind == "py":
            named = _FILE.match(body)
            if named is not None:
                files[named.group(1)] = body
            continue
        for line in body.splitlines():
            command = line.split("  #")[0].strip()
            if not command or command.startswith("pip install"):
                continue
            (servers if command.split()[0] in _SERVERS else commands).append(command)
    assert files, f"{page} § {heading}: no file"
    assert servers, f"{page} § {heading}: no command that serves it"
    return Recipe(files, commands, servers)


def environment(home: Path) -> dict[str, str]:
    """The shell of a user whose venv is active, with the package under test installed.

    `home` keeps what a server writes there (gunicorn's control socket) out of the real one.
    """
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "HOME": str(home),
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO / "src"),
        "PYTHONUNBUFFERED": "1",
    }


def prepare(found: Recipe, directory: Path, env: Mapping[str, str]) -> None:
    """Write the files into `directory` and run the commands there, each expected to succeed."""
    for path, body in found.files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    for command in found.commands:
        done = subprocess.run(
            [BASH, "-c", command],
            cwd=directory,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{command!r} failed:\n{done.stdout}{done.stderr}"


@contextmanager
def serve(
    command: str, directory: Path, env: Mapping[str, str], workers: int = 2
) -> Iterator[tuple[str, Path]]:
    """Run a server `command` of the docs on a free port; yield its URL and its log."""
    port = free_port()
    program = command.split()[0]
    where = ["--host", "127.0.0.1", "--port", str(port)]
    if program == "gunicorn":
        where = ["--bind", f"127.0.0.1:{port}"]
    log_path = directory / f"{program}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*shlex.split(command), *where],
            cwd=directory,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_workers(process, log_path, _READY[program], workers)
        yield f"http://127.0.0.1:{port}", log_path
    finally:
        _stop(process)


def _wait_for_workers(
    process: subprocess.Popen[bytes], log: Path, ready: str, workers: int
) -> None:
    deadline = time.monotonic() + 60
    while log.read_text().count(ready) < workers:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{workers} workers did not start:\n{log.read_text()}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server gracefully: its workers finish their requests, then it exits.

    SIGTERM, not SIGINT: to gunicorn, SIGINT (Ctrl+C) is a quick shutdown, and
    a sync worker still sending the last bytes of an answer the client has
    already read exits mid-write with a SystemExit traceback in the log.
    """
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def client(url: str) -> httpx.Client:
    """A client that opens a connection per request, so requests reach either worker."""
    return httpx.Client(base_url=url, timeout=20, limits=httpx.Limits(max_keepalive_connections=0))
