"""The service on SQLite when the disk under its file is full, and after room is made.

A real server (one worker) on a SQLite file in a tmpfs of a few megabytes
(tests/tiny_disk.py), filled to its last byte by another file. A write then
cannot be stored (SQLITE_FULL): it must get a 503 problem with Retry-After
saying the disk is full, never a 500, and nothing of it may stay; reads go
on; /healthz is a 503 naming the database "full" (it answers, but a
balancer must learn that it takes no write). Room is made, and the same
writes succeed: a pure counter equals the increments acknowledged, and a
keyed POST refused while the disk was full, sent again with its key,
creates its document once.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from httpconflict.problem_types import UNAVAILABLE
from tests.servers import ServiceProcess, start_service
from tests.tiny_disk import fill, tiny_disk

pytestmark = pytest.mark.slow

DOC = "/v1/disk/counter"
#: Writes tried while the disk is full before one must have been refused.
TRIES = 200


def increment(http: httpx.Client) -> httpx.Response:
    """Read the counter, write n + 1 with If-Match: one plain client's increment."""
    read = http.get(DOC)
    assert read.status_code == 200, read.text
    match = {"If-Match": read.headers["etag"]}
    return http.put(DOC, json={"n": read.json()["n"] + 1}, headers=match)


def assert_disk_full(answer: httpx.Response) -> None:
    """A 503 problem with Retry-After that says the disk is full, under a title that fits."""
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["retry-after"]) >= 1
    assert "disk is full" in answer.json()["detail"], answer.text
    # The title fits each 503 (the disk full here): neither "busy" nor "unreachable".
    title = answer.json()["title"]
    assert title == UNAVAILABLE.title
    assert not {"busy", "unreachable"} & set(title.lower().split()), title


def test_a_full_disk_is_a_503_and_loses_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Full disk: writes 503 saying so, reads 200; room made: counter == writes acknowledged."""
    logs = tmp_path_factory.mktemp("disk-full")
    with (
        tiny_disk(megabytes=8) as disk,
        start_service(str(disk / "hc.db"), logs, allowed_5xx=frozenset({503})) as service,
    ):
        acknowledged = 0
        with httpx.Client(base_url=service.url, timeout=10) as http:
            created = http.put(DOC, json={"n": 0}, headers={"If-None-Match": "*"})
            assert created.status_code == 201, created.text
            ballast = fill(disk)
            refused = None
            for _ in range(TRIES):
                answer = increment(http)
                if answer.status_code == 200:
                    acknowledged += 1  # a write that found room in a page already there
                    continue
                refused = answer
                break
            assert refused is not None, f"{TRIES} writes stored on a full disk"
            assert_disk_full(refused)
            key = {"Idempotency-Key": str(uuid.uuid4())}
            order = {"item": "tea"}
            assert_disk_full(http.post("/v1/orders", json=order, headers=key))
            assert http.get(DOC).json()["n"] == acknowledged  # the refused write left nothing
            health = http.get("/healthz")  # the database answers, but takes no write
            assert_disk_full(health)
            assert health.json()["checks"]["database"] == "full", health.text
            ballast.unlink()
            health = http.get("/healthz")
            assert health.status_code == 200, health.text
            assert health.json()["checks"]["database"] == "up"
            for _ in range(5):
                answer = increment(http)
                assert answer.status_code == 200, answer.text
                acknowledged += 1
            first = http.post("/v1/orders", json=order, headers=key)
            assert first.status_code == 201, first.text
            again = http.post("/v1/orders", json=order, headers=key)
            assert again.headers.get("idempotent-replayed") == "true"
            assert http.get(DOC).json()["n"] == acknowledged
            listed = http.get("/v1/orders").json()
            assert len(listed["items"] if isinstance(listed, dict) else listed) == 1
        check_logged(service)


def check_logged(service: ServiceProcess) -> None:
    """No 500 in the access log (start_service checks it too), and the 503s are there."""
    statuses = [r["status"] for r in service.access_log()]
    assert 500 not in statuses
    assert 503 in statuses
