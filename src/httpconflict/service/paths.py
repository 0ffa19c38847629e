"""A path with an encoded '/' (%2F) is a 400 saying so, not a route to something else.

uvicorn decodes the path before the router sees it, so ``/v1/c/a%2Fb``
would be routed as ``/v1/c/a/b`` (a 404 naming a path the client never
sent), ``/v1/c/x%2Fversions`` as the history of ``x``, and ``/v1/c%2Fx``
as document ``x`` of ``c``. No collection or document name holds a '/'
(`requests.check_name`): a client that sent one percent-encoded, as it
should, is told that the name is not valid.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from .. import InvalidParameter
from ..starlette import problem_response

_ENCODED_SLASHES: Final = (b"%2F", b"%2f")


class EncodedSlashes:
    """Answer 400 `invalid-parameter` to a request whose path holds an encoded '/'."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") or b""
        if scope["type"] == "http" and any(slash in raw for slash in _ENCODED_SLASHES):
            refusal = InvalidParameter(
                "the path holds an encoded '/' (%2F): collection and document names cannot "
                "contain '/'; use letters, digits and . _ ~ : @ -",
                parameter="path",
            )
            await problem_response(refusal)(scope, receive, send)
            return
        await self.app(scope, receive, send)
