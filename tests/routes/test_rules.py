"""The rules on small Starlette apps: methods taken in part, fallbacks, lost mounts."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from .findings import findings_of, rows


async def first(request: Request) -> Response:
    return PlainTextResponse("first")


async def second(request: Request) -> Response:
    return PlainTextResponse("second")


async def third(request: Request) -> Response:
    return PlainTextResponse("third")


class Everything(HTTPEndpoint):
    """A class endpoint: Starlette routes every method to it."""

    async def get(self, request: Request) -> Response:
        return PlainTextResponse("everything")


def test_only_the_methods_taken_are_reported() -> None:
    """A later route losing POST but still serving DELETE is reported for POST only."""
    app = Starlette(
        routes=[
            Route("/x", first, methods=["GET", "POST"]),
            Route("/x", second, methods=["POST", "DELETE"]),
        ]
    )
    assert rows(findings_of(app)) == {("duplicate", "POST", "/x", "second", "/x", "first")}


def test_each_earlier_route_takes_its_share() -> None:
    """Two earlier routes taking one method each: two findings, one per pair."""
    app = Starlette(
        routes=[
            Route("/x", first, methods=["GET"]),
            Route("/x", second, methods=["POST"]),
            Route("/x", third, methods=["GET", "POST"]),
        ]
    )
    assert rows(findings_of(app)) == {
        ("duplicate", "GET", "/x", "third", "/x", "first"),
        ("duplicate", "POST", "/x", "third", "/x", "second"),
    }


def test_a_route_for_every_method_takes_every_later_one() -> None:
    """An earlier route for every method takes a later GET route; the reverse is a fallback."""
    before = Starlette(routes=[Route("/x", Everything), Route("/x", first, methods=["GET"])])
    assert rows(findings_of(before)) == {("duplicate", "GET", "/x", "first", "/x", "Everything")}
    after = Starlette(routes=[Route("/x", first, methods=["GET"]), Route("/x", Everything)])
    assert findings_of(after) == []


def test_a_lost_route_takes_nothing_and_a_lost_mount_hides_its_routes() -> None:
    """Findings name the route really serving; a lost mount is one finding, not one per route."""
    app = Starlette(
        routes=[
            Route("/users/{name}", first),
            Route("/users/{other}", second),
            Route("/users/me", third),
            Mount("/api", routes=[Route("/a", first)]),
            Mount("/api", routes=[Route("/a", second), Route("/b", third)]),
        ]
    )
    assert rows(findings_of(app)) == {
        ("duplicate", "GET", "/users/{other}", "second", "/users/{name}", "first"),
        ("shadowed", "GET", "/users/me", "third", "/users/{name}", "first"),
        ("mount-overlap", "*", "/api/{path:path}", "Router", "/api/{path:path}", "Router"),
    }
