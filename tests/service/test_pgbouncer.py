"""The service on PostgreSQL through PgBouncer in transaction pooling mode.

Several instances on one PostgreSQL usually share it through a pooler.
In transaction mode each statement may run on another server connection,
so a statement psycopg prepared on one (it prepares a statement run 5
times) is missing on the next ("prepared statement _pg3_0 does not
exist": 500s), or another statement has its name there (a read answered
with another query's rows). A real PgBouncer with 2 server connections
under 2 workers and 6 clients: every answer is a 2xx or 412, a pure
counter equals the increments acknowledged, each keyed POST, sent
twice, creates one document, and a watcher long-polling the change feed
meanwhile sees each version of the counter once, in order.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.own_database import own_database
from tests.pgbouncer import pgbouncer
from tests.servers import start_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DOC = "/v1/pooled/counter"
CLIENTS = 6
ROUNDS = 40


@pytest.fixture(scope="module")
def pooled(postgres_server: str) -> Iterator[tuple[str, str]]:
    """(direct URL, URL through PgBouncer) of a database of the module's own."""
    with own_database(postgres_server, "hc_pgb") as (_, url), pgbouncer(url) as through:
        yield url, through


def client_rounds(url: str, counted: list[int], failures: list[str]) -> None:
    """A plain client: read n, write n + 1 with If-Match; a keyed POST sent twice each round."""
    with httpx.Client(base_url=url, timeout=20) as http:
        for _ in range(ROUNDS):
            read = http.get(DOC)
            if read.status_code != 200:
                failures.append(f"GET {read.status_code} {read.text[:200]}")
                continue
            write = http.put(
                DOC, json={"n": read.json()["n"] + 1}, headers={"If-Match": read.headers["etag"]}
            )
            if write.status_code == 200:
                counted.append(1)
            elif write.status_code != 412:
                failures.append(f"PUT {write.status_code} {write.text[:200]}")
            key = {"Idempotency-Key": str(uuid.uuid4())}
            first, again = (http.post("/v1/pooled-posts", json={}, headers=key) for _ in "12")
            if (first.status_code, again.status_code) != (201, 201) or (
                first.headers.get("location") != again.headers.get("location")
            ):
                failures.append(f"keyed POST {first.status_code}, {again.status_code}")


def watch(url: str, stop: threading.Event, seen: list[dict[str, Any]]) -> None:
    """Follow the counter's feed with long-polled JSON pages until `stop`, then to its end."""
    since, last_round = 0, False
    with httpx.Client(base_url=url, timeout=20) as http:
        while True:
            last_round = stop.is_set()
            page = http.get(
                "/v1/pooled/_changes",
                params={"since": since, "id": "counter", "wait": 0 if last_round else 1},
            )
            assert page.status_code == 200, page.text
            seen.extend(page.json()["results"])
            since = page.json()["last_seq"]
            if last_round and not page.json()["results"]:
                return


def test_the_service_through_pgbouncer_loses_nothing_and_fails_nothing(
    pooled: tuple[str, str], tmp_path: Path
) -> None:
    """No 5xx (start_service fails on any), counter == increments acknowledged, POSTs once."""
    _, through = pooled
    with start_service(through, tmp_path, workers=2) as service:
        with httpx.Client(base_url=service.url, timeout=20) as http:
            created = http.put(DOC, json={"n": 0}, headers={"If-None-Match": "*"})
            assert created.status_code == 201, created.text
        counted: list[int] = []
        failures: list[str] = []
        seen: list[dict[str, Any]] = []
        stop = threading.Event()
        watcher = threading.Thread(target=watch, args=(service.url, stop, seen))
        watcher.start()
        clients = [
            threading.Thread(target=client_rounds, args=(service.url, counted, failures))
            for _ in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        stop.set()
        watcher.join()
        assert failures == [], f"{len(failures)} failures, first: {failures[:3]}"
        with httpx.Client(base_url=service.url, timeout=20) as http:
            assert http.get(DOC).json()["n"] == len(counted) > 0
            posted = http.get("/v1/pooled-posts", params={"limit": 1000}).json()["items"]
        assert len(posted) == CLIENTS * ROUNDS, "each keyed POST sent twice made one document"
        # The create and each increment: every version once, in commit (seq) order.
        assert [c["version"] for c in seen] == list(range(1, len(counted) + 2))
        assert [c["seq"] for c in seen] == sorted({c["seq"] for c in seen})


def test_only_connections_through_a_pooler_give_up_prepared_statements(
    pooled: tuple[str, str],
) -> None:
    """Direct: psycopg's default (prepared after 5 runs); through PgBouncer: never prepared."""
    from httpconflict.storage._pg_pool import connect

    async def thresholds() -> tuple[int | None, int | None]:
        direct_url, through = pooled
        direct, pooled_conn = await connect(direct_url), await connect(through)
        try:
            return direct.prepare_threshold, pooled_conn.prepare_threshold
        finally:
            await direct.close()
            await pooled_conn.close()

    assert asyncio.run(thresholds()) == (5, None)
