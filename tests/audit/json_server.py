"""json-server (the npm package) installed on demand and run as a real server.

json-server 0.17.4 is the last release of the 0.x line: its CLI
(``json-server db.json --host H --port P``) is stable and it runs on
Node >= 12; the 1.0 betas changed both. It is installed with ``npm install
--prefix PREFIX`` into pytest's cache directory
(``.pytest_cache/d/json-server-0.17.4``, or $HTTPCONFLICT_JSON_SERVER_PREFIX)
the first time, and reused after. Without node or npm, or when the install
fails, the test skips with the reason; with CI=true it fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, NoReturn

import pytest

from tests.servers import free_port, stop, wait_until_up

VERSION: Final = "0.17.4"
IN_CI: Final = os.environ.get("CI", "").lower() in ("1", "true", "yes")
INSTALL_TIMEOUT: Final = 240


def need_node(message: str) -> NoReturn:
    """Skip, or with CI=true fail, a test that needs json-server."""
    if IN_CI:
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


def installed_version(prefix: Path) -> str | None:
    manifest = prefix / "node_modules" / "json-server" / "package.json"
    try:
        version: str = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return version


def install(prefix: Path) -> Path:
    """json-server's CLI script under `prefix`, installed there first if need be."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        need_node("node and npm are not on PATH: install Node.js (20) to audit json-server")
    if installed_version(prefix) != VERSION:
        prefix.mkdir(parents=True, exist_ok=True)
        command = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund"]
        try:
            done = subprocess.run(
                [*command, f"json-server@{VERSION}"],
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            need_node(f"npm install json-server@{VERSION} took over {INSTALL_TIMEOUT} s")
        if done.returncode != 0 or installed_version(prefix) != VERSION:
            need_node(f"npm install json-server@{VERSION} failed: {done.stderr.strip()[-500:]}")
    return prefix / "node_modules" / "json-server" / "lib" / "cli" / "bin.js"


@contextmanager
def run_json_server(script: Path, workdir: Path, collection: str) -> Iterator[tuple[str, Path]]:
    """json-server on a free 127.0.0.1 port over a fresh db.json; yield (URL, db path)."""
    node = shutil.which("node")
    assert node is not None
    db = workdir / "db.json"
    db.write_text(json.dumps({collection: []}))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / f"json-server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [node, str(script.resolve()), str(db), "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, "NO_UPDATE_NOTIFIER": "1"},
        )
    try:
        wait_until_up(url, process, log_path, f"/{collection}")
        yield url, db
    finally:
        stop(process)
