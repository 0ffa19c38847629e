"""Authentication: who is calling, from an API token or a JWT, before anything else runs.

`Authentication` is a pure ASGI middleware, outside the idempotency
middleware (so that an Idempotency-Key is scoped to the principal) and
inside the access log (which names the principal, never the credential).
It reads the Authorization header once, puts the `Principal` in the scope
(`PRINCIPAL_SCOPE_KEY`) and nothing else downstream ever sees the header's
meaning again; a long request (the change feed) has it read again through
`standing`, which then ends it once the credential is revoked or expired.

RFC 6750: the scheme name is case-insensitive (``Bearer``, ``bearer``,
``BEARER`` are one caller); no credential is a 401 with
``WWW-Authenticate: Bearer realm="httpconflict"`` and no error attribute
(§3.1); a credential refused (unknown, revoked, expired, badly signed,
``alg: none``) is a 401 with ``error="invalid_token"`` and a description.

Which methods are tried is the service's ``--auth`` setting: ``tokens``
(API tokens, `storage.tokens`), ``jwt`` (`jwt_auth`), or both; a
credential starting with the token prefix is an API token, any other a
JWT. Without ``--auth`` every caller is `ANONYMOUS`. Paths that serve no
data (`is_public`) need no credential: the health check, the OpenAPI
document, the problem pages and the editor's page, assets and icon, so that a
load balancer can probe and the editor can load and then ask for a token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from .. import ProblemError, Unauthorized
from ..access import ANONYMOUS, PRINCIPAL_SCOPE_KEY, Principal
from ..asgi import problem_headers, send_problem
from ..storage.tokens import TOKEN_PREFIX, TokenStore, token_hash
from .standing import add_check

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from .jwt_auth import JwtVerifier

REALM: Final = "httpconflict"
#: GET and HEAD of these serve no data, and need no credential.
_PUBLIC: Final = re.compile(
    r"/|/healthz|/openapi\.json|/problems/[^/]+|/editor/[^/]+|/favicon\.ico"
)
_SAFE: Final = frozenset({"GET", "HEAD"})
#: A bearer token's characters (RFC 6750 §2.1, b64token).
_B64TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def is_public(method: str, path: str) -> bool:
    """Whether a request reads only what any caller may (no document data)."""
    return method in _SAFE and _PUBLIC.fullmatch(path) is not None


class Authentication:
    """Pure ASGI middleware: put the caller's `Principal` in the scope, or answer 401."""

    def __init__(
        self, app: ASGIApp, *, tokens: TokenStore | None = None, jwt: JwtVerifier | None = None
    ) -> None:
        if tokens is None and jwt is None:
            raise ValueError("authentication needs API tokens, JWTs, or both")
        self.app = app
        self.tokens = tokens
        self.jwt = jwt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if is_public(scope["method"], scope["path"]):
            scope[PRINCIPAL_SCOPE_KEY] = ANONYMOUS
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.authenticate(scope["headers"])
        except Unauthorized as error:
            await send_problem(scope, send, error.problem, {"WWW-Authenticate": _challenge(error)})
            return
        except ProblemError as error:  # a store or a key server down: 503
            await send_problem(scope, send, error.problem, problem_headers(error))
            return
        scope[PRINCIPAL_SCOPE_KEY] = principal
        add_check(scope, lambda: self._still(scope))
        await self.app(scope, receive, send)

    async def _still(self, scope: Scope) -> bool:
        """Whether the request's credential is still good (not revoked, not expired)."""
        try:
            scope[PRINCIPAL_SCOPE_KEY] = await self.authenticate(scope["headers"])
        except Unauthorized:
            return False
        return True

    async def authenticate(self, headers: Iterable[tuple[bytes, bytes]]) -> Principal:
        """The principal of a request's Authorization header; `Unauthorized` if none."""
        found = [value for name, value in headers if name == b"authorization"]
        if not found:
            raise Unauthorized("this service requires a bearer token")
        if len(found) > 1:
            raise Unauthorized("more than one Authorization header", error="invalid_request")
        scheme, _, credential = found[0].decode("latin-1").strip().partition(" ")
        if scheme.lower() != "bearer":
            # Another scheme (Basic...) carries no bearer token: as if none came.
            raise Unauthorized("this service requires a bearer token")
        credential = credential.strip()
        if not _B64TOKEN.fullmatch(credential):
            raise Unauthorized("the bearer token is malformed", error="invalid_token")
        if credential.startswith(TOKEN_PREFIX) and self.tokens is not None:
            token = await self.tokens.find(token_hash(credential))
            if token is None:
                raise Unauthorized("the API token is unknown or revoked", error="invalid_token")
            return Principal("token:" + token.name, frozenset(token.roles))
        if self.jwt is not None:
            return await self.jwt.verify(credential)
        raise Unauthorized("the API token is unknown or revoked", error="invalid_token")


def _challenge(error: Unauthorized) -> str:
    """The WWW-Authenticate value for a 401 (RFC 6750 §3)."""
    challenge = f'Bearer realm="{REALM}"'
    if error.error is not None:
        # Descriptions are the service's own words: ASCII, no quotes.
        challenge += f', error="{error.error}", error_description="{error.problem.detail}"'
    return challenge
