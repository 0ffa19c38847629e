"""The orders API of tests/apps/orders.py as WSGI apps (plain, Flask) behind the WSGI middleware.

Same contract, same policy and store (from the environment), same `Orders`;
only the server interface differs. The WSGI middleware answers a store
error with its 503 problem itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from httpconflict.wsgi import IdempotencyMiddleware
from tests.apps.orders import Orders, policy, store

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def _middleware(app: WSGIApplication) -> IdempotencyMiddleware:
    return IdempotencyMiddleware(app, store=store(), policy=policy())


def _create(orders: Orders, order: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    time.sleep(orders.delay(order))  # in this request's thread
    return orders.create(order)


def plain_app() -> IdempotencyMiddleware:
    """The orders API as a bare WSGI callable."""
    orders = Orders()

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        headers = [("Content-Type", "application/json")]
        if environ["REQUEST_METHOD"] == "GET":
            status, payload = 200, {"count": orders.count}
        else:
            status, payload = _create(orders, json.loads(_body(environ)))
            if status == 201:
                headers.append(("Location", f"/orders/{payload['order']}"))
                headers.append(("Set-Cookie", "session=secret"))
        start_response(f"{status} X", headers)
        return [json.dumps(payload).encode()]

    return _middleware(app)


def _body(environ: WSGIEnvironment) -> bytes:
    """The body as a plain WSGI app reads it, trusting a read of Content-Length bytes."""
    length = environ.get("CONTENT_LENGTH")
    if length:
        return bytes(environ["wsgi.input"].read(int(length)))
    if environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
        return bytes(environ["wsgi.input"].read())
    return b""


def flask_app() -> Any:
    """The same API in Flask, the middleware around ``app.wsgi_app``."""
    from flask import Flask, request

    from httpconflict.flask import install

    app = Flask(__name__)
    install(app)  # a body cut short: 400 incomplete-body, as from the middleware
    orders = Orders()

    @app.post("/orders")
    def create() -> Any:
        status, payload = _create(orders, request.get_json())
        if status != 201:
            return payload, status
        location = f"/orders/{payload['order']}"
        response = app.make_response((payload, 201, {"Location": location}))
        response.set_cookie("session", "secret")
        return response

    @app.get("/orders/count")
    def count() -> dict[str, int]:
        return {"count": orders.count}

    app.wsgi_app = _middleware(app.wsgi_app)  # type: ignore[method-assign]  # Flask's way to add WSGI middleware
    return app
