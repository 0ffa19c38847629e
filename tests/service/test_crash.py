"""A keyed POST whose server is killed (SIGKILL) mid-request runs exactly once after restart.

To hold the request in flight, a trigger installed in the test's database
makes the document insert slow (SQLite: a large cross join; PostgreSQL:
pg_sleep). Then the server is killed.

The key is recorded in the document's own transaction, so the kill leaves
neither; the retry after the restart runs at once and creates exactly one
document. So it is with ``--idempotency redis://...`` too, where Redis is
only a replay cache in front of that record: nothing is claimed there, so
nothing is left held by the dead request (no lease to wait out).

Either way a further retry is a replay of that one answer.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from httpconflict.storage import document_store
from tests.servers import start_service

LEASE = 4.0
JSON = {"content-type": "application/json"}
BODY = b'{"item": "tea"}'

pytestmark = pytest.mark.slow


def sqlite_slow_insert(path: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """Install and drop a trigger that makes every document insert take seconds."""

    def install() -> None:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE slow (n INTEGER)")
            db.executemany("INSERT INTO slow VALUES (?)", [(i,) for i in range(1000)])
            db.execute(
                "CREATE TRIGGER slow_insert BEFORE INSERT ON documents BEGIN "
                "SELECT count(*) FROM slow a, slow b, slow c WHERE c.n < 300; END"
            )

    def drop() -> None:
        with sqlite3.connect(path, timeout=30) as db:
            db.execute("DROP TRIGGER slow_insert")

    return install, drop


def postgres_slow_insert(url: str) -> tuple[Callable[[], None], Callable[[], None]]:
    import psycopg

    def install() -> None:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(
                "CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_sleep(2); RETURN NEW; END $$"
            )
            db.execute(
                "CREATE TRIGGER slow_insert BEFORE INSERT ON documents "
                "FOR EACH ROW EXECUTE FUNCTION slow_insert()"
            )

    def drop() -> None:
        # Waits for the killed request's backend to finish sleeping and roll back.
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("DROP TRIGGER slow_insert ON documents")

    return install, drop


@contextmanager
def slow_database(
    kind: str, request: pytest.FixtureRequest, tmp: Path
) -> Iterator[tuple[str, tuple[str, ...], Callable[[], None], Callable[[], None]]]:
    """(db URL, extra serve args, install, drop) for one kind of key store."""
    extra: tuple[str, ...] = ("--idempotency-lease", str(LEASE))
    if kind == "postgres":
        db = request.getfixturevalue("postgres_schema")
        install, drop = postgres_slow_insert(db)
    else:
        db = str(tmp / "crash.db")
        install, drop = sqlite_slow_insert(db)
        if kind == "redis":
            extra += ("--idempotency", request.getfixturevalue("redis_server"))
    yield db, extra, install, drop


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "redis"])
def test_killed_mid_request_then_retried_runs_once(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """SIGKILL while a keyed POST is in flight; after restart (and the lease), one document."""
    name = f"crash-{uuid.uuid4().hex[:8]}"
    # Unique per run: Redis keeps keys between test runs for their retention.
    key = f'"{uuid.uuid4()}"'
    with slow_database(kind, request, tmp_path) as (db, extra, install, drop):
        _create_schema(db)
        install()
        with start_service(db, tmp_path, extra=extra) as first:
            outcome: list[object] = []

            def send() -> None:
                try:
                    outcome.append(
                        httpx.post(
                            f"{first.url}/v1/{name}",
                            content=BODY,
                            headers={**JSON, "Idempotency-Key": key},
                            timeout=60,
                        )
                    )
                except httpx.TransportError as error:
                    outcome.append(error)

            sender = threading.Thread(target=send)
            sender.start()
            time.sleep(1.0)  # the claim is committed; the insert is crawling
            first.process.kill()
            first.process.wait()
            sender.join(30)
        assert len(outcome) == 1
        assert isinstance(outcome[0], httpx.TransportError), "the request was not in flight"
        drop()

        with start_service(db, tmp_path, extra=extra) as second, second.client() as http:
            # The killed write ran whole, its key with it, or not at all: on
            # PostgreSQL one statement does both, and the server may finish it
            # after its client died.
            landed = http.get(f"/v1/{name}").json()["items"]
            assert len(landed) <= 1
            retry = http.post(f"/v1/{name}", content=BODY, headers={**JSON, "Idempotency-Key": key})
            assert retry.status_code == 201, retry.text
            if landed:
                assert retry.headers["idempotent-replayed"] == "true"
                assert retry.headers["location"].endswith(landed[0]["id"])
            else:
                assert "idempotent-replayed" not in retry.headers
            again = http.post(f"/v1/{name}", content=BODY, headers={**JSON, "Idempotency-Key": key})
            assert again.headers["idempotent-replayed"] == "true"
            assert again.headers["location"] == retry.headers["location"]
            assert len(http.get(f"/v1/{name}").json()["items"]) == 1


def _create_schema(db: str) -> None:
    """Create the tables the trigger goes on, as the service would."""
    import asyncio

    async def create() -> None:
        store = document_store(db)
        await store.open()
        await store.close()

    asyncio.run(create())
