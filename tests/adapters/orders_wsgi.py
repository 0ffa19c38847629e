"""The orders API of tests/apps/orders.py as WSGI apps (plain, Flask) behind the WSGI middleware.

POST /orders creates an order (counted in memory, under a lock) and
answers 201 with Location and a Set-Cookie; the body steers the test
cases: {"fail": true} raises, {"fail_once": id} raises the first time only,
{"status": 503} answers 503, {"sleep": s} takes s seconds first.
GET /orders/count says how many orders were created. From the environment:
ORDERS_STORE (``memory``, a SQLite path, ``postgresql://``, ``redis://``),
ORDERS_WAIT, ORDERS_REQUIRED, ORDERS_STORE_5XX.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from httpconflict.storage.idempotency import idempotency_store
from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def _policy() -> IdempotencyPolicy:
    return IdempotencyPolicy(
        wait=float(os.environ.get("ORDERS_WAIT", "0")),
        required=os.environ.get("ORDERS_REQUIRED") == "1",
        store_server_errors=os.environ.get("ORDERS_STORE_5XX") == "1",
        lease=5,
        retention=120,  # keys left in a shared Redis vanish soon after the run
        max_body=1024,
    )


def _middleware(app: WSGIApplication) -> IdempotencyMiddleware:
    store = idempotency_store(os.environ.get("ORDERS_STORE", "memory"))
    return IdempotencyMiddleware(app, store=store, policy=_policy())


class Orders:
    def __init__(self) -> None:
        self.count = 0
        self.failed_once: set[str] = set()
        self.lock = threading.Lock()

    def create(self, order: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        time.sleep(float(order.get("sleep", 0)))
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


def plain_app() -> IdempotencyMiddleware:
    """The orders API as a bare WSGI callable."""
    orders = Orders()

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "GET":
            status, payload, extra = 200, {"count": orders.count}, []
        else:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            status, payload = orders.create(json.loads(environ["wsgi.input"].read(length)))
            extra = [("Location", f"/orders/{orders.count}"), ("Set-Cookie", "session=secret")]
        body = json.dumps(payload).encode()
        start_response(f"{status} X", [("Content-Type", "application/json"), *extra])
        return [body]

    return _middleware(app)


def flask_app() -> Any:
    """The same API in Flask, the middleware around ``app.wsgi_app``."""
    from flask import Flask, request

    app = Flask(__name__)
    orders = Orders()

    @app.post("/orders")
    def create() -> Any:
        status, payload = orders.create(request.get_json())
        if status != 201:
            return payload, status
        response = app.make_response((payload, 201, {"Location": f"/orders/{orders.count}"}))
        response.set_cookie("session", "secret")
        return response

    @app.get("/orders/count")
    def count() -> dict[str, int]:
        return {"count": orders.count}

    app.wsgi_app = _middleware(app.wsgi_app)  # type: ignore[method-assign]  # Flask's way to add WSGI middleware
    return app
