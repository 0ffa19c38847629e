"""IdempotencyMiddleware, ASGI and WSGI, in real server processes: one suite, every target.

The targets are the orders API of tests/apps/orders.py (plain ASGI and
FastAPI under uvicorn, memory store) and of tests/adapters/orders_wsgi.py
(plain WSGI on the memory, SQLite, PostgreSQL and Redis stores, and Flask
with the middleware around ``app.wsgi_app``, under werkzeug's threaded
server: one thread per request, store calls on one private event loop).
Every test runs on every target, whose one server process the module's
tests share, each under keys of its own. A test that needs the middleware
configured otherwise (a wait, a required key, stored 5xx, an unreachable
store) asks that server under the prefix serving it so (tests/apps/orders.py:
POLICIES), with orders of its own; only a test that stops a store starts a
server of its own.
"""

from __future__ import annotations

import concurrent.futures
import functools
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import httpx
import pytest

from tests.private_redis import PrivateRedis, end_quarantine
from tests.problems import assert_problem
from tests.servers import start_app

JSON = {"content-type": "application/json"}
PLAIN_WSGI = "tests.adapters.orders_wsgi:plain_app"


@dataclass(frozen=True)
class Target:
    """An app factory ("module:function") on an idempotency store."""

    name: str
    factory: str
    store: str
    wsgi: bool = False


TARGETS = [
    Target("plain-asgi", "tests.apps.orders:plain_app", "memory"),
    Target("fastapi", "tests.apps.orders_fastapi:fastapi_app", "memory"),
    *(Target(f"wsgi-{s}", PLAIN_WSGI, s, wsgi=True) for s in ("memory", "sqlite", "postgres")),
    Target("wsgi-redis", PLAIN_WSGI, "redis", wsgi=True),
    Target("flask-sqlite", "tests.adapters.orders_wsgi:flask_app", "sqlite", wsgi=True),
]


def store_url(store: str, request: pytest.FixtureRequest, tmp: pytest.TempPathFactory) -> str:
    """Where the keys live; PostgreSQL in a fresh schema, Redis under fresh (uuid) keys."""
    if store == "sqlite":
        return str(tmp.mktemp("keys") / "keys.db")
    fixture = {"postgres": "postgres_module_schema", "redis": "redis_server"}.get(store)
    return "memory" if fixture is None else str(request.getfixturevalue(fixture))


@contextmanager
def running(
    target: Target, request: pytest.FixtureRequest, tmp: pytest.TempPathFactory, **env: str
) -> Iterator[str]:
    """The target as a real server process, and its URL (`env` configures the app)."""
    env.setdefault("ORDERS_STORE", store_url(target.store, request, tmp))
    with start_app(target.factory, tmp.mktemp("app"), env=env, wsgi=target.wsgi) as url:
        yield url


@contextmanager
def serve(
    target: Target, request: pytest.FixtureRequest, tmp: pytest.TempPathFactory, **env: str
) -> Iterator[httpx.Client]:
    """The target as a real server process, and a client for it."""
    with (
        running(target, request, tmp, **env) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


@pytest.fixture(scope="module", params=TARGETS, ids=lambda t: t.name)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Each target in turn, its server shared by the module's tests; /unreachable's store refuses.

    The refusing store is a Redis URL naming a port bound by a socket that
    never listens: no server can take the port while the module runs.
    """
    with socket.socket() as refusing:
        refusing.bind(("127.0.0.1", 0))
        port = refusing.getsockname()[1]
        unreachable = f"redis://127.0.0.1:{port}/0"
        with running(
            request.param, request, tmp_path_factory, ORDERS_UNREACHABLE=unreachable
        ) as url:
            yield url


@pytest.fixture(scope="module")
def orders(server: str) -> Iterator[httpx.Client]:
    """A client of each target in turn, under the default policy."""
    with httpx.Client(base_url=server, timeout=10) as client:
        yield client


def under(server: str, prefix: str) -> httpx.Client:
    """A client of the server's orders under `prefix`, whose middleware is configured otherwise."""
    return httpx.Client(base_url=server + prefix, timeout=10)


#: Starts a server of its own, its app configured by keyword (``ORDERS_STORE=url``).
Start = Callable[..., AbstractContextManager[httpx.Client]]


@pytest.fixture(params=TARGETS, ids=lambda t: t.name)
def target(request: pytest.FixtureRequest) -> Target:
    """The target of a test that `start`s a server of its own (parametrized by the test)."""
    each: Target = request.param
    return each


@pytest.fixture
def start(
    target: Target, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Start:
    return functools.partial(serve, target, request, tmp_path_factory)


def count(http: httpx.Client) -> int:
    n: int = http.get("/orders/count").json()["count"]
    return n


def post(http: httpx.Client, body: bytes, key: str | None, **headers: str) -> httpx.Response:
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post("/orders", content=body, headers={**JSON, **headers})


def key() -> str:
    return f'"{uuid.uuid4()}"'


#: Seconds a client goes on sending a request the server refused with 503 (nothing applied).
RETRY_WITHIN = 30.0


def post_as_a_client(
    http: httpx.Client, body: bytes, key: str, refusals: list[httpx.Response] | None = None
) -> httpx.Response:
    """The keyed POST, sent again after each 503 once its Retry-After has passed; the answer.

    A 503 `unavailable` promises that nothing was applied (its store had no
    free connection within its wait, on a loaded machine): a client sends
    the same request, same key, again later. Any other answer is final.
    Each 503 is appended to `refusals`.
    """
    deadline = time.monotonic() + RETRY_WITHIN
    while (answer := post(http, body, key)).status_code == 503:
        assert_problem(answer, 503, "unavailable")
        if refusals is not None:
            refusals.append(answer)
        wait = float(answer.headers["retry-after"])
        assert time.monotonic() + wait < deadline, answer.text
        time.sleep(wait)
    return answer


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


def test_the_counter_is_written_with_if_match(orders: httpx.Client) -> None:
    """/orders/counter: its ETag written back is 200, stale 412, none 428; a keyed retry replays."""
    read = orders.get("/orders/counter")
    n, etag = read.json()["n"], read.headers["etag"]
    k = key()
    written = orders.put(
        "/orders/counter",
        json={"n": n + 1},
        headers={"If-Match": etag, "Idempotency-Key": k},
    )
    assert (written.status_code, written.json()) == (200, {"n": n + 1})
    again = orders.put(
        "/orders/counter",
        json={"n": n + 1},
        headers={"If-Match": etag, "Idempotency-Key": k},
    )
    assert again.headers["idempotent-replayed"] == "true"
    stale = orders.patch("/orders/counter", json={"n": n + 2}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert orders.put("/orders/counter", json={"n": n + 2}).status_code == 428
    assert orders.get("/orders/counter").json() == {"n": n + 1}


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
    before = count(orders)
    other = orders.post(
        "/orders?copy=1", content=b'{"item": "tea"}', headers={**JSON, "Idempotency-Key": k}
    )
    assert_problem(other, 422, "idempotency-key-reused")
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
    again = post(orders, b'{"item": "tea"}', k, Authorization="Bearer bob")
    assert again.headers["idempotent-replayed"] == "true"


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
    assert post(orders, b'{"item": "tea"}', None).status_code == 201
    assert post(orders, b'{"item": "tea"}', None).status_code == 201
    assert count(orders) == before + 2


def raw_post(server: str, method: str, idempotency_key: str) -> bytes:
    """A POST sent with `method` spelled as given (httpx would upper-case it); the whole answer."""
    host, port = server.removeprefix("http://").split(":")
    body = b'{"item": "tea"}'
    head = (
        f"{method} /orders HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Idempotency-Key: {idempotency_key}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head.encode() + body)
        return b"".join(iter(lambda: connection.recv(65536), b""))


def test_a_method_in_lower_case_is_keyed_as_the_app_reads_it(
    server: str, orders: httpx.Client
) -> None:
    """`post`, then `Post`, with one key: werkzeug reads both as POST; the order is made once.

    uvicorn on httptools refuses a method not in upper case (400, the app not
    called); on h11 it passes it on, and Starlette's routing (FastAPI's) reads
    `post` as no method it routes (405): either way nothing is made at all.
    """
    k = key()
    before = count(orders)
    first = raw_post(server, "post", k)
    retry = raw_post(server, "Post", k)
    made = count(orders) - before
    if first.startswith(b"HTTP/1.1 400"):
        assert made == 0
        return
    if first.startswith(b"HTTP/1.1 405"):
        assert retry.startswith(b"HTTP/1.1 405"), retry[:300]
        assert made == 0
        return
    assert first.startswith(b"HTTP/1.1 201"), first[:300]
    assert retry.startswith(b"HTTP/1.1 201"), retry[:300]
    assert b"idempotent-replayed: true" in retry.lower()
    assert made == 1


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
    """A duplicate sent while the first still runs gets 409 and Retry-After; one order is made."""
    k = key()
    before = count(orders)

    def staggered(delay: float) -> httpx.Response:
        time.sleep(delay)
        return post(orders, b'{"item": "tea", "sleep": 1}', k)

    # Both run within the first one's second of sleep; whichever claims the
    # key first makes the order, the other finds it in flight.
    with concurrent.futures.ThreadPoolExecutor() as pool:
        answers = sorted(pool.map(staggered, (0.0, 0.2)), key=lambda a: a.status_code)
    assert [a.status_code for a in answers] == [201, 409], [a.text for a in answers]
    assert "idempotent-replayed" not in answers[0].headers
    assert answers[1].headers["retry-after"] == "1"
    assert_problem(answers[1], 409, "idempotency-key-in-flight")
    assert count(orders) == before + 1


def test_fifty_concurrent_duplicates_run_the_handler_once(orders: httpx.Client) -> None:
    """50 identical keyed POSTs at once, a 503 sent again: one order; each answer its 201 or 409."""
    k = key()
    before = count(orders)
    body = b'{"item": "tea", "sleep": 0.3}'
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda _: post_as_a_client(orders, body, k), range(50)))
    created = [a for a in answers if a.status_code == 201]
    assert {a.status_code for a in answers} <= {201, 409}
    assert sum("idempotent-replayed" not in a.headers for a in created) == 1
    assert len({a.content for a in created}) == 1
    assert count(orders) == before + 1
    assert post(orders, body, k).headers["idempotent-replayed"] == "true"


def test_waiting_duplicates_get_the_first_answer(server: str) -> None:
    """With a wait policy, duplicates in flight wait and get the replay, not a 409."""
    with (
        under(server, "/waiting") as http,
        concurrent.futures.ThreadPoolExecutor() as pool,
    ):
        k = key()
        answers = list(pool.map(lambda _: post(http, b'{"sleep": 0.5}', k), range(5)))
        assert {a.status_code for a in answers} == {201}
        assert len({a.content for a in answers}) == 1
        assert sum("idempotent-replayed" in a.headers for a in answers) == 4
        assert count(http) == 1


def test_required_key(server: str) -> None:
    """Where a key is required, a request without one is a 400 problem and runs nothing."""
    with under(server, "/required") as http:
        assert_problem(post(http, b"{}", None), 400, "idempotency-key-missing")
        assert count(http) == 0
        assert post(http, b"{}", key()).status_code == 201
        assert count(http) == 1


def test_stored_server_errors_are_replayed(server: str) -> None:
    """With store_server_errors, a 5xx is recorded and replayed like any answer."""
    with under(server, "/stored-5xx") as http:
        k = key()
        assert post(http, b'{"status": 503}', k).status_code == 503
        retry = post(http, b'{"status": 503}', k)
        assert retry.status_code == 503
        assert retry.headers["idempotent-replayed"] == "true"


def test_an_unreachable_store_is_503_and_nothing_runs(server: str) -> None:
    """Redis refusing connections: a keyed POST is a 503 problem with Retry-After, not a 500.

    The store is the unreachable one whatever the target's (each app's
    server serves it too). The middleware answers the 503 itself, ASGI
    and WSGI alike.
    """
    with under(server, "/unreachable") as http:
        answer = post(http, b'{"item": "tea"}', key())
        assert_problem(answer, 503, "unavailable")
        assert answer.headers["retry-after"] == "1"
        assert count(http) == 0
        assert post(http, b'{"item": "tea"}', None).status_code == 201  # no key, no store
        assert count(http) == 1


#: One ASGI and one WSGI app, their keys in the test's private Redis.
ON_PRIVATE_REDIS = [t for t in TARGETS if t.name in ("plain-asgi", "wsgi-redis")]


@pytest.mark.slow
@pytest.mark.parametrize("target", ON_PRIVATE_REDIS, ids=lambda t: t.name)
def test_an_answer_the_store_missed_is_sent_then_recorded(
    start: Start, private_redis: PrivateRedis
) -> None:
    """Redis stops mid-request: the 201 goes out, is recorded once Redis is back, and replayed."""
    end_quarantine(private_redis.url)  # a brand-new Redis
    with (
        start(ORDERS_STORE=private_redis.url) as http,
        concurrent.futures.ThreadPoolExecutor() as pool,
    ):
        k, body = key(), b'{"item": "tea", "sleep": 1}'
        first = pool.submit(post, http, body, k)
        time.sleep(0.5)  # claimed; the app sleeps
        private_redis.stop()
        created = first.result()
        assert created.status_code == 201, created.text
        private_redis.start()  # without persistence: every key is gone
        deadline = time.monotonic() + 15
        while (retry := post(http, body, k)).status_code == 503:
            # The store quarantines new keys until the answer owed is recorded.
            assert time.monotonic() < deadline, retry.text
            time.sleep(0.2)
        assert retry.status_code == 201, retry.text
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.content == created.content
        assert count(http) == 1


@pytest.mark.slow
@pytest.mark.parametrize("target", ON_PRIVATE_REDIS, ids=lambda t: t.name)
def test_a_retry_after_redis_lost_its_keys_waits_for_the_request_running(
    start: Start, private_redis: PrivateRedis
) -> None:
    """Redis restarts empty under a running request; its retry waits (503, or 409 once the
    request's renewal claimed its key again), then gets its 201."""
    end_quarantine(private_redis.url)  # a brand-new Redis
    with start(ORDERS_STORE=private_redis.url) as http:
        k, body = key(), b'{"item": "tea", "sleep": 2}'
        with pytest.raises(httpx.ReadTimeout):  # the client gives up; the order goes on
            http.post("/orders", content=body, headers={**JSON, "Idempotency-Key": k}, timeout=0.5)
        private_redis.stop()
        private_redis.start()  # without persistence: the running request's claim is gone
        refusals = 0
        deadline = time.monotonic() + 15
        while (retry := post(http, body, k)).status_code in (409, 503):
            # Without the quarantine this retry would find the key absent and run.
            if retry.status_code == 503:
                assert_problem(retry, 503, "unavailable")
            else:
                assert_problem(retry, 409, "idempotency-key-in-flight")
            refusals += 1
            assert time.monotonic() < deadline, retry.text
            time.sleep(0.2)
        assert refusals > 0
        assert retry.status_code == 201, retry.text
        assert retry.headers["idempotent-replayed"] == "true"
        assert count(http) == 1


def test_callers_known_by_a_session_cookie_have_keys_of_their_own(server: str) -> None:
    """Two browsers signed in by session cookies, one key, one body: under the default
    principal both are "anonymous", and the second is replayed the first's order (its own
    never made); under cookie_principal("session") each gets an order of its own, and each
    one's retry is replayed its own."""
    key, order = {"Idempotency-Key": str(uuid.uuid4())}, {"item": "tea"}
    made = []
    for prefix, separate in (("", False), ("/cookie-session", True)):
        with under(server, prefix) as http:
            before = http.get("/orders/count").json()["count"]
            first, second = (
                http.post("/orders", json=order, headers={**key, "Cookie": f"session={who}"})
                for who in ("alice", "bob")
            )
            assert first.status_code == second.status_code == 201, second.text
            assert (second.headers.get("idempotent-replayed") != "true") is separate
            again = http.post("/orders", json=order, headers={**key, "Cookie": "session=bob"})
            assert again.headers.get("idempotent-replayed") == "true"
            assert again.json() == second.json()
            made.append(http.get("/orders/count").json()["count"] - before)
    assert made == [1, 2]
