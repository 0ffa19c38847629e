"""The WSGI IdempotencyMiddleware in real server processes, on every idempotency store.

The same behaviours tests/test_asgi_idempotency.py checks for ASGI, against
a plain WSGI app on the memory, SQLite, PostgreSQL and Redis stores, and a
Flask app with the middleware around ``app.wsgi_app`` (werkzeug's threaded
server: one thread per request, store calls on one private event loop).
"""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.problems import assert_problem
from tests.servers import start_app

JSON = {"content-type": "application/json"}
STORES = ["memory", "sqlite", "postgres", "redis"]
PLAIN = "tests.adapters.orders_wsgi:plain_app"
FLASK = "tests.adapters.orders_wsgi:flask_app"


def store_url(store: str, request: pytest.FixtureRequest, tmp: pytest.TempPathFactory) -> str:
    """Where the keys live; PostgreSQL in a fresh schema, Redis under fresh (uuid) keys."""
    if store == "sqlite":
        return str(tmp.mktemp("keys") / "keys.db")
    fixture = {"postgres": "postgres_module_schema", "redis": "redis_server"}.get(store)
    return "memory" if fixture is None else str(request.getfixturevalue(fixture))


@contextmanager
def serve(factory: str, tmp: pytest.TempPathFactory, **env: str) -> Iterator[httpx.Client]:
    """The app as a real server process, and a client for it."""
    with (
        start_app(factory, tmp.mktemp("app"), env=env, wsgi=True) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


@pytest.fixture(
    scope="module",
    params=[*((PLAIN, s) for s in STORES), (FLASK, "sqlite")],
    ids=[*(f"wsgi-{s}" for s in STORES), "flask-sqlite"],
)
def orders(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    factory, store = request.param
    url = store_url(store, request, tmp_path_factory)
    with serve(factory, tmp_path_factory, ORDERS_STORE=url) as client:
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


def test_same_key_other_url_is_422(orders: httpx.Client) -> None:
    """The target is part of the request: the same key and body on another URL is 422."""
    k = key()
    post(orders, b'{"item": "tea"}', k)
    other = orders.post(
        "/orders?copy=1", content=b'{"item": "tea"}', headers={**JSON, "Idempotency-Key": k}
    )
    assert_problem(other, 422, "idempotency-key-reused")


def test_keys_are_scoped_per_principal(orders: httpx.Client) -> None:
    """The same key from another caller (Authorization) is an independent request."""
    k = key()
    before = count(orders)
    alice = post(orders, b'{"item": "tea"}', k, Authorization="Bearer alice")
    bob = post(orders, b'{"item": "tea"}', k, Authorization="Bearer bob")
    assert alice.status_code == bob.status_code == 201
    assert "idempotent-replayed" not in bob.headers
    assert count(orders) == before + 2
    again = post(orders, b'{"item": "tea"}', k, Authorization="Bearer bob")
    assert again.headers["idempotent-replayed"] == "true"


def test_failure_releases_the_key(orders: httpx.Client) -> None:
    """When the app raises, the key is released: the retry runs, succeeds, and is recorded."""
    k = key()
    body = f'{{"item": "tea", "fail_once": "{uuid.uuid4()}"}}'.encode()
    before = count(orders)
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


def test_a_body_over_the_limit_is_413_and_nothing_runs(orders: httpx.Client) -> None:
    """The body is part of the fingerprint, so it is read whole: past max_body, a 413 problem."""
    before = count(orders)
    body = b'{"item": "' + b"x" * 2000 + b'"}'
    assert_problem(post(orders, body, key()), 413, "content-too-large")
    assert count(orders) == before


def test_duplicate_in_flight_is_409(orders: httpx.Client) -> None:
    """Two at once, each taking a second: one runs, the other gets 409 with Retry-After."""
    k = key()
    before = count(orders)
    with concurrent.futures.ThreadPoolExecutor() as pool:
        answers = list(pool.map(lambda _: post(orders, b'{"sleep": 1}', k), range(2)))
    answers.sort(key=lambda a: a.status_code)
    assert [a.status_code for a in answers] == [201, 409]
    assert "idempotent-replayed" not in answers[0].headers
    assert answers[1].headers["retry-after"] == "1"
    assert_problem(answers[1], 409, "idempotency-key-in-flight")
    assert count(orders) == before + 1


def test_fifty_concurrent_duplicates_run_the_handler_once(orders: httpx.Client) -> None:
    """50 identical keyed POSTs at once: one order; every answer is that 201 (replayed) or a 409."""
    k = key()
    before = count(orders)
    body = b'{"item": "tea", "sleep": 0.3}'
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda _: post(orders, body, k), range(50)))
    created = [a for a in answers if a.status_code == 201]
    assert {a.status_code for a in answers} <= {201, 409}
    assert sum("idempotent-replayed" not in a.headers for a in created) == 1
    assert len({a.content for a in created}) == 1
    assert count(orders) == before + 1
    assert post(orders, body, k).headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_waiting_duplicates_get_the_first_answer(
    store: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With a wait policy, duplicates in flight wait (in their own threads) and get the replay."""
    url = store_url(store, request, tmp_path_factory)
    with (
        serve(PLAIN, tmp_path_factory, ORDERS_STORE=url, ORDERS_WAIT="5") as http,
        concurrent.futures.ThreadPoolExecutor() as pool,
    ):
        k = key()
        answers = list(pool.map(lambda _: post(http, b'{"sleep": 0.5}', k), range(5)))
        assert {a.status_code for a in answers} == {201}
        assert len({a.content for a in answers}) == 1
        assert sum("idempotent-replayed" in a.headers for a in answers) == 4
        assert count(http) == 1


def test_required_key(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Where a key is required, a request without one is a 400 problem and runs nothing."""
    with serve(PLAIN, tmp_path_factory, ORDERS_REQUIRED="1") as http:
        assert_problem(post(http, b"{}", None), 400, "idempotency-key-missing")
        assert count(http) == 0
        assert post(http, b"{}", key()).status_code == 201


def test_stored_server_errors_are_replayed(tmp_path_factory: pytest.TempPathFactory) -> None:
    """With store_server_errors, a 5xx is recorded and replayed like any answer."""
    with serve(PLAIN, tmp_path_factory, ORDERS_STORE_5XX="1") as http:
        k = key()
        assert post(http, b'{"status": 503}', k).status_code == 503
        retry = post(http, b'{"status": 503}', k)
        assert retry.status_code == 503
        assert retry.headers["idempotent-replayed"] == "true"


def test_an_unreachable_store_is_503_and_nothing_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Redis refusing connections: a keyed POST is a 503 problem with Retry-After, not a 500."""
    from tests.servers import free_port

    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    with serve(PLAIN, tmp_path_factory, ORDERS_STORE=nowhere) as http:
        answer = post(http, b'{"item": "tea"}', key())
        assert_problem(answer, 503, "unavailable")
        assert answer.headers["retry-after"] == "1"
        assert count(http) == 0
        assert post(http, b'{"item": "tea"}', None).status_code == 201  # no key, no store
