"""ASGI apps the adapter tests run under uvicorn (`tests.servers.start_app`).

- `conditional_app`: a bare ASGI app behind `ConditionalMiddleware` and
  `ProblemMiddleware`; each path answers 200 with other validators (see
  `RESOURCES`), /missing 404, /raise raises a 428, /busy sends a 503, /late
  raises after it began its answer;

The FastAPI app is in fastapi_notes.py.
"""

from __future__ import annotations

from typing import Any

from httpconflict import PreconditionRequired, Unavailable
from httpconflict.asgi import (
    ASGIApp,
    ConditionalMiddleware,
    ProblemMiddleware,
    Receive,
    Scope,
    Send,
    send_error,
)

LAST_MODIFIED = "Tue, 01 Dec 2026 12:00:00 GMT"

#: path -> the validators its 200 carries.
RESOURCES: dict[str, list[tuple[bytes, bytes]]] = {
    "/strong": [(b"etag", b'"v2"'), (b"last-modified", LAST_MODIFIED.encode())],
    "/weak": [(b"etag", b'W/"v2"')],
    "/dated": [(b"last-modified", LAST_MODIFIED.encode())],
    "/none": [],
}
#: Header fields every 200 carries besides its validators.
COMMON = [
    (b"content-type", b"text/plain"),
    (b"cache-control", b"max-age=60"),
    (b"vary", b"Accept-Encoding"),
    (b"content-location", b"/here"),
    (b"expires", b"Tue, 01 Dec 2026 13:00:00 GMT"),
    (b"set-cookie", b"session=secret"),
    (b"x-debug", b"kept only on 200"),
]
BODY = [b"first chunk, ", b"second chunk"]


def conditional_app() -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        if path == "/healthz":
            await _answer(send, 200, [], [b"ok"])
        elif path in RESOURCES:
            await _answer(send, 200, RESOURCES[path] + COMMON, BODY)
        elif path == "/raise":
            raise PreconditionRequired("send If-Match")
        elif path == "/busy":
            await send_error(scope, send, Unavailable("the database is busy", retry_after=3))
        elif path == "/late":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise PreconditionRequired("too late to answer with this")
        else:
            await _answer(send, 404, [(b"etag", b'"v2"')], [b"not here"])

    return ProblemMiddleware(ConditionalMiddleware(app))


async def _answer(send: Send, status: int, headers: Any, chunks: list[bytes]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    for number, chunk in enumerate(chunks, 1):
        more = number < len(chunks)
        await send({"type": "http.response.body", "body": chunk, "more_body": more})


def starlette_app() -> Any:
    """A plain Starlette app with `httpconflict.starlette.install`."""
    import sqlite3

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from httpconflict.starlette import install

    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE)")

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def write(request: Request) -> PlainTextResponse:
        raise PreconditionRequired("send If-Match")

    async def create(request: Request) -> PlainTextResponse:
        db.execute("INSERT INTO users (email) VALUES (?)", ((await request.body()).decode(),))
        return PlainTextResponse("created", status_code=201)

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/things/{id}", write, methods=["PUT"]),
            Route("/things/{id}", healthz, methods=["GET"]),
            Route("/users", create, methods=["POST"]),
        ]
    )
    install(app)
    return app
