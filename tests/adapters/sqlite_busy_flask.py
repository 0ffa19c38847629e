"""A Flask app on `conflict_ledger`'s orders whose COMMIT in a teardown SQLite may have applied.

- ``POST /twice``: one order committed in the view, then a reader (another
  connection of this process) holds the file for 0.5 s, and a second order
  is committed by the teardown: busy, after a commit of the request's.
- ``POST /big``: an order of 1.5 MB, committed by the teardown past the
  process's file size limit (``SQLITE_FILE_LIMIT`` bytes, set at start):
  SQLite's I/O error at COMMIT, which may have written the file.

The session's pages stay in memory until COMMIT (a 10 MB cache). Keys: the
WSGI `IdempotencyMiddleware` (in memory: ledger_flask.py). Served by ``create`` from
``CONFLICT_DATABASE`` (the file) and ``CONFLICT_SQLITE_BUSY_TIMEOUT``.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import threading
import time
from typing import Any

from flask import Flask, request
from sqlalchemy import create_engine, event, text

from tests.adapters.conflict_ledger import LAST_NUMBER, Order, engine_arguments
from tests.adapters.ledger_flask import teardown_app


def _read_for(path: str, seconds: float) -> None:
    """Hold the file's read lock for `seconds` from another connection (returns once held)."""
    held = threading.Event()

    def read() -> None:
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM conflict_orders").fetchall()
        held.set()
        time.sleep(seconds)
        reader.execute("COMMIT")
        reader.close()

    threading.Thread(target=read, daemon=True).start()
    held.wait()


def create() -> Flask:
    path = os.environ["CONFLICT_DATABASE"]
    limit = os.environ.get("SQLITE_FILE_LIMIT")
    if limit is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
    address, options = engine_arguments(path)
    engine = create_engine(address, **options)

    @event.listens_for(engine, "connect")
    def big_cache(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA cache_size = -10000")

    app, db = teardown_app(engine)

    def _order(key: str) -> int:
        number = int(db.scalar(text(LAST_NUMBER)) or 0) + 1
        db.add(Order(number=number, request_key=key))
        return number

    @app.post("/twice")
    def post_twice() -> tuple[dict[str, int], int]:
        key = request.headers["Idempotency-Key"]
        _order(key)
        db.commit()
        _read_for(path, 0.5)
        return {"number": _order(key)}, 201

    @app.post("/big")
    def post_big() -> tuple[dict[str, int], int]:
        key = request.headers["Idempotency-Key"]
        number = int(db.scalar(text(LAST_NUMBER)) or 0) + 1
        db.add(Order(number=number, request_key=key + "x" * 1_500_000))
        return {"number": number}, 201

    return app
