"""A key store whose every PostgreSQL connection is busy past a request's wait: 503, then one order.

The orders WSGI app (tests/adapters/orders_wsgi.py) keeps its keys in
PostgreSQL, in a pool of 10 connections per process, and a request waits
1 s for a free one before its 503 `unavailable` (storage/_pg_pool.py),
which promises that nothing was applied. A loaded machine meets it when a
burst of requests finds the pool still growing; here the test holds the
key table locked for longer than that wait while 30 duplicates of one
keyed POST arrive: 10 take every connection, blocked on the lock, and the
others get the 503. Each is sent again with its key after its Retry-After,
as a client would: one order is made, and every answer is that order's
201 (first or replayed) or a 409 while it runs.
"""

from __future__ import annotations

import concurrent.futures
import threading

import httpx
import psycopg
import pytest

from tests.adapters.test_idempotency_middleware import (
    PLAIN_WSGI,
    Target,
    count,
    key,
    post,
    post_as_a_client,
    running,
)

DUPLICATES = 30
#: Seconds the key table stays locked: past the 1 s wait for a connection.
LOCKED = 2.5


def test_a_burst_on_a_busy_key_store_makes_one_order(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_module_schema: str,
) -> None:
    """Every key connection busy past the wait: 503s, sent again with the key; one order."""
    target = Target("wsgi-postgres", PLAIN_WSGI, "postgres", wsgi=True)
    with (
        running(target, request, tmp_path_factory) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        assert post(http, b'{"item": "tea"}', key()).status_code == 201  # the key table exists
        before = count(http)
        k, body = key(), b'{"item": "tea", "sleep": 0.3}'
        refusals: list[httpx.Response] = []
        with psycopg.connect(postgres_module_schema) as holder:
            holder.execute("LOCK TABLE idempotency_keys IN EXCLUSIVE MODE")
            threading.Timer(LOCKED, holder.rollback).start()
            with concurrent.futures.ThreadPoolExecutor(DUPLICATES) as pool:
                answers = list(
                    pool.map(lambda _: post_as_a_client(http, body, k, refusals), range(DUPLICATES))
                )
        created = [a for a in answers if a.status_code == 201]
        assert refusals, "no request waited past the pool's wait: the test proves nothing"
        assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
        assert sum("idempotent-replayed" not in a.headers for a in created) == 1
        assert len({a.content for a in created}) == 1
        assert count(http) == before + 1
