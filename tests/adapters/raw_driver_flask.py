"""The raw-driver orders app (raw_driver_apps.py) in Flask, under the WSGI middleware.

``POST /orders/failing`` commits an order through psycopg used directly,
then raises: Flask answers its own 500 (``install``'s handler) before the
middleware sees anything. The middleware's policy records every server
error (``store_server_errors=True``), keys in PostgreSQL (RAW_KEYS);
``GET /orders/count`` counts the orders (RAW_DATABASE). Served by
werkzeug's threaded server (tests/apps/wsgi.py).
"""

import os
from typing import Any

import psycopg
from flask import Flask, request

from httpconflict.flask import install
from httpconflict.storage.idempotency import idempotency_store
from httpconflict.storage.idempotency.blocking import BlockingIdempotencyStore
from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy

from .raw_driver_apps import FAILED, SCHEMA


def create() -> Any:
    database = os.environ["RAW_DATABASE"]
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(SCHEMA)
    app = Flask(__name__)
    install(app)

    @app.post("/orders/failing")
    def failing() -> Any:
        item = (request.get_json() or {})["item"]
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO raw_orders (mount, item) VALUES ('flask', %s)", (item,))
        raise RuntimeError(FAILED)

    @app.get("/orders/count")
    def count() -> Any:
        with psycopg.connect(database) as conn:
            row = conn.execute("SELECT count(*) FROM raw_orders WHERE mount = 'flask'").fetchone()
        return {"orders": row[0] if row else 0}

    keys = BlockingIdempotencyStore(idempotency_store(os.environ["RAW_KEYS"]))
    policy = IdempotencyPolicy(lease=5.0, store_server_errors=True)
    return IdempotencyMiddleware(app.wsgi_app, store=keys, policy=policy)
