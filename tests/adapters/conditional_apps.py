"""One small resource, served the way each adapter is meant to serve it (test_conditional_table.py).

Four paths, the same everywhere:

- /tagged: a 200 with ETag "v2" and Last-Modified NOON;
- /dated: a 200 with Last-Modified NOON only;
- /bare: a 200 without validators;
- /missing: a 404 (that carries ETag "v2" where the app sets its own
  headers, to show that even so its preconditions are ignored).

Middleware (ASGI, WSGI) sees the validators in the app's answer; the
others are given them before the body is built (FastAPI's ``check``) or
with it (Flask's ``conditional``). The Django apps are in
conditional_django.py, imported once Django's settings are configured.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from fastapi import FastAPI
from fastapi import Response as FastAPIResponse
from flask import Flask

from httpconflict import ETag, NotFound, Validators, format_http_date
from httpconflict.asgi import ASGIApp, ConditionalMiddleware, Receive, Scope, Send
from httpconflict.fastapi import Preconditions, install
from httpconflict.flask import conditional, conditional_response
from httpconflict.flask import install as install_flask
from httpconflict.wsgi import ConditionalMiddleware as WSGIConditionalMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ETAG: Final = ETag("v2")
NOON: Final = datetime(2026, 1, 1, 12, tzinfo=UTC)
#: name -> the validators of its 200; a name not here is a 404.
RESOURCES: Final[dict[str, Validators]] = {
    "tagged": Validators(ETAG, NOON),
    "dated": Validators(last_modified=NOON),
    "bare": Validators(),
}
BODY: Final = b'{"n": 1}'
JSON: Final = "application/json"


def validator_fields(current: Validators) -> list[tuple[str, str]]:
    """The ETag and Last-Modified fields a 200 carries."""
    fields = []
    if current.etag is not None:
        fields.append(("ETag", current.etag.to_header()))
    if current.last_modified is not None:
        fields.append(("Last-Modified", format_http_date(current.last_modified)))
    return fields


def answer(path: str) -> tuple[int, list[tuple[str, str]]]:
    """The status and header fields of the answer without preconditions."""
    current = RESOURCES.get(path.strip("/"))
    if current is None:
        return 404, [("Content-Type", JSON), ("ETag", ETAG.to_header())]
    return 200, [("Content-Type", JSON), *validator_fields(current)]


# --- ASGI: ConditionalMiddleware around a bare app ---------------------------------


async def _asgi_resource(scope: Scope, receive: Receive, send: Send) -> None:
    status, fields = answer(scope["path"])
    headers = [(n.lower().encode(), v.encode()) for n, v in fields]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


def asgi_app() -> ASGIApp:
    return ConditionalMiddleware(_asgi_resource)


# --- WSGI: ConditionalMiddleware around a bare app ---------------------------------


def _wsgi_resource(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    status, fields = answer(environ["PATH_INFO"])
    start_response(f"{status} {'OK' if status == 200 else 'Not Found'}", fields)
    return [BODY]


def wsgi_app() -> WSGIApplication:
    return WSGIConditionalMiddleware(_wsgi_resource)


# --- Flask: conditional_response(rv, etag=..., last_modified=...) ------------------


def flask_app() -> Flask:
    app = Flask(__name__)
    install_flask(app)

    @app.get("/<name>")
    def resource(name: str) -> Any:
        current = RESOURCES.get(name)
        if current is None:
            # The 404 goes through `conditional_response` too, with an ETag: it is ignored.
            return conditional_response(({"error": "not here"}, 404), etag=ETAG)
        return conditional_response(
            {"n": 1}, etag=current.etag, last_modified=current.last_modified
        )

    return app


# --- Flask: @conditional(validators), as Django's ----------------------------------


def flask_decorated_app() -> Flask:
    app = Flask(__name__)
    install_flask(app)

    @app.get("/<name>")
    @conditional(lambda name: RESOURCES.get(name))
    def resource(name: str) -> Any:
        if name not in RESOURCES:
            return {"error": "not here"}, 404
        return {"n": 1}

    return app


# --- FastAPI: install() and a route calling conditions.check(current) --------------


def fastapi_app(*, conditional_get: bool = True) -> FastAPI:
    """With `conditional_get=False`, `check` alone answers (no middleware behind it)."""
    app = FastAPI()
    install(app, conditional_get=conditional_get)

    @app.api_route("/{name}", methods=["GET", "HEAD"])
    def resource(name: str, conditions: Preconditions, response: FastAPIResponse) -> Any:
        current = RESOURCES.get(name)
        conditions.check(current)  # 304, 412, 400 before the body is built
        if current is None:
            raise NotFound(f"there is no {name}")
        for field, value in validator_fields(current):
            response.headers[field] = value
        return {"n": 1}

    return app
