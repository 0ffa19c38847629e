"""A small orders API behind IdempotencyMiddleware: plain ASGI here, FastAPI and WSGI beside.

Every version (tests/adapters/orders_wsgi.py has the plain WSGI and Flask
ones, tests/apps/orders_fastapi.py the FastAPI one) keeps one contract, checked
by tests/adapters/test_idempotency_middleware.py:
POST /orders creates an order (counted in memory) and answers 201 with
Location and a Set-Cookie; the body steers the test cases: {"fail": true}
raises, {"fail_once": id} raises the first time only, {"status": 503}
answers 503, {"sleep": s} takes s seconds first. GET /orders/count says how
many orders were created, and how many creates are still running (a test
waits for those before it counts). /orders/counter is a pure counter: GET answers
``{"n": n}`` and its ETag, PUT or PATCH ``{"n": ...}`` with If-Match writes
it (412 stale, 428 without If-Match). A store error is a 503 problem. The
store is ORDERS_STORE's (``memory``, a SQLite path, ``postgresql://``,
``redis://``).

One server serves the API under several path prefixes side by side
(`POLICIES`), each with a middleware of its own and orders of its own:
/orders with the default policy, /waiting/orders waiting for duplicates in
flight, /required/orders requiring a key, /stored-5xx/orders recording 5xx
answers, /short-lease/orders with a one-second lease, /cookie-session/orders
knowing callers by their "session" cookie, and, when
ORDERS_UNREACHABLE names a store that refuses connections,
/unreachable/orders on that store. A test that needs the
middleware configured otherwise asks its prefix instead of starting a
server of its own: a server start costs more CPU than such a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import threading
from collections.abc import Iterator
from typing import Any, Final

from httpconflict import Conditions, ETag, Unavailable, Validators, evaluate
from httpconflict.asgi import (
    ASGIApp,
    IdempotencyMiddleware,
    IdempotencyPolicy,
    ProblemMiddleware,
    Receive,
    Scope,
    Send,
    cookie_principal,
)
from httpconflict.storage.idempotency import IdempotencyStore, idempotency_store

#: The policy under /orders; keys left in a shared Redis vanish soon after the run.
DEFAULT_POLICY: Final = IdempotencyPolicy(lease=5, retention=120, max_body=1024)
#: The path prefixes one server serves side by side, and how each one's policy
#: differs from the default.
POLICIES: Final[dict[str, dict[str, Any]]] = {
    "": {},
    "/waiting": {"wait": 5.0},
    "/required": {"required": True},
    "/stored-5xx": {"store_server_errors": True},
    "/short-lease": {"lease": 1.0},
    "/cookie-session": {"principal": cookie_principal("session")},
}
#: The prefix whose store is ORDERS_UNREACHABLE's, with the default policy.
UNREACHABLE: Final = "/unreachable"
#: The pure counter's path after the prefix.
COUNTER: Final = "/orders/counter"


def policy(prefix: str) -> IdempotencyPolicy:
    """The policy every version takes under `prefix`."""
    return dataclasses.replace(DEFAULT_POLICY, **POLICIES.get(prefix, {}))


def stores() -> dict[str, IdempotencyStore]:
    """Each prefix's store: ORDERS_STORE's, one for all, and ORDERS_UNREACHABLE's if named."""
    keys = idempotency_store(os.environ.get("ORDERS_STORE", "memory"))
    chosen = dict.fromkeys(POLICIES, keys)
    unreachable = os.environ.get("ORDERS_UNREACHABLE")
    if unreachable:
        chosen[UNREACHABLE] = idempotency_store(unreachable)
    return chosen


def prefix_of(path: str) -> str | None:
    """The prefix a request path is under (``/waiting/orders/count``: ``/waiting``)."""
    at = path.find("/orders")
    return None if at < 0 else path[:at]


class Orders:
    """The orders made; `create` decides the answer, after the caller slept `delay(order)`."""

    def __init__(self) -> None:
        self.count = 0
        #: Creates begun and not yet ended (`making`).
        self.running = 0
        self.failed_once: set[str] = set()
        self.lock = threading.Lock()  # WSGI servers create orders from many threads
        self.n = 0
        self.version = 1

    @staticmethod
    def delay(order: dict[str, Any]) -> float:
        return float(order.get("sleep", 0))

    @contextlib.contextmanager
    def making(self) -> Iterator[None]:
        """Counted as running while the block (a create, its delay included) runs."""
        with self.lock:
            self.running += 1
        try:
            yield
        finally:
            with self.lock:
                self.running -= 1

    def tally(self) -> dict[str, int]:
        """The body of GET /orders/count: orders made, and creates still running."""
        with self.lock:
            return {"count": self.count, "running": self.running}

    def create(self, order: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The status and body of the answer (201: an order was made)."""
        if order.get("fail"):
            raise RuntimeError("the order service failed")
        with self.lock:
            once = order.get("fail_once")
            if once is not None and once not in self.failed_once:
                self.failed_once.add(once)
                raise RuntimeError("the order service failed, this once")
            if "status" in order:
                return int(order["status"]), {"error": "unavailable"}
            self.count += 1
            return 201, {"order": self.count, **order}

    def counter(self, method: str, if_match: str | None, body: bytes) -> tuple[int, Any, str]:
        """GET, or PUT or PATCH ``{"n": ...}`` with If-Match, of the counter: status, body, ETag."""
        with self.lock:
            if method != "GET":
                conditions = Conditions.from_headers({"if-match": if_match} if if_match else {})
                current = Validators(ETag(str(self.version)))
                decision = evaluate(method, conditions, current, require_precondition=True)
                if decision.status is not None:
                    return decision.status, {"error": decision.value}, f'"{self.version}"'
                self.n = int(json.loads(body)["n"])
                self.version += 1
            return 200, {"n": self.n}, f'"{self.version}"'


async def _open(keys: IdempotencyStore) -> None:
    # As under WSGI, an unreachable store does not stop the server: keyed
    # requests answer 503 until it is back.
    with contextlib.suppress(Unavailable):
        await keys.open()


def side_by_side(apps: dict[str, ASGIApp], keys: dict[str, IdempotencyStore]) -> ASGIApp:
    """One ASGI app passing each request to its prefix's app; it opens and closes the stores."""
    distinct = list({id(store): store for store in keys.values()}.values())

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await receive()  # lifespan.startup
            for store in distinct:
                await _open(store)
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            for store in distinct:
                await store.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        prefix = prefix_of(scope["path"])
        chosen = None if prefix is None else apps.get(prefix)
        if chosen is None:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await chosen(scope, receive, send)

    return app


def plain_app() -> ASGIApp:
    """The orders API as bare ASGI callables, errors answered by ProblemMiddleware."""
    keys = stores()
    return side_by_side(
        {
            prefix: ProblemMiddleware(
                IdempotencyMiddleware(_plain_orders(), store=store, policy=policy(prefix))
            )
            for prefix, store in keys.items()
        },
        keys,
    )


def _plain_orders() -> ASGIApp:
    orders = Orders()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json")]
        body = b""
        while scope["method"] != "GET":
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the body ended early: run nothing, and nobody to answer
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"].endswith(COUNTER):
            if_match = dict(scope["headers"]).get(b"if-match")
            got = None if if_match is None else if_match.decode("latin-1")
            status, payload, etag = orders.counter(scope["method"], got, body)
            headers.append((b"etag", etag.encode()))
        elif scope["method"] == "GET":
            status, payload = 200, orders.tally()
        else:
            order = json.loads(body)
            with orders.making():
                await asyncio.sleep(orders.delay(order))
                status, payload = orders.create(order)
            if status == 201:
                headers.append((b"location", f"/orders/{payload['order']}".encode()))
                headers.append((b"set-cookie", b"session=secret"))
        content = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return app
