"""IdempotencyMiddleware in front of a plain ASGI app and a FastAPI app, each a real server."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.problems import assert_problem
from tests.servers import start_app

APPS = ["tests.apps.orders:plain_app", "tests.apps.orders:fastapi_app"]
JSON = {"content-type": "application/json"}


@contextmanager
def serve(factory: str, tmp: pytest.TempPathFactory, **env: str) -> Iterator[httpx.Client]:
    """The app as a real server, and a client for it."""
    with (
        start_app(factory, tmp.mktemp("app"), env=env) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


@pytest.fixture(scope="module", params=APPS, ids=["plain-asgi", "fastapi"])
def orders(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    with serve(request.param, tmp_path_factory) as client:
        yield client


def count(http: httpx.Client) -> int:
    n: int = http.get("/orders/count").json()["count"]
    return n


def post(http: httpx.Client, body: bytes, key: str | None, **headers: str) -> httpx.Response:
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post("/orders", content=body, headers={**JSON, **headers})


def key() -> str:
    return f'"{uuid.uuid4()}"'


def test_retry_is_replayed(orders: httpx.Client) -> None:
    """A retry gets the first answer (status, body, Location), marked replayed, and runs nothing."""
    k = key()
    before = count(orders)
    first = post(orders, b'{"item": "tea"}', k)
    again = post(orders, b'{"item": "tea"}', k)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == "application/json"
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert count(orders) == before + 1


def test_replay_never_carries_set_cookie(orders: httpx.Client) -> None:
    """The first answer keeps its Set-Cookie; the replay drops it (not on the allow-list)."""
    k = key()
    first = post(orders, b'{"item": "tea"}', k)
    assert "set-cookie" in first.headers
    assert "set-cookie" not in post(orders, b'{"item": "tea"}', k).headers


def test_same_key_other_body_is_422(orders: httpx.Client) -> None:
    """A key reused for another request: 422 problem, nothing runs."""
    k = key()
    post(orders, b'{"item": "tea"}', k)
    before = count(orders)
    assert_problem(post(orders, b'{"item": "coffee"}', k), 422, "idempotency-key-reused")
    assert count(orders) == before


def test_keys_are_scoped_per_principal(orders: httpx.Client) -> None:
    """The same key from another caller (Authorization) is an independent request."""
    k = key()
    before = count(orders)
    alice = post(orders, b'{"item": "tea"}', k, Authorization="Bearer alice")
    bob = post(orders, b'{"item": "tea"}', k, Authorization="Bearer bob")
    assert alice.status_code == bob.status_code == 201
    assert "idempotent-replayed" not in bob.headers
    assert count(orders) == before + 2
    assert (
        post(orders, b'{"item": "tea"}', k, Authorization="Bearer bob").headers[
            "idempotent-replayed"
        ]
        == "true"
    )


def test_failure_releases_the_key(orders: httpx.Client) -> None:
    """When the app raises, the key is released: the retry runs, succeeds, and is recorded."""
    k = key()
    body = f'{{"item": "tea", "fail_once": "{uuid.uuid4()}"}}'.encode()
    before = count(orders)
    # The server closes a connection whose app raised: do not reuse it.
    failed = post(orders, body, k, Connection="close")
    assert failed.status_code == 500
    retry = post(orders, body, k)
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    assert post(orders, body, k).headers["idempotent-replayed"] == "true"
    assert count(orders) == before + 1


def test_server_errors_are_not_replayed_by_default(orders: httpx.Client) -> None:
    """A 5xx answer is not recorded: the retry runs again."""
    k = key()
    assert post(orders, b'{"status": 503}', k).status_code == 503
    retry = post(orders, b'{"status": 503}', k)
    assert retry.status_code == 503
    assert "idempotent-replayed" not in retry.headers


def test_requests_without_key_pass_through(orders: httpx.Client) -> None:
    """No key, key optional: every request runs."""
    before = count(orders)
    post(orders, b'{"item": "tea"}', None)
    post(orders, b'{"item": "tea"}', None)
    assert count(orders) == before + 2


BAD_KEYS = [
    pytest.param({"Idempotency-Key": '""'}, id="empty"),
    pytest.param({"Idempotency-Key": '"' + "k" * 256 + '"'}, id="over-255"),
    pytest.param({"Idempotency-Key": "a, b"}, id="a-list"),
    pytest.param({"Idempotency-Key": '"unterminated'}, id="malformed"),
]


@pytest.mark.parametrize("headers", BAD_KEYS)
def test_bad_keys_are_400_and_nothing_runs(orders: httpx.Client, headers: dict[str, str]) -> None:
    """A malformed key is a 400 problem naming the header; the app is not called."""
    before = count(orders)
    response = orders.post("/orders", content=b'{"item": "tea"}', headers={**JSON, **headers})
    assert assert_problem(response, 400, "malformed-header")["header"] == "Idempotency-Key"
    assert count(orders) == before


def test_two_key_headers_and_non_ascii_are_400(orders: httpx.Client) -> None:
    """Two Idempotency-Key fields, or bytes outside ASCII: 400, nothing runs."""
    before = count(orders)
    two = httpx.Headers(
        [
            (b"content-type", b"application/json"),
            (b"idempotency-key", b'"a"'),
            (b"idempotency-key", b'"b"'),
        ]
    )
    assert_problem(orders.post("/orders", content=b"{}", headers=two), 400, "malformed-header")
    raw = httpx.Headers(
        [(b"content-type", b"application/json"), (b"idempotency-key", b'"cl\xc3\xa9"')]
    )
    assert_problem(orders.post("/orders", content=b"{}", headers=raw), 400, "malformed-header")
    assert count(orders) == before


def test_duplicate_in_flight_is_409(orders: httpx.Client) -> None:
    """A duplicate sent while the first still runs gets 409 and Retry-After; one order is made."""
    k = key()
    before = count(orders)
    body = b'{"item": "tea", "sleep": 1}'

    def staggered(delay: float) -> httpx.Response:
        time.sleep(delay)
        return post(orders, body, k)

    # Both run within the first one's second of sleep; whichever claims the
    # key first makes the order, the other finds it in flight.
    with concurrent.futures.ThreadPoolExecutor() as pool:
        answers = list(pool.map(staggered, (0.0, 0.2)))
    created = [a for a in answers if a.status_code == 201]
    in_flight = [a for a in answers if a.status_code == 409]
    assert len(created) == len(in_flight) == 1, [a.text for a in answers]
    assert in_flight[0].headers["retry-after"] == "1"
    assert_problem(in_flight[0], 409, "idempotency-key-in-flight")
    assert count(orders) == before + 1


@pytest.mark.parametrize("factory", APPS, ids=["plain-asgi", "fastapi"])
def test_waiting_duplicate_gets_the_first_answer(
    factory: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With a wait policy, a duplicate in flight waits and gets the replay, not a 409."""
    with (
        serve(factory, tmp_path_factory, ORDERS_WAIT="5") as http,
        concurrent.futures.ThreadPoolExecutor() as pool,
    ):
        k = key()
        answers = list(pool.map(lambda _: post(http, b'{"sleep": 0.5}', k), range(5)))
        assert {a.status_code for a in answers} == {201}
        assert len({a.content for a in answers}) == 1
        assert sum("idempotent-replayed" in a.headers for a in answers) == 4
        assert count(http) == 1


@pytest.mark.parametrize("factory", APPS, ids=["plain-asgi", "fastapi"])
def test_required_key(factory: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Where a key is required, a request without one is a 400 problem and runs nothing."""
    with serve(factory, tmp_path_factory, ORDERS_REQUIRED="1") as http:
        assert_problem(post(http, b"{}", None), 400, "idempotency-key-missing")
        assert count(http) == 0
        assert post(http, b"{}", key()).status_code == 201


@pytest.mark.parametrize("factory", APPS, ids=["plain-asgi", "fastapi"])
def test_stored_server_errors_are_replayed(
    factory: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With store_server_errors, a 5xx is recorded and replayed like any answer."""
    with serve(factory, tmp_path_factory, ORDERS_STORE_5XX="1") as http:
        k = key()
        assert post(http, b'{"status": 503}', k).status_code == 503
        retry = post(http, b'{"status": 503}', k)
        assert retry.status_code == 503
        assert retry.headers["idempotent-replayed"] == "true"
