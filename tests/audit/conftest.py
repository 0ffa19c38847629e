"""The audit's targets as real server processes: the naive app and json-server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.audit.json_server import VERSION, install, run_json_server
from tests.servers import start_app


@contextmanager
def _naive_app(log_dir: Path, *, etags: bool, delay: float = 0) -> Iterator[str]:
    env = {"NAIVE_ETAGS": "1" if etags else "0", "NAIVE_DELAY": str(delay)}
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


@pytest.fixture(scope="session")
def json_server_script(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """json-server's CLI, installed (once) where the test setup keeps it."""
    override = os.environ.get("HTTPCONFLICT_JSON_SERVER_PREFIX")
    if override:
        prefix = Path(override)
    elif pytestconfig.cache is not None:
        prefix = pytestconfig.cache.mkdir(f"json-server-{VERSION}")
    else:
        prefix = tmp_path_factory.mktemp(f"json-server-{VERSION}")
    return install(prefix)


@pytest.fixture
def json_server(json_server_script: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """json-server serving a "notes" collection from a fresh db.json: (base URL, db path)."""
    with run_json_server(json_server_script, tmp_path, "notes") as running:
        yield running
