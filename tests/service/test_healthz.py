"""/healthz names each dependency, and answers within a second when one is down or hung.

The service runs on SQLite with its Idempotency-Keys in a private Redis
(tests/private_redis.py), which the test stops, then freezes (SIGSTOP: a
server that accepts nothing and answers nothing). PostgreSQL stopped is
tests/service/test_pg_outage.py's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from httpconflict._problem import PROBLEM_TYPE_BASE
from tests.private_redis import PrivateRedis, end_quarantine
from tests.servers import ServiceProcess, start_service

#: The acceptance bound (the service waits 0.5 s for its pings).
WITHIN = 1.0


@pytest.fixture
def service(private_redis: PrivateRedis, tmp_path: Path) -> Iterator[ServiceProcess]:
    end_quarantine(private_redis.url)
    extra = ("--idempotency", private_redis.url)
    with start_service(
        str(tmp_path / "docs.db"), tmp_path, extra=extra, allowed_5xx=frozenset({503})
    ) as running:
        yield running


def healthz(service: ServiceProcess) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    answer = httpx.get(service.url + "/healthz", timeout=10)
    return answer, time.monotonic() - began


def test_healthz_names_a_key_store_that_is_down_or_hung(
    service: ServiceProcess, private_redis: PrivateRedis
) -> None:
    """Redis stopped, then frozen: /healthz is a 503 naming the key store, within 1 s."""
    answer, _ = healthz(service)
    assert answer.status_code == 200
    assert answer.json()["checks"] == {"database": "up", "idempotency_keys": "up"}

    private_redis.stop()
    answer, took = healthz(service)
    assert took < WITHIN
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    problem = answer.json()
    assert problem["type"] == PROBLEM_TYPE_BASE + "unavailable"
    assert problem["checks"] == {"database": "up", "idempotency_keys": "down"}
    assert problem["detail"] == "down: idempotency_keys"
    assert problem["incident"]
    assert "refused" not in answer.text.lower()  # the driver's words stay in the log

    private_redis.start()
    deadline = time.monotonic() + 5
    while (answer := healthz(service)[0]).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert answer.status_code == 200

    private_redis.freeze()
    try:
        for _ in range(3):  # the ping still hanging is waited on, never piled up
            answer, took = healthz(service)
            print(f"frozen: {took:.3f} s")
            assert took < WITHIN
            assert answer.status_code == 503
            assert answer.json()["checks"]["idempotency_keys"] == "down"
    finally:
        private_redis.thaw()
