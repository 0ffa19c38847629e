"""A read whose app says its own Cache-Control, or says nothing, served by each adapter.

``/own``: a 200 with ETag "v2", ``Cache-Control: private, max-age=5`` and the
other fields a 304 repeats (Vary, Content-Location, Date, Expires).
``/plain``: a 200 with ETag "v2" only. Each app is built with the
adapter's ``cache_control`` choice (`DEFAULT`: the library's).
Middleware (ASGI, WSGI, FastAPI's `install`, Flask's
`conditional_response`, Django's `ConditionalGetMiddleware`) sees the
answer's fields; the decorators (Flask's and Django's `conditional`,
FastAPI's ``check``, REST framework's mixin) make their 304 before the
view, so an app with its own Cache-Control names it to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

from fastapi import FastAPI
from fastapi import Response as FastAPIResponse
from flask import Flask

from httpconflict import ETag, Validators
from httpconflict._read_caching import REVALIDATE
from httpconflict.asgi import ASGIApp, ConditionalMiddleware, Receive, Scope, Send
from httpconflict.fastapi import Preconditions, install
from httpconflict.flask import conditional, conditional_response
from httpconflict.wsgi import ConditionalMiddleware as WSGIConditionalMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ETAG: Final = ETag("v2")
OWN: Final = "private, max-age=5"
#: The fields of /own's 200 that its 304 repeats (RFC 9110 §15.4.5).
OWN_FIELDS: Final = {
    "ETag": '"v2"',
    "Cache-Control": OWN,
    "Vary": "Accept",
    "Content-Location": "/own.json",
    "Date": "Thu, 01 Jan 2026 12:00:00 GMT",
    "Expires": "Thu, 01 Jan 2026 12:00:05 GMT",
}
#: A marker for "the adapter's default" (not passed at all).
DEFAULT: Final = "default"


def fields_of(path: str) -> dict[str, str]:
    """The header fields of the app's 200 for `path` (besides Content-Type)."""
    return dict(OWN_FIELDS) if path.strip("/") == "own" else {"ETag": '"v2"'}


def chosen(cache_control: str | None) -> dict[str, Any]:
    """The keyword arguments that pass `cache_control` to an adapter (none for `DEFAULT`)."""
    return {} if cache_control == DEFAULT else {"cache_control": cache_control}


def asgi_app(cache_control: str | None) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(n.lower().encode(), v.encode()) for n, v in fields_of(scope["path"]).items()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    return ConditionalMiddleware(app, **chosen(cache_control))


def wsgi_app(cache_control: str | None) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", list(fields_of(environ["PATH_INFO"]).items()))
        return [b"{}"]

    return WSGIConditionalMiddleware(app, **chosen(cache_control))


def flask_app(cache_control: str | None) -> Flask:
    app = Flask(__name__)

    @app.get("/<name>")
    def read(name: str) -> Any:
        return conditional_response(({}, fields_of(name)), **chosen(cache_control))

    return app


def flask_decorated_app(cache_control: str | None) -> Flask:
    app = Flask(__name__)

    @app.get("/<name>")
    @conditional(lambda name: Validators(ETAG), **chosen(cache_control))
    def read(name: str) -> Any:
        return {}, fields_of(name)

    return app


def fastapi_app(cache_control: str | None, *, checked: bool = False) -> FastAPI:
    """`install`'s middleware decides (``read_cache_control``); `checked`: ``check`` alone."""
    app = FastAPI()
    caching = REVALIDATE if cache_control == DEFAULT else cache_control
    install(app, conditional_get=not checked, read_cache_control=caching)

    @app.get("/{name}")
    def read(name: str, conditions: Preconditions, response: FastAPIResponse) -> Any:
        fields = fields_of(name)
        if checked:
            # Said before `check`, so that its 304 repeats them; the ETag is `check`'s.
            response.headers.update({f: v for f, v in fields.items() if f != "ETag"})
            conditions.check(Validators(ETAG))
        response.headers.update(fields)
        return {}

    return app
