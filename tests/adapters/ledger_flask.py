"""The Flask apps on `conflict_ledger`: a session committed in a teardown, after the view.

`teardown_app` is what sqlite_busy_flask.py and rolled_back_flask.py share:
an app under ``install``, its scoped session committed by
``teardown_appcontext`` (outside every error handler, after the view formed
its answer) and removed, keys in memory (the WSGI `IdempotencyMiddleware`
outside ``install``'s wrapper, as the docs show), and ``GET /healthz``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import scoped_session, sessionmaker

import httpconflict.sqlalchemy  # noqa: F401  # the hooks that count commits
from httpconflict.flask import install
from httpconflict.storage.idempotency.memory import MemoryIdempotencyStore
from httpconflict.wsgi import IdempotencyMiddleware


def teardown_app(engine: Engine) -> tuple[Flask, scoped_session[Any]]:
    """The app, and the session on `engine` its teardown commits."""
    db = scoped_session(sessionmaker(engine))
    app = Flask(__name__)
    install(app)
    app.wsgi_app = IdempotencyMiddleware(app.wsgi_app, store=MemoryIdempotencyStore())  # type: ignore[method-assign]

    @app.teardown_appcontext
    def commit_session(error: BaseException | None) -> None:
        try:
            if error is None:
                db.commit()
        finally:
            db.remove()

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app, db
