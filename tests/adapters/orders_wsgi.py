"""The orders API of tests/apps/orders.py as WSGI apps (plain, Flask) behind the WSGI middleware.

Same contract, same policies, prefixes and stores (from the environment),
same `Orders`; only the server interface differs. The WSGI middleware
answers a store error with its 503 problem itself. The middlewares of one
store share one `BlockingIdempotencyStore` (one loop thread).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from httpconflict.storage.idempotency.blocking import BlockingIdempotencyStore
from httpconflict.wsgi import IdempotencyMiddleware
from tests.apps.orders import COUNTER, Orders, policy, prefix_of, stores

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


#: Builds the app of a prefix, its middleware on the given store included.
Build = Callable[[str, BlockingIdempotencyStore], "WSGIApplication"]


def side_by_side(build: Build) -> WSGIApplication:
    """One WSGI app passing each request to the app `build` made for its prefix."""
    keys = stores()
    blocking = {id(s): BlockingIdempotencyStore(s) for s in keys.values()}
    apps = {prefix: build(prefix, blocking[id(s)]) for prefix, s in keys.items()}

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        prefix = prefix_of(environ.get("PATH_INFO", ""))
        chosen = None if prefix is None else apps.get(prefix)
        if chosen is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        return chosen(environ, start_response)

    return app


def _middleware(
    app: WSGIApplication, prefix: str, keys: BlockingIdempotencyStore
) -> IdempotencyMiddleware:
    return IdempotencyMiddleware(app, store=keys, policy=policy(prefix))


def _create(orders: Orders, order: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with orders.making():
        time.sleep(orders.delay(order))  # in this request's thread
        return orders.create(order)


def plain_app() -> WSGIApplication:
    """The orders API as bare WSGI callables."""
    return side_by_side(lambda prefix, keys: _middleware(_plain_orders(), prefix, keys))


def _plain_orders() -> WSGIApplication:
    orders = Orders()

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        headers = [("Content-Type", "application/json")]
        method = environ["REQUEST_METHOD"]
        if environ.get("PATH_INFO", "").endswith(COUNTER):
            if_match = environ.get("HTTP_IF_MATCH")
            status, payload, etag = orders.counter(method, if_match, _body(environ))
            headers.append(("ETag", etag))
        elif method == "GET":
            status, payload = 200, orders.tally()
        else:
            status, payload = _create(orders, json.loads(_body(environ)))
            if status == 201:
                headers.append(("Location", f"/orders/{payload['order']}"))
                headers.append(("Set-Cookie", "session=secret"))
        start_response(f"{status} X", headers)
        return [json.dumps(payload).encode()]

    return app


def _body(environ: WSGIEnvironment) -> bytes:
    """The body as a plain WSGI app reads it, trusting a read of Content-Length bytes."""
    length = environ.get("CONTENT_LENGTH")
    if length:
        return bytes(environ["wsgi.input"].read(int(length)))
    if environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
        return bytes(environ["wsgi.input"].read())
    return b""


def flask_app() -> WSGIApplication:
    """The same API in Flask apps, one a prefix, the middleware around each ``app.wsgi_app``."""
    return side_by_side(_flask_orders)


def _flask_orders(prefix: str, keys: BlockingIdempotencyStore) -> WSGIApplication:
    from flask import Flask, request

    from httpconflict.flask import install

    app = Flask(__name__)
    install(app)  # a body cut short: 400 incomplete-body, as from the middleware
    orders = Orders()

    @app.post(f"{prefix}/orders")
    def create() -> Any:
        status, payload = _create(orders, request.get_json())
        if status != 201:
            return payload, status
        location = f"/orders/{payload['order']}"
        response = app.make_response((payload, 201, {"Location": location}))
        response.set_cookie("session", "secret")
        return response

    @app.get(f"{prefix}/orders/count")
    def count() -> dict[str, int]:
        return orders.tally()

    @app.route(f"{prefix}{COUNTER}", methods=["GET", "PUT", "PATCH"])
    def counter() -> Any:
        if_match = request.headers.get("If-Match")
        status, payload, etag = orders.counter(request.method, if_match, request.get_data())
        return payload, status, {"ETag": etag}

    app.wsgi_app = _middleware(app.wsgi_app, prefix, keys)  # type: ignore[method-assign]  # Flask's way to add WSGI middleware
    wsgi: WSGIApplication = app
    return wsgi
