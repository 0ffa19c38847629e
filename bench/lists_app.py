"""The service, plus its list answer as it was built before streaming, side by side.

``GET /whole/{collection}?limit=N`` answers the same bytes as ``GET
/v1/{collection}?limit=N`` (the first page), made the old way: the whole
page read in one statement, each item rendered, the items joined into one
body, sent with a Content-Length. Both run in one process on one database,
so their memory and time compare directly.

Run: ``HTTPCONFLICT_DB=path.db uvicorn bench.lists_app:create_app --factory``
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from httpconflict.service.app import create_app as create_service
from httpconflict.service.lists import JSON, _document_item
from httpconflict.storage import DocumentStore


async def whole_page(request: Request) -> Response:
    """The first page of a collection, held whole before it is sent."""
    store: DocumentStore = request.app.state.store
    collection = request.path_params["collection"]
    limit = int(request.query_params.get("limit", "100"))
    ids = [m.id for m in await store.page_members(collection, after=None, limit=limit)]
    docs = await store.documents(collection, ids, max_bytes=2**62)
    items = [b"".join((*_document_item(d), b"}")) for d in docs]
    next_url = f"/v1/{collection}?limit={limit}&after={ids[-1]}" if len(ids) == limit else None
    content = b'{"items":[' + b",".join(items) + b'],"next":' + json.dumps(next_url).encode() + b"}"
    headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else None
    return Response(content, media_type=JSON, headers=headers)


def create_app() -> Starlette:
    app = create_service()
    app.router.routes.insert(0, Route("/whole/{collection}", whole_page, methods=["GET"]))
    return app
