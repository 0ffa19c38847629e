"""IdempotencyMiddleware, ASGI and WSGI: a request whose body ends early runs nothing.

The orders API of tests/apps/orders.py and orders_fastapi.py (plain ASGI and FastAPI under
uvicorn) and of tests/adapters/orders_wsgi.py (plain WSGI and Flask under
werkzeug's threaded server), each counting the orders it made. Every app
gets the eight cut POSTs of tests/cut.py (Content-Length or chunked, closed
or half-closed) with a key and without; none may make an order. Then each
client's real retry, the whole body (framed as before, under the same key),
makes exactly one.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.cut import BODY, CUTS, send_cut, status_of
from tests.servers import start_app

#: Long enough for a server to have run a cut request it wrongly took for whole.
SETTLE = 0.3


@dataclass(frozen=True)
class App:
    name: str
    factory: str
    wsgi: bool = False


APPS = [
    App("plain-asgi", "tests.apps.orders:plain_app"),
    App("fastapi", "tests.apps.orders_fastapi:fastapi_app"),
    App("plain-wsgi", "tests.adapters.orders_wsgi:plain_app", wsgi=True),
    App("flask", "tests.adapters.orders_wsgi:flask_app", wsgi=True),
]


@pytest.fixture(params=APPS, ids=lambda a: a.name)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[App, str]]:
    """Each app as a real server process on the memory store, and its URL."""
    each: App = request.param
    with start_app(each.factory, tmp_path, env={"ORDERS_STORE": "memory"}, wsgi=each.wsgi) as url:
        yield each, url


def count(http: httpx.Client) -> int:
    n: int = http.get("/orders/count").json()["count"]
    return n


def test_cut_bodies_run_nothing_and_whole_retries_run_once(app: tuple[App, str]) -> None:
    """No cut POST makes an order, keyed or not; each whole retry makes one (201, not replayed)."""
    target, url = app
    requests = []
    answered = {}
    for cut in CUTS:
        for keyed in (True, False):
            headers = {"Content-Type": "application/json"}
            if keyed:
                headers["Idempotency-Key"] = f'"{uuid.uuid4()}"'
            answer = send_cut(url, "POST", "/orders", headers, cut)
            if cut.ending == "half-close":
                answered[f"{cut}-{'keyed' if keyed else 'unkeyed'}"] = status_of(answer), answer
            requests.append((cut, headers))
    time.sleep(SETTLE)
    with httpx.Client(base_url=url, timeout=10) as http:
        assert count(http) == 0
        retries = [
            http.post(
                "/orders",
                content=BODY if cut.framing == "length" else iter([BODY]),  # iter: chunked
                headers=headers,
            )
            for cut, headers in requests
        ]
        assert [(r.status_code, r.headers.get("idempotent-replayed")) for r in retries] == [
            (201, None)
        ] * len(requests)
        assert count(http) == len(requests)
    # A client that only half-closed can still read: WSGI has to answer
    # (400 incomplete-body), ASGI answers nobody.
    for status, answer in answered.values():
        if target.wsgi:
            assert status == 400
            assert b"/problems/incomplete-body" in answer
        else:
            assert status is None


def test_a_declared_length_past_the_limit_is_413_before_the_body(app: tuple[App, str]) -> None:
    """Content-Length 999,999,999 with a key, 12 bytes sent: 413 at once, no order (the ASGI
    middleware waited for the rest of the body, for ever)."""
    _, url = app
    address = httpx.URL(url)
    head = (
        f"POST /orders HTTP/1.1\r\nHost: {address.host}\r\nContent-Type: application/json\r\n"
        f'Idempotency-Key: "{uuid.uuid4()}"\r\nContent-Length: 999999999\r\n\r\n'
    )
    with socket.create_connection((address.host, address.port), timeout=5) as sock:
        sock.sendall(head.encode() + b'{"item": "a"')
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
    with httpx.Client(base_url=url, timeout=10) as http:
        assert count(http) == 0
