"""A Flask app whose order commits in one SQLite file, then its ledger in another.

Run as a server process (``start_app("tests.adapters.flask_two_step:create_app",
..., wsgi=True)``). ``TWO_STEP_DIR`` holds ``orders.db`` and ``ledger.db``
(SQLAlchemy, a 0.2 s busy timeout); the test locks the ledger
(``BEGIN EXCLUSIVE``), so the second write gives up after the order
committed. `install(app)` answers the outage; there is no idempotency
middleware: what the client is told is the outage's answer alone.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import create_engine, text

from httpconflict.flask import install
from httpconflict.sqlalchemy import version_etag  # noqa: F401  # its import adds the commit hooks


def create_app() -> Any:
    directory = os.environ["TWO_STEP_DIR"]
    orders = create_engine(f"sqlite:///{directory}/orders.db", connect_args={"timeout": 0.2})
    ledger = create_engine(f"sqlite:///{directory}/ledger.db", connect_args={"timeout": 0.2})
    with orders.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, item TEXT)"))
    with ledger.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS ledger (n INTEGER)"))
    app = Flask(__name__)
    install(app)

    @app.get("/orders")
    def count() -> Any:
        with orders.connect() as conn:
            return jsonify(orders=conn.execute(text("SELECT count(*) FROM orders")).scalar_one())

    @app.post("/orders")
    def create() -> Any:
        with orders.begin() as conn:
            conn.execute(text("INSERT INTO orders (item) VALUES ('tea')"))
        with ledger.begin() as conn:
            conn.execute(text("INSERT INTO ledger (n) VALUES (1)"))
        return jsonify(ok=True), 201

    return app
