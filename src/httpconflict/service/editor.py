"""The web editor: GET / and its scripts, style sheet and icon, static files from ``web/``.

The page (docs/editor.md) is plain HTML, JavaScript and CSS with no build
step; it talks to the service only through the documented HTTP API. The
files are read once, at the first request, and served with a strong ETag
(answered 304, 412 or 400 as the core's `read_decision` decides) and a Content-Security-Policy that
allows nothing but this origin, so the page cannot load anything from
another network. The routes are not in /openapi.json: they are a client
of the API, not part of it.

The icon is ``favicon.svg`` (linked from the page) and, at /favicon.ico where
browsers and other clients look without a link, ``favicon.ico``: the same
drawing rendered at 16, 32 and 48 px as PNGs in an ICO file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import ETag, NotFound
from .caching import ICON, REVALIDATE, not_modified

WEB: Final = Path(__file__).parent / "web"
# name -> media type; anything else under /editor/ is a 404.
FILES: Final = {
    "index.html": "text/html; charset=utf-8",
    "json.js": "text/javascript; charset=utf-8",
    "answers.js": "text/javascript; charset=utf-8",
    "auth.js": "text/javascript; charset=utf-8",
    "feed.js": "text/javascript; charset=utf-8",
    "editor.js": "text/javascript; charset=utf-8",
    "kept.js": "text/javascript; charset=utf-8",
    "alive.js": "text/javascript; charset=utf-8",
    "live.js": "text/javascript; charset=utf-8",
    "fields.js": "text/javascript; charset=utf-8",
    "version.js": "text/javascript; charset=utf-8",
    "conflicts.js": "text/javascript; charset=utf-8",
    "browse.js": "text/javascript; charset=utf-8",
    "recreate.js": "text/javascript; charset=utf-8",
    "editor.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
    "favicon.ico": "image/vnd.microsoft.icon",
}
SECURITY: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@cache
def _read(name: str) -> tuple[bytes, ETag]:
    body = (WEB / name).read_bytes()
    return body, ETag.from_content(body)


def _serve(request: Request, name: str, cache_control: str = REVALIDATE) -> Response:
    body, etag = _read(name)
    headers = {**SECURITY, "ETag": etag.to_header(), "Cache-Control": cache_control}
    if (answer := not_modified(request, headers)) is not None:
        return answer
    return Response(body, media_type=FILES[name], headers=headers)


async def index(request: Request) -> Response:
    """GET /: the editor page."""
    return _serve(request, "index.html")


async def asset(request: Request) -> Response:
    """GET /editor/{name}: the page's script, style sheet or icon."""
    name = request.path_params["name"]
    if name not in FILES or name in ("index.html", "favicon.ico"):
        raise NotFound(f"no editor file {name!r}")
    return _serve(request, name, ICON if name.startswith("favicon.") else REVALIDATE)


async def favicon(request: Request) -> Response:
    """GET /favicon.ico: the icon, where clients look for it without a link."""
    return _serve(request, "favicon.ico", ICON)


ROUTES: Final = [
    Route("/", index, methods=["GET"]),
    Route("/editor/{name}", asset, methods=["GET"]),
    Route("/favicon.ico", favicon, methods=["GET"]),
]
