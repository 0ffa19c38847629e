"""A Flask app with a bug, `install(app)` and the WSGI `IdempotencyMiddleware` (pages on).

Run as a server process (``start_app("tests.adapters.flask_server_error_app:create", ...,
wsgi=True)``); ``SERVER_ERROR_DATABASE`` is a SQLite file for the writes, and
``SERVER_ERROR_MODE=own`` registers a 500 handler of the app's own.

- ``POST /boom``: counts the attempt, then raises with `SECRET` in the error's text;
- ``POST /commit-then-boom``: commits a row (SQLAlchemy), then raises;
- ``GET /counts``: ``{"attempts": n, "rows": n}``;
- ``GET /healthz``.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, func, insert, select

import httpconflict.sqlalchemy  # noqa: F401  # on import, its engine events watch the commits
from httpconflict.flask import install
from httpconflict.storage.idempotency.memory import MemoryIdempotencyStore
from httpconflict.wsgi import IdempotencyMiddleware
from tests.adapters.server_errors import OWN, SECRET, metadata, rows


def create() -> Flask:
    engine = create_engine(f"sqlite:///{os.environ['SERVER_ERROR_DATABASE']}")
    metadata.create_all(engine)
    attempts = [0]
    app = Flask(__name__)
    if os.environ.get("SERVER_ERROR_MODE") == "own":

        @app.errorhandler(500)
        def own(_error: Exception) -> Any:
            return OWN, 500, {"X-Own": "1"}

    install(app)

    @app.post("/boom")
    def boom() -> str:
        attempts[0] += 1
        raise RuntimeError(f"a bug, with a secret in its text: {SECRET}")

    @app.post("/commit-then-boom")
    def commit_then_boom() -> str:
        with engine.begin() as connection:
            connection.execute(insert(rows).values(note="committed"))
        raise RuntimeError(f"a bug after the commit: {SECRET}")

    @app.get("/counts")
    def counts() -> dict[str, int]:
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(rows)).scalar_one()
        return {"attempts": attempts[0], "rows": stored}

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    app.wsgi_app = IdempotencyMiddleware(app.wsgi_app, store=MemoryIdempotencyStore())  # type: ignore[method-assign]
    return app
