"""Starlette and FastAPI apps with a bug, `install(app)` and an `IdempotencyMiddleware`.

Run as a server process (``start_app("tests.adapters.server_error_apps:create", ...)``).
``SERVER_ERROR_FRAMEWORK`` is ``starlette`` or ``fastapi``; ``SERVER_ERROR_MODE`` is
``keys`` (the middleware, making pages for a browser), ``debug`` (the same app with
``debug=True``) or ``own`` (the app registered a 500 handler of its own before
`install`); ``SERVER_ERROR_DATABASE`` is a SQLite file for the writes.

- ``POST /boom``: counts the attempt, then raises with `SECRET` in the error's text;
- ``POST /commit-then-boom``: commits a row (SQLAlchemy), then raises;
- ``POST /answer-then-boom``: answers 201, then its background task raises;
- ``GET /counts``: ``{"attempts": n, "rows": n}``;
- ``GET /healthz``.
"""

import os
from typing import Any

from sqlalchemy import create_engine, func, insert, select
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

import httpconflict.sqlalchemy  # noqa: F401  # on import, its engine events watch the commits
from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy
from httpconflict.storage.idempotency.memory import MemoryIdempotencyStore
from tests.adapters.server_errors import OWN, SECRET, metadata, rows


def create() -> Any:
    framework = os.environ["SERVER_ERROR_FRAMEWORK"]
    mode = os.environ["SERVER_ERROR_MODE"]
    engine = create_engine(f"sqlite:///{os.environ['SERVER_ERROR_DATABASE']}")
    metadata.create_all(engine)
    attempts = [0]

    async def boom(request: Request) -> Response:
        await request.body()
        attempts[0] += 1
        raise RuntimeError(f"a bug, with a secret in its text: {SECRET}")

    def commit_then_boom(request: Request) -> Response:
        with engine.begin() as connection:
            connection.execute(insert(rows).values(note="committed"))
        raise RuntimeError(f"a bug after the commit: {SECRET}")

    def answer_then_boom(request: Request) -> Response:
        def notify() -> None:
            raise RuntimeError(f"a bug in a background task: {SECRET}")

        return JSONResponse({"id": 1}, status_code=201, background=BackgroundTask(notify))

    def counts(request: Request) -> Response:
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(rows)).scalar_one()
        return JSONResponse({"attempts": attempts[0], "rows": stored})

    def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def own(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(OWN, status_code=500, headers={"X-Own": "1"})

    routes: list[BaseRoute] = [
        Route("/boom", boom, methods=["POST"]),
        Route("/commit-then-boom", commit_then_boom, methods=["POST"]),
        Route("/answer-then-boom", answer_then_boom, methods=["POST"]),
        Route("/counts", counts),
        Route("/healthz", healthz),
    ]
    handlers: Any = {500: own} if mode == "own" else None
    debug = mode == "debug"
    app: Any
    if framework == "fastapi":
        from fastapi import FastAPI

        from httpconflict.fastapi import install as install_fastapi

        app = FastAPI(routes=routes, debug=debug, exception_handlers=handlers)
        install_fastapi(app)
    else:
        from starlette.applications import Starlette

        from httpconflict.starlette import install

        app = Starlette(routes=routes, debug=debug, exception_handlers=handlers)
        install(app)
    keys = MemoryIdempotencyStore()
    app.add_middleware(IdempotencyMiddleware, store=keys, policy=IdempotencyPolicy())
    return app
