"""A Starlette app with known problems (the comments say which)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route


async def get_user(request: Request) -> Response:
    return PlainTextResponse("user")


async def get_me(request: Request) -> Response:
    return PlainTextResponse("me")


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


async def health_v2(request: Request) -> Response:
    return PlainTextResponse("ok too")


async def page(request: Request) -> Response:
    return PlainTextResponse("page")


async def page_head(request: Request) -> Response:
    return Response()


async def api_users(request: Request) -> Response:
    return PlainTextResponse("users")


async def api_extra(request: Request) -> Response:
    return PlainTextResponse("extra")


async def api_v2_users(request: Request) -> Response:
    return PlainTextResponse("v2 users")


async def docs_page(request: Request) -> Response:
    return PlainTextResponse("docs")


async def docs_index(request: Request) -> Response:
    return PlainTextResponse("index")


app = Starlette(
    routes=[
        # shadowed: {user_id} (str) takes "me"
        Route("/users/{user_id}", get_user),
        Route("/users/me", get_me),
        # duplicate
        Route("/health", health),
        Route("/health", health_v2),
        # duplicate: Route answers HEAD with the GET route, the HEAD route is never reached
        Route("/page", page),
        Route("/page", page_head, methods=["HEAD"]),
        # mount-overlap: the mount takes all of /api/..., even paths none of its routes match
        Mount("/api", routes=[Route("/users", api_users)]),
        Route("/api/extra", api_extra),
        Mount("/api/v2", routes=[Route("/users", api_v2_users)]),
        # shadowed: a catch-all
        Route("/docs/{rest:path}", docs_page),
        Route("/docs/index", docs_index),
    ]
)
