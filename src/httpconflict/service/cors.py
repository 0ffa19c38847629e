"""Cross-origin calls from browsers (CORS), for the origins the operator lists.

Off unless `--cors-origin` names an origin: without it a browser lets no
page of another origin read an answer, which is the safe default. The
Access-Control headers are Starlette's; a refused preflight is answered
as a problem, like every other refusal. Credentials travel as an explicit
Authorization header, never as cookies, so no origin is ever granted
credentials (`Access-Control-Allow-Credentials` is never sent).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..asgi import PROBLEM_SCOPE_KEY
from ..problem_types import CORS_NOT_ALLOWED, MEDIA_TYPE

METHODS: Final = ("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE")
#: What a page may send besides the CORS-safelisted fields.
REQUEST_HEADERS: Final = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-Unmodified-Since",
    "Idempotency-Key",
    # The change feed's resume point: a page reading it with fetch() (to send
    # Authorization, which EventSource cannot) sends it on each reconnect.
    "Last-Event-ID",
    "Prefer",
)
#: What a page may read of an answer besides the CORS-safelisted fields.
EXPOSED_HEADERS: Final = (
    "ETag",
    "Location",
    "Rebased-From",
    "Preference-Applied",
    "Idempotent-Replayed",
    "Retry-After",
    "WWW-Authenticate",
)


class Cors(CORSMiddleware):
    """Starlette's CORS middleware for a list of origins, refusing preflights with a problem."""

    def __init__(self, app: ASGIApp, *, origins: Sequence[str]) -> None:
        super().__init__(
            app,
            allow_origins=tuple(origins),
            allow_methods=METHODS,
            allow_headers=REQUEST_HEADERS,
            expose_headers=EXPOSED_HEADERS,
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        # Starlette says which checks failed in plain text: "Disallowed CORS origin, headers".
        refused = bytes(answer.body).decode().removeprefix("Disallowed CORS ").split(", ")
        problem = CORS_NOT_ALLOWED.problem(
            f"this service does not allow the {' and the '.join(refused)} of this "
            "cross-origin request",
            refused=refused,
        )
        headers = {k: v for k, v in answer.headers.items() if k not in _BODY_FIELDS}
        return _Refusal(problem.to_json(), CORS_NOT_ALLOWED.status, headers, media_type=MEDIA_TYPE)


_BODY_FIELDS: Final = frozenset({"content-type", "content-length"})


class _Refusal(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[PROBLEM_SCOPE_KEY] = CORS_NOT_ALLOWED.slug  # for the access log
        await super().__call__(scope, receive, send)
