"""A keyed request that runs past its lease, resent by the httpx client meanwhile: applied once.

The orders API of tests/apps/orders.py (ASGI under uvicorn) and
tests/adapters/orders_wsgi.py (WSGI under werkzeug's threaded server)
serves /short-lease/orders with a one-second lease. Each order there
sleeps 3.5 s, and the clients give up on an answer after 0.4 s: so
`ConflictClient.create` and `AsyncConflictClient.create` resend the POST,
with its key, while the first is still running, first within its lease,
then past it. The claim must hold as long as the request runs (the
middleware renews it), so every resend is a 409 in flight until the
first answer is recorded, then its replay: each create makes one order,
on every store. Without renewal the resend made after the lease took the
key over and ran the order again (two or three orders per create).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator

import httpx
import pytest

from httpconflict.httpx import AsyncConflictClient, ConflictClient, RetryPolicy
from tests.adapters.test_idempotency_middleware import Target, running

pytestmark = pytest.mark.slow

#: Longer than the lease (1 s) several times over, and than the clients' timeout.
ORDER = {"item": "tea", "sleep": 3.5}
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
    made = httpx.get(server + "/orders/count", timeout=10).json()["count"]
    assert made == 2 * CREATES, f"{made} orders for {2 * CREATES} creates"
