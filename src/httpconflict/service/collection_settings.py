"""A collection's settings: /v1/_collections/{collection}, its unique keys.

``PUT`` replaces the declaration as a whole (``{"unique": ["email",
["tenant", "slug"]]}``) and ``GET`` reads it. The store makes each key a
unique index, so a duplicate write is refused by the database itself and
answered 409 unique-violation naming the fields (`ConstraintViolated`).
"""

from __future__ import annotations

import json
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .._errors import InvalidDocument
from .._problem import METHOD_NOT_ALLOWED
from ..storage import DocumentStore, UniqueKey, format_unique_keys, parse_unique_keys
from .config import ServiceConfig
from .problems import problem_response
from .requests import check_name, read_document

SETTINGS: Final = "/v1/_collections/{collection}"
ALLOW: Final = "GET, HEAD, PUT"


def _store(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.store
    return store


def _collection(request: Request) -> str:
    return check_name("collection", request.path_params["collection"])


async def get_settings(request: Request) -> Response:
    """The collection's declaration; one never declared has no unique keys."""
    collection = _collection(request)
    return _declaration(collection, await _store(request).unique_keys(collection))


async def put_settings(request: Request) -> Response:
    """Replace the collection's unique keys (409 if stored documents already collide)."""
    collection = _collection(request)
    config: ServiceConfig = request.app.state.config
    _, settings = await read_document(request, config.max_body)
    for member in settings:
        if member != "unique":
            raise InvalidDocument(
                f'unknown member {member!r}: the settings of a collection are "unique" only',
                member=member,
            )
    if "unique" not in settings:
        raise InvalidDocument(
            'the settings need "unique": a list of field names or lists of them',
            member="unique",
        )
    keys = parse_unique_keys(settings["unique"])
    return _declaration(collection, await _store(request).declare_unique(collection, keys))


class _MethodNotAllowed:
    """Any other method: 405 naming this resource's methods only.

    Without this route, a DELETE here would reach the document route and be
    refused for its reserved collection name, a 400 that hides the real
    reason. It is an ASGI app, not a function: Starlette routes a function
    endpoint without a method list to GET alone.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        problem = METHOD_NOT_ALLOWED.problem(
            f"{request.method} is not supported here; allowed: {ALLOW}"
        )
        await problem_response(request, problem, {"Allow": ALLOW})(scope, receive, send)


def _declaration(collection: str, keys: tuple[UniqueKey, ...]) -> Response:
    body = {"collection": collection, "unique": format_unique_keys(keys)}
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


ROUTES: Final = [
    Route(SETTINGS, get_settings, methods=["GET"]),
    Route(SETTINGS, put_settings, methods=["PUT"]),
    # No method list: every other method of this path ends here, before the
    # document routes (whose path this one also fits) can take it.
    Route(SETTINGS, _MethodNotAllowed()),
]
