"""The service when its PostgreSQL turns read-only, as after a failover to a replica.

A real server on a database of its own. Mid-run the database is made
read-only for every new session (``ALTER DATABASE ... SET
default_transaction_read_only``) and its sessions are ended: each new one is
what a hot standby gives, "cannot execute UPDATE in a read-only
transaction" (SQLSTATE 25006). Writes must then get a 503 problem with
Retry-After saying the database is read-only, never a 500, and /healthz a
503 naming the database "read-only" (a balancer learns the instance takes
no writes; writable again, 200), reads go on,
and nothing is half-written; made writable again, a pure counter equals
the increments acknowledged and a keyed POST refused meanwhile, sent again
with its key, creates its document once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.own_database import own_database as fresh_database
from tests.servers import start_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DOC = "/v1/ro/counter"


@pytest.fixture
def own_database(postgres_server: str) -> Iterator[tuple[str, str]]:
    """(name, URL) of a fresh database, dropped afterwards."""
    with fresh_database(postgres_server, "hc_ro") as made:
        yield made


def set_read_only(postgres_server: str, name: str, on: bool) -> None:
    """Make `name` read-only (or writable) for new sessions, and end its sessions."""
    import psycopg

    change = (
        "SET default_transaction_read_only = on" if on else "RESET default_transaction_read_only"
    )
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {name} {change}")
        sessions = "FROM pg_stat_activity WHERE datname = %s"
        admin.execute(f"SELECT pg_terminate_backend(pid) {sessions}", (name,))
        # Ended when gone: their goodbyes are then on the service's sockets, where
        # it looks before using a pooled connection (a restart costs no request).
        deadline = time.monotonic() + 10
        while admin.execute(f"SELECT count(*) {sessions}", (name,)).fetchone() != (0,):
            assert time.monotonic() < deadline, "sessions not ended in 10 s"
            time.sleep(0.01)


def increment(http: httpx.Client) -> httpx.Response:
    """Read the counter, write n + 1 with If-Match: one plain client's increment."""
    read = http.get(DOC)
    assert read.status_code == 200, read.text
    match = {"If-Match": read.headers["etag"]}
    return http.put(DOC, json={"n": read.json()["n"] + 1}, headers=match)


def assert_health(http: httpx.Client, status: int, database: str) -> None:
    """/healthz answers `status`, its `checks` naming the database `database`."""
    health = http.get("/healthz")
    assert health.status_code == status, health.text
    assert health.json()["checks"]["database"] == database, health.text
    if status == 503:
        assert health.headers["retry-after"] == "1"
        detail = health.json()["detail"]
        assert detail.count("takes no writes: it is read-only") == 1, health.text


def test_a_read_only_database_is_a_503_and_loses_nothing(
    postgres_server: str, own_database: tuple[str, str], tmp_path: Path
) -> None:
    """Read-only: writes and /healthz 503 saying so, reads 200; writable: counter == acked."""
    name, url = own_database
    with (
        start_service(url, tmp_path, allowed_5xx=frozenset({503})) as service,
        httpx.Client(base_url=service.url, timeout=10) as http,
    ):
        assert http.put(DOC, json={"n": 0}, headers={"If-None-Match": "*"}).status_code == 201
        acknowledged = 0
        for _ in range(3):
            assert increment(http).status_code == 200
            acknowledged += 1
        set_read_only(postgres_server, name, on=True)
        refused = increment(http)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert "read-only" in refused.json()["detail"], refused.text
        key = {"Idempotency-Key": str(uuid.uuid4())}
        order = {"item": "tea"}
        posted = http.post("/v1/orders", json=order, headers=key)
        assert posted.status_code == 503, posted.text
        assert http.get(DOC).json()["n"] == acknowledged
        assert_health(http, 503, "read-only")
        set_read_only(postgres_server, name, on=False)
        assert_health(http, 200, "up")
        for _ in range(3):
            answer = increment(http)
            assert answer.status_code == 200, answer.text
            acknowledged += 1
        assert http.post("/v1/orders", json=order, headers=key).status_code == 201
        replay = http.post("/v1/orders", json=order, headers=key)
        assert replay.headers.get("idempotent-replayed") == "true"
        assert http.get(DOC).json()["n"] == acknowledged
        listed = http.get("/v1/orders").json()
        assert len(listed["items"] if isinstance(listed, dict) else listed) == 1
