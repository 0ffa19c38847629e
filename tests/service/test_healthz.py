"""/healthz names each dependency, and answers within a second when one is down or hung.

The service runs on SQLite with the replay cache of its Idempotency-Keys
in a private Redis (tests/private_redis.py), which the test stops, then
freezes (SIGSTOP: a server that accepts nothing and answers nothing). The
service works without it (the keys' records are in the database), so
/healthz names it down and still answers 200: a load balancer must not
take every instance out because Redis is. PostgreSQL stopped is
tests/service/test_pg_outage.py's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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
    """The answer, and the seconds it took from the request sent (not the client's set-up:
    a new httpx client loads its TLS context: 47-87 ms on a quiet machine, more on a loaded one)."""
    with httpx.Client(timeout=10) as http:
        began = time.monotonic()
        answer = http.get(service.url + "/healthz")
        return answer, time.monotonic() - began


def test_healthz_names_a_replay_cache_that_is_down_or_hung_and_stays_200(
    service: ServiceProcess, private_redis: PrivateRedis
) -> None:
    """Redis stopped, then frozen: /healthz names the replay cache down, within 1 s, and is 200."""
    answer, _ = healthz(service)
    assert answer.status_code == 200
    up = {"database": "up", "idempotency_keys": "up", "replay_cache": "up"}
    assert answer.json()["checks"] == up

    private_redis.stop()
    answer, took = healthz(service)
    assert took < WITHIN
    assert answer.status_code == 200, answer.text
    assert answer.json()["checks"] == {**up, "replay_cache": "down"}
    assert "refused" not in answer.text.lower()  # the driver's words stay in the log

    private_redis.start()
    deadline = time.monotonic() + 5
    while (answer := healthz(service)[0]).json()["checks"] != up and time.monotonic() < deadline:
        time.sleep(0.1)
    assert answer.json()["checks"] == up

    private_redis.freeze()
    try:
        for _ in range(3):  # the ping still hanging is waited on, never piled up
            answer, took = healthz(service)
            print(f"frozen: {took:.3f} s")
            assert took < WITHIN
            assert answer.status_code == 200
            assert answer.json()["checks"]["replay_cache"] == "down"
    finally:
        private_redis.thaw()
