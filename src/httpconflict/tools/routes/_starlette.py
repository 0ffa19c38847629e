"""Starlette's and FastAPI's routes in the model.

Starlette's Router tries its routes in list order and takes the first
that matches the path and the method, so a route's rank is its place in
the flattened list. A Mount is itself a route for every method, on
``prefix/{path:path}`` (what Starlette compiles for it): it matches every
path under its prefix even when none of its own routes does, and the
routes it holds follow it, prefixed, inside it. A Host limits what it
holds to its host. Route adds HEAD to GET itself; FastAPI's APIRoute does
not, and records what the OpenAPI document shows (``include_in_schema``,
under ``path_format``, in the document of the app that holds it).
"""

from __future__ import annotations

import re
import sys
from typing import Any, Final

from ._converters import converter
from ._definitions import definition_of
from ._model import ANY, Definition, Methods, Param, Pattern, Piece, Route, RouteTable
from ._patterns import segments_of

# starlette.routing.PARAM_REGEX
_PARAM: Final = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?}")


def load_starlette(app: Any) -> RouteTable:
    """The routes of a Starlette or FastAPI app (or router), in the order Starlette tries them."""
    framework = "fastapi" if _is_fastapi(app) else "starlette"
    builder = _Builder()
    document = "" if framework == "fastapi" else None
    builder.walk(app.routes, prefix="", host=None, inside=frozenset(), document=document)
    router = getattr(app, "router", app)
    later = getattr(router, "_iter_low_priority_routes", None)
    if later is not None and any(True for _ in later()):
        builder.notes.append("FastAPI's low-priority (frontend) routes are not analysed")
    return RouteTable(framework, tuple(builder.routes), tuple(builder.notes))


class _Builder:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.notes: list[str] = []

    def walk(
        self,
        routes: list[Any],
        prefix: str,
        host: str | None,
        inside: frozenset[int],
        document: str | None,
        mounted_at: str | None = None,
    ) -> None:
        """Add `routes` under `prefix`; `document` keys the OpenAPI document
        that shows them (None: a plain Starlette app or router, none does)."""
        from starlette.routing import Host, Mount, Route, WebSocketRoute

        api_route = _fastapi_api_route()
        for kind, route in _flattened(routes):
            if isinstance(kind, Mount | Host):
                path = prefix + route.path if isinstance(kind, Mount) else prefix
                limited = route.host if isinstance(kind, Host) else host
                app = getattr(route, "_base_app", route.app)
                index = self._add(
                    path + "/{path:path}",
                    host=limited,
                    methods=ANY,
                    definition=definition_of(app, route.name),
                    mount=True,
                    inside=inside,
                    mounted_at=mounted_at,
                )
                holder = _holder(app)
                if holder is not None:
                    # A mounted FastAPI app has an OpenAPI document of its own.
                    own = f"{index}|" if _is_fastapi(holder) else None
                    self.walk(holder.routes, path, limited, inside | {index}, own, path)
            elif isinstance(kind, WebSocketRoute):
                self._add(
                    prefix + route.path,
                    host=host,
                    methods=frozenset({"WEBSOCKET"}),
                    definition=definition_of(route.endpoint, route.name),
                    inside=inside,
                    mounted_at=mounted_at,
                )
            elif isinstance(kind, Route):
                methods: Methods = ANY if route.methods is None else frozenset(route.methods)
                is_api = api_route is not None and isinstance(kind, api_route)
                implicit = (
                    frozenset({"HEAD"})
                    if methods and "GET" in methods and not is_api
                    else frozenset()
                )
                documented = is_api and route.include_in_schema and document is not None
                self._add(
                    prefix + route.path,
                    host=host,
                    methods=methods,
                    implicit=implicit,
                    definition=definition_of(route.endpoint, route.name),
                    inside=inside,
                    openapi=f"{document}{route.path_format}" if documented else None,
                    mounted_at=mounted_at,
                )
            else:
                self.notes.append(
                    f"{type(kind).__qualname__} under {prefix or '/'!r} is not analysed"
                )

    def _add(
        self,
        path: str,
        *,
        host: str | None,
        methods: Methods,
        definition: Definition,
        inside: frozenset[int],
        implicit: frozenset[str] = frozenset(),
        mount: bool = False,
        openapi: str | None = None,
        mounted_at: str | None = None,
    ) -> int:
        index = len(self.routes)
        self.routes.append(
            Route(
                index=index,
                rank=index,
                pattern=_pattern(path, host),
                methods=methods,
                definition=definition,
                implicit=implicit,
                mount=mount,
                inside=inside,
                openapi=openapi,
                mounted_at=mounted_at,
            )
        )
        return index


def _pattern(path: str, host: str | None) -> Pattern:
    from starlette.convertors import CONVERTOR_TYPES
    from starlette.routing import compile_path

    pieces: list[Piece] = []
    position = 0
    for match in _PARAM.finditer(path):
        pieces.append(path[position : match.start()])
        name = (match.group(2) or ":str")[1:]
        pieces.append(Param(match.group(1), converter("starlette", name, CONVERTOR_TYPES[name])))
        position = match.end()
    pieces.append(path[position:])
    segments = segments_of([piece for piece in pieces if piece != ""])
    if segments is not None:
        return Pattern(path, segments, host=host)
    regex = compile_path(path)[0]
    return Pattern(
        path, None, regex.pattern, lambda literal: regex.match(literal) is not None, host
    )


def _flattened(routes: list[Any]) -> list[tuple[Any, Any]]:
    """Each route as (what it is, what it serves as): FastAPI's included routers flattened.

    Recent FastAPI keeps an included router as one lazy route and applies
    the prefix when it matches; its ``iter_route_contexts`` (what its
    OpenAPI document is built from) gives each route as served, prefixed.
    """
    routing = sys.modules.get("fastapi.routing")
    contexts = getattr(routing, "iter_route_contexts", None)
    if contexts is None:
        return [(route, route) for route in routes]
    return [(context.original_route, context) for context in contexts(routes)]


def _holder(app: Any) -> Any | None:
    """The app or router with the routes of a mounted app, through the middleware
    around it; None for an app without routes (static files, another framework)."""
    seen: set[int] = set()
    while app is not None and id(app) not in seen:
        seen.add(id(app))
        if isinstance(getattr(app, "routes", None), list):
            return app
        app = getattr(app, "app", None)
    return None


def _is_fastapi(app: Any) -> bool:
    fastapi = sys.modules.get("fastapi")
    return fastapi is not None and isinstance(app, fastapi.FastAPI)


def _fastapi_api_route() -> type | None:
    routing = sys.modules.get("fastapi.routing")
    api_route = getattr(routing, "APIRoute", None)
    return api_route if isinstance(api_route, type) else None
