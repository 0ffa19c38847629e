"""One path declared twice for GET and POST: v2 first, replacing v1 on purpose."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


async def v2(request: Request) -> Response:
    return PlainTextResponse("v2")


async def v1(request: Request) -> Response:
    return PlainTextResponse("v1")


app = Starlette(
    routes=[
        Route("/report", v2, methods=["GET", "POST"]),
        Route("/report", v1, methods=["GET", "POST"]),
    ]
)
