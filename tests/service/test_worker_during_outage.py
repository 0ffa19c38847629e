"""A worker started while PostgreSQL is down serves once it is back; the service never exits.

uvicorn replaces a worker that died. When the replacement starts during a
database outage, its start-up cannot open the stores: it must start all the
same (answering 503 with Retry-After meanwhile, as the others do) rather
than fail its start-up, which makes uvicorn stop the whole service. Once
PostgreSQL accepts connections again, the new worker opens its stores on
the first request that needs them and answers it.

The PostgreSQL stopped is the test's own (tests/private_postgres.py).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.private_postgres import PrivatePostgres
from tests.servers import ServiceProcess, start_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

JSON = {"content-type": "application/json"}


def workers_seen(service: ServiceProcess) -> set[int]:
    return {r["worker"] for r in service.access_log()}


def wait_for_console(
    service: ServiceProcess, done: Callable[[str], bool], after: str, timeout: float = 30
) -> None:
    """Wait until `done(what the console printed after the line saying `after`)`."""
    deadline = time.monotonic() + timeout
    while True:
        console = service.log_path.read_text()
        assert service.process.poll() is None, console[-3000:]
        _, found, since = console.partition(after)
        if found and done(since):
            return
        assert time.monotonic() < deadline, console[-3000:]
        time.sleep(0.05)


def ask_until(service: ServiceProcess, done: Callable[[], bool], timeout: float = 30) -> None:
    """GET the document on new connections (any worker may take one) until `done()`."""
    deadline = time.monotonic() + timeout
    while not done():
        assert service.process.poll() is None, service.log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, service.log_path.read_text()[-3000:]
        httpx.get(service.url + "/v1/c/a", timeout=10)
        time.sleep(0.02)


@pytest.mark.parametrize("keys", ["db", "redis"])
def test_a_worker_replaced_during_an_outage_serves_once_the_database_is_back(
    private_postgres: PrivatePostgres, tmp_path: Path, keys: str, request: pytest.FixtureRequest
) -> None:
    """A worker killed with PostgreSQL down: the service stays up, 503s, the new worker serves."""
    extra: tuple[str, ...] = ("--idempotency", "db")
    if keys == "redis":
        extra = ("--idempotency", request.getfixturevalue("redis_server"))
    with start_service(
        private_postgres.url, tmp_path, workers=2, extra=extra, allowed_5xx=frozenset({503})
    ) as service:
        created = httpx.put(
            service.url + "/v1/c/a", content=b'{"n": 0}', headers={**JSON, "If-None-Match": "*"}
        )
        assert created.status_code == 201, created.text
        before = workers_seen(service)
        private_postgres.stop()
        victim = max(before)
        os.kill(victim, signal.SIGKILL)
        # The replacement's start-up ran while the database was down; meanwhile
        # every answer is a 503 with Retry-After, and the service stays up.
        died = f"Child process [{victim}] died"
        # A worker killed while its supervisor waits for its answer to a health check
        # is found dead when that wait ends (WORKER_HEALTHCHECK_TIMEOUT, 30 s: the
        # supervisor's end of the pipe gets no EOF); its replacement then starts.
        wait_for_console(
            service, lambda text: "Application startup complete" in text, died, timeout=75
        )
        down = httpx.get(service.url + "/v1/c/a", timeout=10)
        assert down.status_code == 503, down.text
        assert down.headers["retry-after"]
        private_postgres.start()
        ask_until(
            service,
            lambda: any(
                r["worker"] not in before and r["status"] == 200 and r["path"] == "/v1/c/a"
                for r in service.access_log()
            ),
        )
        assert service.process.poll() is None
