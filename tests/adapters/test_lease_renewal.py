"""A keyed request that runs past its lease, resent by the httpx client meanwhile: applied once.

The orders API of tests/apps/orders.py (ASGI under uvicorn) and
tests/adapters/orders_wsgi.py (WSGI under werkzeug's threaded server)
serves /short-lease/orders with a one-second lease. Each order there
sleeps 2 s, and the clients give up on an answer after 0.4 s: so
`ConflictClient.create` and `AsyncConflictClient.create` resend the POST,
with its key, while the first is still running, first within its lease,
then past it. The claim must hold as long as the request runs (the
middleware renews it), so every resend is a 409 in flight until the
first answer is recorded, then its replay: each create makes one order,
on every store. Without renewal the resend made after the lease took the
key over and ran the order again (two or three orders per create). The
orders are counted once none is running: a store may record the first
run's answer, and replay it, while such a second run still sleeps (Redis
records a completion where the key is absent, and the second run's
unrenewed claim has lapsed by then), and counted earlier that second
order was missed.

The same must hold when Redis loses the claim (restarted empty) while the
request runs: its quarantine lasts one lease, the request four, so a retry
after the quarantine must find the key claimed again by the renewals.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from httpconflict.httpx import AsyncConflictClient, ConflictClient, RetryPolicy
from tests.adapters.test_idempotency_middleware import Target, running
from tests.private_redis import PrivateRedis, end_quarantine

pytestmark = pytest.mark.slow

#: Twice the lease (1 s), and five times the clients' timeout: a resend comes past the lease.
ORDER = {"item": "tea", "sleep": 2.0}
TIMEOUT = 0.4
#: Creates made at once by each client kind.
CREATES = 2
#: A short backoff, so that resends arrive throughout the request's run.
POLICY = RetryPolicy(base=0.1, cap=0.5, budget=20)


TARGETS = [
    Target("asgi-memory", "tests.apps.orders:plain_app", "memory"),
    Target("asgi-sqlite", "tests.apps.orders:plain_app", "sqlite"),
    Target("wsgi-postgres", "tests.adapters.orders_wsgi:plain_app", "postgres", wsgi=True),
    Target("flask-redis", "tests.adapters.orders_wsgi:flask_app", "redis", wsgi=True),
]


@pytest.fixture(params=TARGETS, ids=lambda t: t.name)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with running(request.param, request, tmp_path_factory) as url:
        yield url + "/short-lease"


def test_a_request_running_past_its_lease_is_applied_once(server: str) -> None:
    """Resent during and after its lease: every create makes one order, one 201 each."""

    def create_sync() -> bool:
        with (
            httpx.Client(base_url=server, timeout=TIMEOUT) as http,
            ConflictClient(http, policy=POLICY) as c,
        ):
            return c.create("/orders", ORDER).replayed

    async def create_async() -> bool:
        async with (
            httpx.AsyncClient(base_url=server, timeout=TIMEOUT) as http,
            AsyncConflictClient(http, policy=POLICY) as c,
        ):
            return (await c.create("/orders", ORDER)).replayed

    async def creates_async() -> list[bool]:
        return list(await asyncio.gather(*(create_async() for _ in range(CREATES))))

    with concurrent.futures.ThreadPoolExecutor(CREATES) as pool:
        sync = [pool.submit(create_sync) for _ in range(CREATES)]
        replays = asyncio.run(creates_async()) + [f.result() for f in sync]
    # Each answer reached its client only as a replay: every first try timed out.
    assert replays == [True] * 2 * CREATES
    made = orders_made(server)
    assert made == 2 * CREATES, f"{made} orders for {2 * CREATES} creates"


def orders_made(server: str) -> int:
    """The orders made, once no create is running (a second run of one may still sleep)."""
    deadline = time.monotonic() + 30
    while (tally := httpx.get(server + "/orders/count", timeout=10).json())["running"]:
        assert time.monotonic() < deadline, tally
        time.sleep(0.05)
    return int(tally["count"])


#: One ASGI and one WSGI app, their keys in the test's private Redis.
ON_PRIVATE_REDIS = [
    Target("asgi-redis", "tests.apps.orders:plain_app", "redis"),
    Target("wsgi-redis", "tests.adapters.orders_wsgi:plain_app", "redis", wsgi=True),
]


@pytest.mark.parametrize("target", ON_PRIVATE_REDIS, ids=lambda t: t.name)
def test_a_renewed_claim_outlives_redis_losing_its_keys(
    target: Target,
    private_redis: PrivateRedis,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Redis restarts empty under a request running for 4 leases: its retries never run it again.

    The quarantine after the loss lasts one lease; the request runs on
    past it, so a retry arriving after the quarantine must find its claim.
    """
    end_quarantine(private_redis.url)  # a brand-new Redis
    with (
        running(target, request, tmp_path_factory, ORDERS_STORE=private_redis.url) as url,
        httpx.Client(base_url=url + "/short-lease", timeout=10) as http,
    ):
        k, body = f'"{uuid.uuid4()}"', json.dumps({"item": "tea", "sleep": 4}).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": k}
        with pytest.raises(httpx.ReadTimeout):  # the client gives up; the order goes on
            http.post("/orders", content=body, headers=headers, timeout=0.5)
        private_redis.stop()
        private_redis.start()  # without persistence: the running request's claim is gone
        seen: list[int] = []
        deadline = time.monotonic() + 15
        while (retry := http.post("/orders", content=body, headers=headers)).status_code != 201:
            # 503 during the quarantine, 409 while the first request runs.
            assert retry.status_code in (409, 503), retry.text
            seen.append(retry.status_code)
            assert time.monotonic() < deadline, retry.text
            time.sleep(0.1)
        assert retry.headers.get("idempotent-replayed") == "true", (seen, retry.text)
        assert http.get("/orders/count").json()["count"] == 1
        # A 409 came after the quarantine (503s, unless the first renewal began
        # and ended it before this test's first retry): the key was claimed again.
        assert 409 in seen, seen
