"""npm packages the audit tests run as real servers, installed on demand and reused.

Each is installed with ``npm install --prefix PREFIX --ignore-scripts`` into pytest's cache
directory (``.pytest_cache/d/NAME-VERSION``, or under
$HTTPCONFLICT_NPM_PREFIX) the first time, and reused after; test workers
running at once take turns (a lock file beside the prefix), so one
installs and the others find it installed. Without node or npm, or when
the install fails, the test skips with the reason; with CI=true it fails
instead.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from tests.servers import free_port, stop, wait_until_up

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class NpmPackage:
    """A package pinned to one version, and its CLI script inside the package."""

    name: str
    version: str
    script: str
    #: Seconds the first install may take (pouchdb-server pulls 350 packages).
    install_timeout: int = 240

    @property
    def cache_name(self) -> str:
        return f"{self.name}-{self.version}"


def need_node(message: str) -> NoReturn:
    """Skip, or with CI=true fail, a test that needs an npm package."""
    if IN_CI:
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


def installed_version(prefix: Path, name: str) -> str | None:
    manifest = prefix / "node_modules" / name / "package.json"
    try:
        version: str = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return version


def prefix_for(package: NpmPackage, config: pytest.Config, factory: pytest.TempPathFactory) -> Path:
    """Where `package` is (to be) installed: $HTTPCONFLICT_NPM_PREFIX, else pytest's cache."""
    override = os.environ.get("HTTPCONFLICT_NPM_PREFIX")
    if override:
        return Path(override) / package.cache_name
    cache: pytest.Cache | None = getattr(config, "cache", None)  # none: -p no:cacheprovider
    if cache is not None:
        return cache.mkdir(package.cache_name)
    return factory.mktemp(package.cache_name)


def install(package: NpmPackage, prefix: Path) -> Path:
    """The package's CLI script under `prefix`, installed there first if need be."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        need_node(f"node and npm are not on PATH: install Node.js (20) to run {package.name}")
    wanted = f"{package.name}@{package.version}"
    with _taking_turns(prefix.with_name(prefix.name + ".lock")):
        _install(package, prefix, npm, wanted)
    return prefix / "node_modules" / package.name / package.script


@contextmanager
def _taking_turns(lock: Path) -> Iterator[None]:
    """One process at a time in the block (an exclusive lock on `lock`, released on exit)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


def _install(package: NpmPackage, prefix: Path, npm: str, wanted: str) -> None:
    if installed_version(prefix, package.name) != package.version:
        prefix.mkdir(parents=True, exist_ok=True)
        # No install scripts: pouchdb-server's would build sqlite3 from source
        # (its prebuilt binaries are not on the registry), minutes of compiling
        # for a driver the in-memory server never loads; leveldown finds its
        # prebuilt binary when loaded. A pinned version needs no fresh metadata: npm's
        # cache, where it has the packages (--prefer-offline: 16 s instead of 28 here).
        command = [
            *(npm, "install", "--prefix", str(prefix)),
            *("--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline", wanted),
        ]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=package.install_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            need_node(f"npm install {wanted} took over {package.install_timeout} s")
        if done.returncode != 0 or installed_version(prefix, package.name) != package.version:
            need_node(f"npm install {wanted} failed: {done.stderr.strip()[-500:]}")


@contextmanager
def run_node(script: Path, args: Sequence[str], workdir: Path, probe: str) -> Iterator[str]:
    """``node SCRIPT ARGS --host 127.0.0.1 --port P`` until the block ends; yield its URL."""
    node = shutil.which("node")
    assert node is not None
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / f"{script.stem}-{port}.log"
    command = [node, str(script.resolve()), *args, "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, "NO_UPDATE_NOTIFIER": "1"},
        )
    try:
        wait_until_up(url, process, log_path, probe)
        yield url
    finally:
        stop(process)
