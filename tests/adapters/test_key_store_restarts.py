"""Keyed writes through the httpx clients while the key store's server restarts: none twice.

The orders API (tests/apps/orders.py under uvicorn, tests/adapters/orders_wsgi.py
under werkzeug's threaded server) under /short-lease (a one-second lease, so
that the quarantine after Redis lost its keys lasts one second), its keys on
a private PostgreSQL or a private Redis without persistence, behind the
proxy of tests/proxy.py, which loses nothing here and tallies every answer.
Two `ConflictClient` threads and two `AsyncConflictClient` tasks increment
the pure counter (`update`: a GET, then a PATCH with If-Match and a key)
while as many create orders (`create`: keyed POSTs); once the run is under
way, the key store's server is restarted (PostgreSQL: a fast shutdown;
Redis: every key lost).

What must hold: the counter equals the increments acknowledged, each keyed
write is applied at most once, each create makes exactly one order, and
every 5xx is a 503 or 504 problem with Retry-After (no 500).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.adapters.test_example_lost_answers import creates
from tests.adapters.test_idempotency_middleware import Target, running
from tests.apps.orders import COUNTER
from tests.client.test_lost_answers import Measured, hammer
from tests.private_postgres import PrivatePostgres
from tests.private_redis import PrivateRedis, end_quarantine
from tests.proxy import LossyProxy, lossy_proxy

pytestmark = pytest.mark.slow

TARGETS = [
    Target("asgi", "tests.apps.orders:plain_app", ""),
    Target("wsgi", "tests.adapters.orders_wsgi:plain_app", "", wsgi=True),
]
PREFIX = "/short-lease"
INCREMENTS = 20  # by each of the 4 clients
#: Answers the proxy passes on before the key store restarts.
RESTART_AFTER = 40


@dataclass(frozen=True)
class KeyStore:
    """A private key store's URL, and how to restart its server."""

    url: str
    restart: Callable[[], object]


@pytest.fixture(params=["postgres", "redis"])
def key_store(request: pytest.FixtureRequest) -> Iterator[KeyStore]:
    if request.param == "postgres":
        postgres: PrivatePostgres = request.getfixturevalue("private_postgres")
        yield KeyStore(postgres.url, postgres.restart)
        return
    redis: PrivateRedis = request.getfixturevalue("private_redis")
    end_quarantine(redis.url)  # a brand-new Redis

    def restart() -> None:
        redis.stop()
        redis.start()  # without persistence: every key is gone

    yield KeyStore(redis.url, restart)


def restart_once_busy(proxy: LossyProxy, store: KeyStore, restarted: list[int]) -> threading.Thread:
    """A thread restarting the key store once the proxy passed `RESTART_AFTER` answers.

    It appends to `restarted` how many answers the proxy had passed once the store was back.
    """

    def run() -> None:
        deadline = time.monotonic() + 30
        while len(proxy.tally.snapshot()) < RESTART_AFTER and time.monotonic() < deadline:
            time.sleep(0.01)
        store.restart()
        restarted.append(len(proxy.tally.snapshot()))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_keyed_writes_outlive_a_key_store_restart(
    target: Target,
    key_store: KeyStore,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Restarted mid-run: counter == increments acknowledged, one order a create, 5xx 503/504."""
    with (
        running(target, request, tmp_path_factory, ORDERS_STORE=key_store.url) as url,
        lossy_proxy(url, drop=0) as proxy,
        concurrent.futures.ThreadPoolExecutor(1) as pool,
    ):
        restarted: list[int] = []
        restarter = restart_once_busy(proxy, key_store, restarted)
        made = pool.submit(creates, proxy.url + PREFIX + "/orders")
        calls = hammer(
            proxy.url + PREFIX + COUNTER, sync_clients=2, async_clients=2, increments=INCREMENTS
        )
        created = made.result()
        restarter.join()
        with httpx.Client(base_url=url + PREFIX, timeout=10) as http:
            final = http.get(COUNTER).json()["n"]
            orders = http.get("/orders/count").json()["count"]
    m = Measured.of(calls, proxy, final)
    statuses = Counter(e.status for e in proxy.tally.snapshot() if e.status >= 300)
    print(f"\n{m}\nanswers not 2xx: {dict(statuses)}; back after {restarted} answers")
    assert calls.failures == []
    assert (m.applied_without_key, m.keys_applied_twice, m.unknowns) == (0, 0, 0), m
    assert m.final == m.applied == m.successes == 4 * INCREMENTS, m
    assert len(set(created)) == len(created) == orders, (created, orders)
    posts = proxy.tally.applied(["POST"])
    assert sorted(posts.values()) == [1] * len(created), posts
    # The clients went on past the restart (a PostgreSQL store may wait it out: no 503).
    assert restarted, "the key store was not restarted"
    assert restarted[0] < m.answers, (restarted, m.answers)
    for answer in [e for e in proxy.tally.snapshot() if e.status >= 500]:
        assert answer.status in (503, 504), answer
        assert (answer.content_type or "").startswith("application/problem+json"), answer
        assert answer.retry_after is not None, answer
