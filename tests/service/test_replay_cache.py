"""Keys in Redis are a replay cache: losing Redis (flushed, stopped, frozen) runs no write twice.

The service runs on PostgreSQL, then on SQLite, with ``--idempotency`` at
a private Redis (tests/private_redis.py) that the tests flush, stop and
freeze (and, last, at memory, a SQLite file and another PostgreSQL schema,
each emptied). Each keyed write's answer is recorded in the write's own
transaction, in the documents' database, and copied to Redis afterwards;
so a resend finds its answer whatever became of Redis: a keyed POST makes
one document, and a resend of an applied If-Match PUT gets its 200, never
a 412. No answer here may be a 5xx: Redis down is no reason to refuse.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from httpconflict.storage.idempotency.cache import PAUSE
from tests.conftest import _schema_url
from tests.private_redis import PrivateRedis, end_quarantine
from tests.redis_states import out_of_memory, read_only
from tests.servers import TLS, ServiceProcess, start_service

JSON = {"content-type": "application/json"}
#: How long a client goes on resending after a 409 or 503 (it honours Retry-After).
RESEND_FOR = 8.0
#: The lease the service is given: an old-style claim in Redis would end after it.
LEASE = "2"
PREFIX = "httpconflict:idempotency:"


@pytest.fixture(params=["postgres", "sqlite"])
def service(
    request: pytest.FixtureRequest, private_redis: PrivateRedis, tmp_path: Path
) -> Iterator[ServiceProcess]:
    """The service with its keys' replay cache in the private Redis; a 5xx fails the test."""
    if request.param == "postgres":
        db = request.getfixturevalue("postgres_schema")
    else:
        db = str(tmp_path / "docs.db")
    end_quarantine(private_redis.url)  # a brand-new Redis: nothing ran before
    extra = ("--idempotency", private_redis.url, "--idempotency-lease", LEASE)
    with start_service(db, tmp_path, workers=2, extra=extra, fork_workers=True) as running:
        yield running


def resend(http: httpx.Client, method: str, url: str, **kwargs: object) -> httpx.Response:
    """Send until the answer is neither a 409 in flight nor a 503, as a careful client does."""
    deadline = time.monotonic() + RESEND_FOR
    while True:
        answer = http.request(method, url, **kwargs)  # type: ignore[arg-type]
        if answer.status_code not in (409, 503) or time.monotonic() > deadline:
            return answer
        time.sleep(float(answer.headers.get("retry-after", "0.2")))


def count(http: httpx.Client, collection: str) -> int:
    return len(http.get(f"/v1/{collection}", params={"limit": 1000}).json()["items"])


def cached_keys(redis: PrivateRedis) -> list[str]:
    names = [k.decode() if isinstance(k, bytes) else k for k in redis.admin().keys(PREFIX + "*")]
    return [name for name in names if not name.endswith(("epoch", "ping"))]


def counter(http: httpx.Client) -> tuple[str, dict[str, str]]:
    """A counter at 0 and the If-Match PUT that increments it, under a key of its own."""
    url = f"/v1/counters/{uuid.uuid4().hex}"
    made = http.put(url, json={"n": 0}, headers={"If-None-Match": "*"})
    assert made.status_code == 201, made.text
    headers = {**JSON, "If-Match": made.headers["etag"], "Idempotency-Key": uuid.uuid4().hex}
    return url, headers


def test_a_resend_after_redis_lost_its_keys_is_replayed_from_the_database(
    service: ServiceProcess, private_redis: PrivateRedis
) -> None:
    """FLUSHALL between a write and its resend: replayed from the database, not written again."""
    collection = f"posts{uuid.uuid4().hex[:8]}"
    post = {**JSON, "Idempotency-Key": uuid.uuid4().hex}
    with service.client() as http:
        first = http.post(f"/v1/{collection}", content=b'{"a": 1}', headers=post)
        assert first.status_code == 201, first.text
        url, put = counter(http)
        applied = http.put(url, content=b'{"n": 1}', headers=put)
        assert applied.status_code == 200, applied.text
        assert cached_keys(private_redis), "each answer is copied to Redis"

        private_redis.admin().flushall()  # every key, and the epoch, gone

        again = resend(http, "POST", f"/v1/{collection}", content=b'{"a": 1}', headers=post)
        assert again.status_code == 201, again.text
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.headers["location"] == first.headers["location"]
        assert count(http, collection) == 1
        replayed = resend(http, "PUT", url, content=b'{"n": 1}', headers=put)
        assert replayed.status_code == 200, replayed.text  # never the 412 of its own write
        assert replayed.headers.get("idempotent-replayed") == "true"
        assert replayed.headers["etag"] == applied.headers["etag"]
        assert http.get(url).json() == {"n": 1}
        # Found in the database, the answers are in Redis again for the next resend.
        assert len(cached_keys(private_redis)) == 2


def test_with_redis_stopped_or_frozen_writes_apply_once_and_are_answered_at_once(
    service: ServiceProcess, private_redis: PrivateRedis
) -> None:
    """Redis down: keyed writes 201/200 (never 503), resends replayed, /healthz still 200."""
    collection = f"posts{uuid.uuid4().hex[:8]}"
    with service.client() as http:
        for fault, mend in (
            (private_redis.stop, private_redis.start),
            (private_redis.freeze, private_redis.thaw),
        ):
            fault()
            try:
                health = http.get("/healthz")
                assert health.status_code == 200, health.text
                assert health.json()["checks"]["replay_cache"] == "down"
                for _ in range(3):
                    post = {**JSON, "Idempotency-Key": uuid.uuid4().hex}
                    began = time.monotonic()
                    first = http.post(f"/v1/{collection}", content=b"{}", headers=post)
                    took = time.monotonic() - began
                    assert first.status_code == 201, first.text
                    # A stopped Redis refuses at once; a frozen one is given 0.5 s, then
                    # left alone for a second.
                    assert took < 1.5, f"{fault.__name__}: {took:.2f} s"
                    again = http.post(f"/v1/{collection}", content=b"{}", headers=post)
                    assert again.status_code == 201, again.text
                    assert again.headers.get("idempotent-replayed") == "true"
                    assert again.headers["location"] == first.headers["location"]
                    url, put = counter(http)
                    assert http.put(url, content=b'{"n": 1}', headers=put).status_code == 200
                    replayed = http.put(url, content=b'{"n": 1}', headers=put)
                    assert replayed.status_code == 200, replayed.text
                    assert replayed.headers.get("idempotent-replayed") == "true"
                    assert http.get(url).json() == {"n": 1}
            finally:
                mend()
        assert count(http, collection) == 6
    failures = [r for r in service.access_log() if r["status"] >= 500]
    assert not failures, failures[:3]


@pytest.mark.parametrize("service", ["sqlite"], indirect=True)
def test_with_redis_refusing_writes_they_apply_once_and_healthz_says_so(
    service: ServiceProcess, private_redis: PrivateRedis
) -> None:
    """Redis out of memory, then a read-only replica: keyed POSTs 201, resends replayed, no
    5xx, and /healthz 200 naming the replay cache down (it answers PING, not a write)."""
    collection = f"posts{uuid.uuid4().hex[:8]}"
    with service.client() as http:
        for state in (out_of_memory, read_only):
            with state(private_redis):
                health = http.get("/healthz")
                assert health.status_code == 200, health.text
                assert health.json()["checks"]["replay_cache"] == "down"
                post = {**JSON, "Idempotency-Key": uuid.uuid4().hex}
                first = http.post(f"/v1/{collection}", content=b"{}", headers=post)
                assert first.status_code == 201, first.text
                again = http.post(f"/v1/{collection}", content=b"{}", headers=post)
                assert again.status_code == 201, again.text
                assert again.headers.get("idempotent-replayed") == "true"
                assert again.headers["location"] == first.headers["location"]
            deadline = time.monotonic() + 5  # a loaded machine may take the ping over 0.5 s
            while (health := http.get("/healthz")).json()["checks"]["replay_cache"] != "up":
                assert time.monotonic() < deadline, health.text
                time.sleep(0.1)
        assert count(http, collection) == 2
    failures = [r for r in service.access_log() if r["status"] >= 500]
    assert not failures, failures[:3]


@pytest.mark.parametrize("twins", [16])
def test_concurrent_duplicates_make_one_write(service: ServiceProcess, twins: int) -> None:
    """The same keyed POST, and the same keyed If-Match PUT, sent 16 times at once: one write."""
    collection = f"posts{uuid.uuid4().hex[:8]}"
    with service.client() as http:
        url, put = counter(http)
    post = {**JSON, "Idempotency-Key": uuid.uuid4().hex}
    posted: list[httpx.Response] = []
    incremented: list[httpx.Response] = []
    start = threading.Barrier(twins)

    def twin() -> None:
        with httpx.Client(base_url=service.url, timeout=30, verify=TLS) as http:
            start.wait()
            posted.append(resend(http, "POST", f"/v1/{collection}", content=b"{}", headers=post))
            start.wait()
            incremented.append(resend(http, "PUT", url, content=b'{"n": 1}', headers=put))

    threads = [threading.Thread(target=twin) for _ in range(twins)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with service.client() as http:
        assert count(http, collection) == 1
        assert http.get(url).json() == {"n": 1}
    for answers, status in ((posted, 201), (incremented, 200)):
        assert [a.status_code for a in answers] == [status] * twins, [a.text for a in answers]
        fresh = [a for a in answers if a.headers.get("idempotent-replayed") != "true"]
        assert len(fresh) == 1
        assert {a.headers["etag"] for a in answers} == {fresh[0].headers["etag"]}


@pytest.mark.parametrize("cache", ["memory", "sqlite", "postgres"])
def test_any_key_store_apart_is_a_cache_whose_loss_runs_nothing_twice(
    cache: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """--idempotency memory, a SQLite file or another PostgreSQL: emptied, resends still replay."""
    docs = str(tmp_path / "docs.db")
    if cache == "memory":
        location = "memory"
    elif cache == "sqlite":
        location = str(tmp_path / "keys.db")
    else:
        location = request.getfixturevalue("postgres_schema")
    extra = ("--idempotency", location)
    collection = f"posts{uuid.uuid4().hex[:8]}"
    post = {**JSON, "Idempotency-Key": uuid.uuid4().hex}
    with start_service(docs, tmp_path, extra=extra) as first, first.client() as http:
        created = http.post(f"/v1/{collection}", content=b"{}", headers=post)
        assert created.status_code == 201, created.text
        url, put = counter(http)
        applied = http.put(url, content=b'{"n": 1}', headers=put)
        assert applied.status_code == 200, applied.text
        assert http.post(f"/v1/{collection}", content=b"{}", headers=post).headers.get(
            "idempotent-replayed"
        )
    # The cache loses everything: a memory cache with its process, the others emptied.
    if cache == "sqlite":
        with sqlite3.connect(location) as keys:
            assert keys.execute("DELETE FROM idempotency_keys").rowcount == 2
    elif cache == "postgres":
        import psycopg

        with psycopg.connect(location, autocommit=True) as keys:
            assert keys.execute("DELETE FROM idempotency_keys").rowcount == 2
    with start_service(docs, tmp_path, extra=extra) as second, second.client() as http:
        again = http.post(f"/v1/{collection}", content=b"{}", headers=post)
        assert again.status_code == 201, again.text
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.headers["location"] == created.headers["location"]
        replayed = http.put(url, content=b'{"n": 1}', headers=put)
        assert replayed.status_code == 200, replayed.text
        assert replayed.headers.get("idempotent-replayed") == "true"
        assert count(http, collection) == 1
        assert http.get(url).json() == {"n": 1}


@contextmanager
def two_databases(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """Two databases of the test's own: SQLite files, or PostgreSQL schemas of one database."""
    if backend == "sqlite":
        yield str(tmp_path / "one.db"), str(tmp_path / "other.db")
        return
    server = request.getfixturevalue("postgres_server")
    with contextmanager(_schema_url)(server) as one, contextmanager(_schema_url)(server) as other:
        yield one, other


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_cache_shared_with_another_database_never_answers_for_it(
    backend: str, private_redis: PrivateRedis, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Two services on two databases, one Redis: a key sent to each is a write in each.

    One Redis for staging and production, or for several services, is how a
    cache is often run. A client sending the same request with the same key
    to both (its keys made from its own ids) got the first's answer from the
    second, replayed: a 201 naming a document that the second never stored.
    """
    end_quarantine(private_redis.url)
    extra = ("--idempotency", private_redis.url)
    collection = f"orders{uuid.uuid4().hex[:8]}"
    post = {**JSON, "Idempotency-Key": "order-42"}
    with (
        two_databases(backend, request, tmp_path) as (one_db, other_db),
        start_service(one_db, tmp_path, extra=extra) as one,
        start_service(other_db, tmp_path, extra=extra) as other,
        one.client() as first,
        other.client() as second,
    ):
        # A cache that timed out as a worker started (a loaded machine) is left alone for
        # PAUSE seconds, and an answer recorded meanwhile is not copied: wait that out.
        time.sleep(PAUSE + 0.2)
        made = first.post(f"/v1/{collection}", content=b'{"item": "tea"}', headers=post)
        assert made.status_code == 201, made.text
        # The copy may follow the answer: looked for until it is there (5 s at most).
        copied = time.monotonic() + 5
        while not cached_keys(private_redis) and time.monotonic() < copied:
            time.sleep(0.02)
        assert cached_keys(private_redis), "the answer was copied to Redis"
        there = second.post(f"/v1/{collection}", content=b'{"item": "tea"}', headers=post)
        assert there.status_code == 201, there.text
        assert there.headers.get("idempotent-replayed") is None, "the other database's answer"
        assert second.get(there.headers["location"]).status_code == 200
        assert count(second, collection) == 1
        again = second.post(f"/v1/{collection}", content=b'{"item": "tea"}', headers=post)
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.headers["location"] == there.headers["location"]
        assert count(first, collection) == count(second, collection) == 1


def test_a_database_made_again_is_not_answered_from_the_cache(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    """The SQLite file deleted and made again: its keys start afresh, whatever Redis kept."""
    end_quarantine(private_redis.url)
    extra = ("--idempotency", private_redis.url)
    db = tmp_path / "docs.db"
    post = {**JSON, "Idempotency-Key": uuid.uuid4().hex}
    with start_service(str(db), tmp_path, extra=extra) as before, before.client() as http:
        assert http.post("/v1/orders", content=b"{}", headers=post).status_code == 201
    for made in tmp_path.glob("docs.db*"):
        made.unlink()
    with start_service(str(db), tmp_path, extra=extra) as after, after.client() as http:
        created = http.post("/v1/orders", content=b"{}", headers=post)
        assert created.status_code == 201, created.text
        assert created.headers.get("idempotent-replayed") is None
        assert http.get(created.headers["location"]).status_code == 200
        assert count(http, "orders") == 1
