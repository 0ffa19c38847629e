"""The audit's targets as real server processes.

The naive Starlette app, a naive FastAPI app, a DRF + django-concurrency
project, json-server and pouchdb-server (the last two from npm).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.audit.json_server import JSON_SERVER, run_json_server
from tests.audit.npm import install, prefix_for
from tests.audit.pouchdb_server import POUCHDB_SERVER, run_pouchdb_server
from tests.servers import start_app


@contextmanager
def _naive_app(
    log_dir: Path, *, etags: bool, delay: float = 0, shortcut: bool = False
) -> Iterator[str]:
    env = {
        "NAIVE_ETAGS": "1" if etags else "0",
        "NAIVE_DELAY": str(delay),
        "NAIVE_SHORTCUT": "1" if shortcut else "0",
    }
    with start_app("tests.audit.naive_app:create_app", log_dir, env=env, probe="/healthz") as url:
        yield url


@pytest.fixture(scope="module")
def naive_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The naive app under uvicorn, sending ETags it then ignores; its base URL."""
    with _naive_app(tmp_path_factory.mktemp("naive"), etags=True) as url:
        yield url


@pytest.fixture(scope="module")
def naive_api_without_etags(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The naive app under uvicorn, with no ETags at all; its base URL."""
    with _naive_app(tmp_path_factory.mktemp("naive"), etags=False) as url:
        yield url


@pytest.fixture(scope="module")
def slow_naive_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The naive app, each /v1 answer 0.2 s late; its base URL."""
    with _naive_app(tmp_path_factory.mktemp("naive"), etags=True, delay=0.2) as url:
        yield url


@pytest.fixture(scope="module")
def slower_naive_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The naive app, each /v1 answer 2 s late; its base URL."""
    with _naive_app(tmp_path_factory.mktemp("naive"), etags=True, delay=2.0) as url:
        yield url


@pytest.fixture(scope="module")
def shortcut_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The naive app checking If-Match, but answering 200 to a body equal to the stored one."""
    with _naive_app(tmp_path_factory.mktemp("naive"), etags=True, shortcut=True) as url:
        yield url


@pytest.fixture(scope="session")
def json_server_script(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """json-server's CLI, installed (once) where the test setup keeps it."""
    return install(JSON_SERVER, prefix_for(JSON_SERVER, pytestconfig, tmp_path_factory))


@pytest.fixture
def json_server(json_server_script: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """json-server serving a "notes" collection from a fresh db.json: (base URL, db path)."""
    with run_json_server(json_server_script, tmp_path, "notes") as running:
        yield running


@pytest.fixture(scope="session")
def pouchdb_server_script(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """pouchdb-server's CLI, installed (once) where the test setup keeps it."""
    return install(POUCHDB_SERVER, prefix_for(POUCHDB_SERVER, pytestconfig, tmp_path_factory))


@pytest.fixture(scope="module")
def pouchdb_server(
    pouchdb_server_script: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """pouchdb-server, in memory, for this module's tests; its URL."""
    with run_pouchdb_server(pouchdb_server_script, tmp_path_factory.mktemp("pouchdb")) as url:
        yield url


@pytest.fixture(scope="module", params=["default", "json"])
def drf_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The DRF + django-concurrency project (threaded WSGI) with its 409 handler; its URL.

    "default" is django-concurrency's own handler, "json" a JSON 409 (drf_project.py).
    """
    log_dir = tmp_path_factory.mktemp(f"drf-{request.param}")
    env = {"DRF_CONFLICT": request.param, "DRF_DATABASE": str(log_dir / "notes.sqlite3")}
    target = "tests.audit.drf_project:create_app"
    with start_app(target, log_dir, env=env, probe="/healthz", wsgi=True) as url:
        yield url


@pytest.fixture(scope="module")
def fastapi_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The naive FastAPI app under uvicorn (tests/audit/naive_fastapi.py); its URL."""
    log_dir = tmp_path_factory.mktemp("fastapi")
    with start_app("tests.audit.naive_fastapi:create_app", log_dir, probe="/healthz") as url:
        yield url


@pytest.fixture(scope="module")
def passthrough_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tests/audit/passthrough_app.py on its own SQLite file under uvicorn; its base URL."""
    log_dir = tmp_path_factory.mktemp("passthrough")
    env = {"PASSTHROUGH_DATABASE": str(log_dir / "notes.sqlite3")}
    target = "tests.audit.passthrough_app:create_app"
    with start_app(target, log_dir, env=env, probe="/healthz") as url:
        yield url
