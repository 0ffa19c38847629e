"""A key store down for longer than the lease while a request that ran owes its record.

The orders API (tests/apps/orders.py under uvicorn, and the WSGI one under
werkzeug) keeps its keys on a private PostgreSQL. A keyed create claims
its key (a one-second lease) and runs for a second; meanwhile the key
store's server stops. The order is made and answered, but its record
cannot be written: it waits in the middleware's backlog. The answer is
lost on its way (the test drops it). The store stays down past the lease,
then starts again, and the client resends at once, before the backlog
has written the record.

Before: the resend found the claim expired, took the key over and made a
second order (2 orders, every run). Now a claim outlives a restart of
the store's server by one lease, as it outlives Redis losing its keys:
the resend gets 409 in flight (with Retry-After) until the backlog has
written the record, then the replay of the first answer. One order.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.adapters.test_idempotency_middleware import Target, running
from tests.private_postgres import PrivatePostgres

pytestmark = pytest.mark.slow

TARGETS = [
    Target("asgi", "tests.apps.orders:plain_app", ""),
    Target("wsgi", "tests.adapters.orders_wsgi:plain_app", "", wsgi=True),
]
ORDER = {"item": "tea", "sleep": 1.0}


@pytest.fixture(params=TARGETS, ids=lambda t: t.name)
def instances(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Two instances of the API on one private PostgreSQL's keys: a client for each."""
    keys: PrivatePostgres = request.getfixturevalue("private_postgres")
    target: Target = request.param
    with (
        running(target, request, tmp_path_factory, ORDERS_STORE=keys.url) as first_url,
        running(target, request, tmp_path_factory, ORDERS_STORE=keys.url) as other,
        httpx.Client(base_url=first_url, timeout=30) as http,
        httpx.Client(base_url=other, timeout=30) as http_other,
    ):
        yield http, http_other


def test_a_resend_after_the_store_came_back_is_not_run_again(
    instances: tuple[httpx.Client, httpx.Client], private_postgres: PrivatePostgres
) -> None:
    http, http_other = instances
    for client in (http, http_other):
        client.post("/short-lease/orders", json={"item": "warm-up"})  # opens the pool
    counted = (http, http_other)
    before = sum(c.get("/short-lease/orders/count").json()["count"] for c in counted)
    key = str(uuid.uuid4())
    first: list[httpx.Response] = []
    sender = threading.Thread(
        target=lambda: first.append(
            http.post("/short-lease/orders", json=ORDER, headers={"Idempotency-Key": key})
        )
    )
    sender.start()
    time.sleep(0.4)  # claimed, and running
    private_postgres.stop()
    sender.join(10)
    assert first
    assert first[0].status_code == 201  # made; its answer is taken as lost
    time.sleep(1.5)  # the store stays down past the one-second lease
    private_postgres.start()
    # The resend reaches the other instance, which owes the store nothing.
    answers = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        resent = http_other.post(
            "/short-lease/orders", json=ORDER, headers={"Idempotency-Key": key}
        )
        answers.append(resent.status_code)
        if resent.status_code not in (409, 503):
            break
        time.sleep(0.05)
    made = sum(c.get("/short-lease/orders/count").json()["count"] for c in counted) - before
    assert made == 1, answers
    assert answers[-1] == 201, answers
    assert resent.headers.get("idempotent-replayed") == "true", answers
