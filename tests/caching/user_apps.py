"""A counter served as a user writes it from the docs, in FastAPI and in Flask.

Nothing here says anything of caching: the reads are the library's
conditional helpers (FastAPI's ``conditions.check`` with the ETag set on
the answer, Flask's ``@conditional``), the writes one ``UPDATE ... WHERE
version = ?`` (counter_apps.py's row). ``GET /counter`` answers
``{"count": n}`` and its ETag; ``PUT /counter`` with If-Match writes the
body's count. COUNTER_DATABASE is a SQLAlchemy URL. Run as server
processes (`tests.servers.start_app`); the Django project of the same
kind is tests/adapters/django_notes.py.
"""

from typing import Any

from httpconflict import ETag, Validators
from tests.adapters.counter_apps import _engine, _read, _write


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
    def read(conditions: Preconditions, response: Response) -> dict[str, int]:
        count, etag = _read(engine)
        conditions.check(Validators(ETag.parse(etag)))  # 304 or 412 before the body is built
        response.headers["ETag"] = etag
        return {"count": count}

    @app.put("/counter")
    def write(body: dict[str, Any], conditions: Preconditions, response: Response) -> Any:
        response.headers["ETag"] = _write(engine, body["count"], conditions)
        return {"count": body["count"]}

    return app


def create_flask() -> Any:
    from flask import Flask

    from httpconflict.flask import conditional, install, json_body, request_conditions

    engine = _engine()
    app = Flask(__name__)
    install(app)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"ok": True}

    @app.get("/counter")
    @conditional(lambda: Validators(ETag.parse(_read(engine)[1])))
    def read() -> Any:
        count, etag = _read(engine)
        return {"count": count}, {"ETag": etag}

    @app.put("/counter")
    def write() -> Any:
        count = json_body()["count"]
        return {"count": count}, {"ETag": _write(engine, count, request_conditions())}

    return app
