"""A server per backend and module, watched: healthy and back to its memory afterwards.

`service` (tests/conftest.py) runs one `httpconflict serve` per module on
SQLite, then on PostgreSQL, and fails the module if any request got a 5xx.
`watched` adds the acceptance's other half: after the module's hostile
requests, /healthz still answers 200 and the worker's resident memory is
within twice what it was at the start.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.hostile.support import Watched, resident_bytes, worker_pid
from tests.servers import ServiceProcess


@pytest.fixture(scope="module")
def watched(service: ServiceProcess) -> Iterator[Watched]:
    """The module's server, with the worker's resident memory at the start."""
    pid = worker_pid(service.process.pid)
    with service.client() as client:
        # Warm up: the first requests import and allocate what every later one uses.
        for _ in range(20):
            assert client.get("/healthz").status_code == 200
            client.put("/v1/warmup/w", content=b"{}", headers={"content-type": "application/json"})
    start = resident_bytes(pid)
    yield Watched(service, pid, start)
    with service.client() as client:
        health = client.get("/healthz", timeout=5)
    assert health.status_code == 200, health.text
    end = resident_bytes(pid)
    assert end <= 2 * start, f"resident memory went from {start} to {end} bytes"


@pytest.fixture
def http(watched: Watched) -> Iterator[httpx.Client]:
    with watched.service.client() as client:
        yield client
