"""A plain WSGI app that commits an order, then raises, behind the WSGI idempotency middleware.

``POST /orders/failing`` inserts an order (SQLAlchemy, committed: the
middleware counts the commit) and raises, as an app's bug after its
commit would; ``GET /orders/count`` counts the orders. Keys are kept in
PostgreSQL (TWO_STEP_KEYS), apart from the orders (TWO_STEP_DATABASE, a
SQLAlchemy URL). Served by werkzeug's threaded server (tests/apps/wsgi.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, insert, select

import httpconflict.sqlalchemy  # noqa: F401  # its listeners count the app's commits
from httpconflict.storage.idempotency import idempotency_store
from httpconflict.storage.idempotency.blocking import BlockingIdempotencyStore
from httpconflict.wsgi import IdempotencyMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: What ``POST /orders/failing`` raises once its order is committed.
FAILED_AFTER_COMMIT = "the WSGI app failed after its order committed"

metadata = MetaData()
orders = Table(
    "two_step_wsgi_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item", String(64), nullable=False),
)


def create() -> WSGIApplication:
    engine = create_engine(os.environ["TWO_STEP_DATABASE"], pool_pre_ping=True)
    metadata.create_all(engine)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        route = (environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""))
        if route == ("GET", "/orders/count"):
            with engine.connect() as conn:
                count = conn.execute(select(func.count()).select_from(orders)).scalar_one()
            body = json.dumps({"orders": count}).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if route == ("POST", "/orders/failing"):
            item = json.loads(environ["wsgi.input"].read())["item"]
            with engine.begin() as conn:
                conn.execute(insert(orders).values(item=item))
            raise RuntimeError(FAILED_AFTER_COMMIT)
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]

    keys = BlockingIdempotencyStore(idempotency_store(os.environ["TWO_STEP_KEYS"]))
    return IdempotencyMiddleware(app, store=keys)
