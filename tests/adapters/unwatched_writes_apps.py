"""Apps that send a write where no request is watched, then serve requests (HC_DB: the database).

``asgi_app``: a FastAPI app (``install``) whose factory inserts a row first,
as an app's startup does (``create_all``, a seed), before uvicorn serves it.
``wsgi_app``: Flask (``install``) under the WSGI key middleware, with a
middleware between them that inserts an audit row once the app answered a
request without a key: after Flask's watch, so it is sent unwatched, on
the thread that serves the next request. Both: ``POST /orders`` (a SELECT, then
an INSERT, committed), ``GET /healthz``.
"""

# (No `from __future__ import annotations`: FastAPI reads the views' annotations.)
import os
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from flask import Flask
from sqlalchemy import Engine, create_engine, text

import httpconflict.sqlalchemy  # noqa: F401  # the hooks that watch statements
from httpconflict.asgi.idempotency import IdempotencyMiddleware as AsgiKeys
from httpconflict.fastapi import install as install_fastapi
from httpconflict.flask import install as install_flask
from httpconflict.storage.idempotency import idempotency_store
from httpconflict.wsgi import IdempotencyMiddleware as WsgiKeys


def _engine() -> Engine:
    url = os.environ["HC_DB"].replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, pool_size=1, max_overflow=0)


def _create(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM orders"))
        conn.execute(text("INSERT INTO orders (n) VALUES (1)"))
        conn.commit()


def asgi_app() -> FastAPI:
    engine = _engine()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit (what) VALUES ('started')"))
    app = FastAPI()
    install_fastapi(app)
    app.add_middleware(AsgiKeys, store=idempotency_store("memory"))

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.post("/orders", status_code=201)
    def create() -> dict[str, bool]:
        _create(engine)
        return {"created": True}

    return app


def _wsgi_app() -> Any:
    engine = _engine()
    app = Flask(__name__)
    install_flask(app)

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.post("/orders")
    def create() -> Any:
        _create(engine)
        return {"created": True}, 201

    flask_app = app.wsgi_app

    def audited(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        answer = flask_app(environ, start_response)
        if "HTTP_IDEMPOTENCY_KEY" in environ:
            return answer  # (the audit row of a keyed request would be the key's to record)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit (what) VALUES ('answered')"))
        return answer

    return WsgiKeys(audited, store=idempotency_store("memory"))


application = _wsgi_app() if os.environ.get("HC_WSGI") else None
