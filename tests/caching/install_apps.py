"""A counter served as the docs show with ``install(app)``, each view setting its own ETag.

No library helper makes the reads: Flask's view calls ``response.set_etag``,
Starlette's and FastAPI's answer ``Response(headers={"ETag": ...})``; the
writes are the one ``UPDATE ... WHERE version = ?`` of counter_apps.py.
``GET /counter`` answers ``{"count": n}``; ``PUT /counter`` with If-Match
writes the body's count. COUNTER_DATABASE is a SQLAlchemy URL. Run as
server processes (`tests.servers.start_app`).
"""

import json
from typing import Any

from httpconflict import Conditions
from tests.adapters.counter_apps import _engine, _read, _write


def create_flask() -> Any:
    from flask import Flask, jsonify

    from httpconflict.flask import install, json_body, request_conditions

    engine = _engine()
    app = Flask(__name__)
    install(app)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"ok": True}

    @app.get("/counter")
    def read() -> Any:
        count, etag = _read(engine)
        response = jsonify(count=count)
        response.set_etag(etag.strip('"'))
        return response

    @app.put("/counter")
    def write() -> Any:
        count = json_body()["count"]
        return {"count": count}, {"ETag": _write(engine, count, request_conditions())}

    return app


def _body(count: int) -> bytes:
    return json.dumps({"count": count}).encode()


def create_starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from httpconflict.starlette import install

    engine = _engine()

    def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    def read(request: Request) -> Response:
        count, etag = _read(engine)
        return Response(_body(count), media_type="application/json", headers={"ETag": etag})

    async def write(request: Request) -> Response:
        count = (await request.json())["count"]
        conditions = Conditions.from_headers(request.headers.getlist)
        etag = _write(engine, count, conditions)
        return Response(_body(count), media_type="application/json", headers={"ETag": etag})

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/counter", read, methods=["GET"]),
            Route("/counter", write, methods=["PUT"]),
        ]
    )
    install(app)
    return app


def create_fastapi() -> Any:
    # No `from __future__ import annotations` here: FastAPI reads the annotations as objects.
    from fastapi import FastAPI, Response

    from httpconflict.fastapi import Preconditions, install

    engine = _engine()
    app = FastAPI()
    install(app)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/counter")
    def read() -> Response:
        count, etag = _read(engine)
        return Response(_body(count), media_type="application/json", headers={"ETag": etag})

    @app.put("/counter")
    def write(body: dict[str, Any], conditions: Preconditions) -> Response:
        etag = _write(engine, body["count"], conditions)
        return Response(_body(body["count"]), media_type="application/json", headers={"ETag": etag})

    return app
