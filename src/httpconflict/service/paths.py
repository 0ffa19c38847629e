"""The service's paths: names that are not the service's own, and encoded '/' refused.

A document's path, ``/v1/{collection}/{doc_id}``, would also fit
``/v1/_collections/{c}`` (a collection's settings) and ``/v1/{c}/_changes``
(its change feed). Its two names are matched by `NotCollections` and
`NotChanges`, which take any segment but those two reserved words (`DOCUMENT`),
so the document routes can come first: most requests are to documents, and
each route tried before theirs is a regex match more (five, before). Every
other name still reaches the handlers, which refuse an invalid one with a
400 saying why (`requests.check_name`).

A path with an encoded '/' (%2F) is a 400 saying so, not a route to something else.

uvicorn decodes the path before the router sees it, so ``/v1/c/a%2Fb``
would be routed as ``/v1/c/a/b`` (a 404 naming a path the client never
sent), ``/v1/c/x%2Fversions`` as the history of ``x``, and ``/v1/c%2Fx``
as document ``x`` of ``c``. No collection or document name holds a '/'
(`requests.check_name`): a client that sent one percent-encoded, as it
should, is told that the name is not valid.
"""

from __future__ import annotations

from typing import Final

from starlette.convertors import StringConvertor, register_url_convertor
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import InvalidParameter
from ..starlette import problem_response


# "(?![^/])": the reserved word is the whole segment, followed by '/' or the
# end, whether in a route's regex or tested alone (as `httpconflict routes` does).
class NotCollections(StringConvertor):
    """A path segment, but not ``_collections``."""

    regex = "(?!_collections(?![^/]))[^/]+"


class NotChanges(StringConvertor):
    """A path segment, but not ``_changes``."""

    regex = "(?!_changes(?![^/]))[^/]+"


register_url_convertor("not_collections", NotCollections())
register_url_convertor("not_changes", NotChanges())
#: A document's path: neither a collection's settings nor its change feed.
DOCUMENT: Final = "/v1/{collection:not_collections}/{doc_id:not_changes}"


class EncodedSlashes:
    """Answer 400 `invalid-parameter` to a request whose path holds an encoded '/'."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") or b""
        # b"%2" first: a path without it (nearly all) costs one search, no generator.
        if scope["type"] == "http" and b"%2" in raw and (b"%2F" in raw or b"%2f" in raw):
            refusal = InvalidParameter(
                "the path holds an encoded '/' (%2F): collection and document names cannot "
                "contain '/'; use letters, digits and . _ ~ : @ -",
                parameter="path",
            )
            await problem_response(refusal)(scope, receive, send)
            return
        await self.app(scope, receive, send)
