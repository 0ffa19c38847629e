"""A Starlette app whose routes look alike but are all served: nothing to report."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Host, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket


async def text(request: Request) -> Response:
    return PlainTextResponse(request.url.path)


async def socket(websocket: WebSocket) -> None:
    await websocket.close()


class Fallback(HTTPEndpoint):
    """Every other method on /settings/{name}: a 405 of its own."""

    async def delete(self, request: Request) -> Response:
        return PlainTextResponse("not allowed", status_code=405)


app = Starlette(
    routes=[
        # int, float and uuid cannot match a word
        Route("/users/{user_id:int}", text),
        Route("/users/me", text),
        Route("/prices/{amount:float}", text),
        Route("/prices/latest", text),
        Route("/orders/{order_id:uuid}", text),
        Route("/orders/latest", text),
        # different methods, and HEAD that Starlette added to GET
        Route("/things", text, methods=["GET"]),
        Route("/things", text, methods=["POST"]),
        # a route for every method after the method routes: the fallback
        Route("/settings/{name}", text, methods=["GET", "PUT"]),
        Route("/settings/{name}", Fallback),
        # a websocket and an HTTP route on one path
        WebSocketRoute("/live", socket),
        Route("/live", text),
        # a host-limited route does not take other hosts' requests
        Host("api.example.com", app=Starlette(routes=[Route("/status", text)])),
        Route("/status", text),
        # the literal route before the mount; the longer mount before the shorter
        Route("/static/version", text),
        Mount("/static/v2", routes=[Route("/app.js", text)]),
        Mount("/static", routes=[Route("/app.js", text)]),
        # a partial overlap: only some of /tags/{name} are ints
        Route("/tags/{tag_id:int}", text),
        Route("/tags/{name}", text),
        # a catch-all after the routes it would take
        Route("/files/index", text),
        Route("/files/{rest:path}", text),
    ]
)
