"""Authorization: every request under /v1/ needs a right on its collection.

Theory of operation: the middleware runs after authentication (which left
the principal in the scope) and before anything reads a document or an
Idempotency-Key. `needed_right` reads which collection a request is about
and which right it needs from its method and path alone; the rules in
force are the service's grants (`--grant`) and the collection's own
(`access`, kept by each worker for `RULES_LIFETIME`: a change holds at
once in the worker that made it, within a second in the others);
`access_decision` decides. A
refusal is answered here, before any handler runs: it cannot depend on
whether a document exists, carries no ETag, Last-Modified nor body data,
and a refused keyed write never claims its Idempotency-Key. A long request
(the change feed) asks again through `standing`, and ends once its right is
gone.

Paths outside /v1/ (/healthz, /openapi.json, /problems/..., the editor's
page and files, /favicon.ico) are public.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from .. import ProblemDetails, ProblemError
from ..access import RIGHTS, Access, AccessRules, Principal, Right, held_decision, principal_of
from ..asgi import send_error, send_problem
from ..problem_types import FORBIDDEN, UNAUTHORIZED
from ..storage import DocumentStore
from .kept import KEPT, LIFETIME, Kept
from .standing import add_check

#: The highest right the request's principal holds on its collection, for
#: handlers that show more to admins (absent: no authorization ran, every
#: caller holds every right).
RIGHT_SCOPE_KEY: Final = "httpconflict.right"
#: RFC 6750 §3.1: a request that lacks any authentication information gets
#: the challenge without an error code.
CHALLENGE: Final = 'Bearer realm="httpconflict"'
_READS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
#: `erasure.PURGE` (that module reads `held_right` from this one).
PURGE: Final = "purge"
_NAMES: Final = {right: name for name, right in RIGHTS.items()}
NO_RULES: Final = AccessRules()
#: Seconds a worker keeps a collection's rules before reading them again (`kept`).
RULES_LIFETIME: Final = LIFETIME
#: Collections whose rules a worker keeps at once (the least recently used leave first).
RULES_KEPT: Final = KEPT


def needed_right(method: str, path: str, query: str = "") -> tuple[str | None, Right] | None:
    """The collection a request is about (None: the service) and the right it needs.

    None for a public path. Reading needs read; any other method on a
    collection, its documents or their history needs write, and on the
    collection's settings (its unique keys and access rules) admin, as
    does a DELETE that asks to purge the history (`erasure`): a writer may
    delete, only an admin may make the past unreadable.
    """
    if not path.startswith("/v1/") and path != "/v1":
        return None
    reads = method in _READS
    segments = path[len("/v1/") :].split("/")
    if segments[0] == "_collections":
        collection = segments[1] if len(segments) > 1 and segments[1] else None
        return collection, Right.READ if reads else Right.ADMIN
    collection = segments[0] or None
    if method == "DELETE" and _purges(query):
        return collection, Right.ADMIN
    return collection, Right.READ if reads else Right.WRITE


def _changes_settings(scope: Scope) -> bool:
    return scope["method"] not in _READS and scope["path"].startswith("/v1/_collections/")


def _purges(query: str) -> bool:
    """Whether a query may ask for a purge: any `purge` but ``purge=false`` counts.

    Erring towards admin: a value the handler would refuse (400) is refused
    as a purge first, never let through as a plain delete.
    """
    if PURGE not in query:
        return False
    return any(
        name == PURGE and value != "false"
        for name, value in parse_qsl(query, keep_blank_values=True)
    )


class _KeptRules(Kept[AccessRules]):
    """A worker's copy of collections' rules: the service's grants and each collection's own."""

    def __init__(
        self,
        store: DocumentStore,
        *,
        grants: AccessRules = NO_RULES,
        lifetime: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        async def read(collection: str) -> AccessRules:
            own = await store.access_rules(collection)
            return grants if own is None else grants | own

        super().__init__(read, lifetime=lifetime, clock=clock)


class Authorization:
    """ASGI middleware answering 401 or 403 to a request its principal has no right to."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: DocumentStore,
        grants: AccessRules,
        rules_lifetime: float = RULES_LIFETIME,
    ) -> None:
        self.app = app
        self.grants = grants
        self.rules = _KeptRules(store, grants=grants, lifetime=rules_lifetime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        needed = None
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            needed = needed_right(scope["method"], scope["path"], query)
        if needed is None:
            await self.app(scope, receive, send)
            return
        collection, right = needed
        rules = self.grants
        if collection is not None:
            try:
                rules = await self.rules.get(collection)
            except ProblemError as error:  # the database is down: 503, never a 500
                await send_error(scope, send, error)
                return
        principal = principal_of(scope)
        held = rules.right_of(principal)
        match held_decision(held, principal, right):
            case Access.ALLOWED:
                scope[RIGHT_SCOPE_KEY] = held
                add_check(scope, lambda: self._still(scope, collection, right))
                if collection is None or not _changes_settings(scope):
                    await self.app(scope, receive, send)
                    return
                try:
                    await self.app(scope, receive, send)
                finally:
                    # This worker applies its own change from the next request on.
                    self.rules.forget(collection)
            case Access.UNAUTHENTICATED:
                problem = UNAUTHORIZED.problem(
                    "this request needs credentials: send Authorization: Bearer <token>"
                )
                await send_problem(scope, send, problem, {"WWW-Authenticate": CHALLENGE})
            case Access.FORBIDDEN:
                await send_problem(scope, send, _forbidden(principal, right, collection))

    async def _still(self, scope: Scope, collection: str | None, right: Right) -> bool:
        """Whether the request's principal (as authenticated again) still holds `right`."""
        rules = self.grants if collection is None else await self.rules.get(collection)
        principal = principal_of(scope)
        return held_decision(rules.right_of(principal), principal, right) is Access.ALLOWED


def _forbidden(principal: Principal, right: Right, collection: str | None) -> ProblemDetails:
    where = "this collection" if collection is not None else "this service"
    return FORBIDDEN.problem(
        f"{principal.id} has no {_NAMES[right]} right on {where}",
        right=_NAMES[right],
        principal=principal.id,
    )


def held_right(scope: Scope) -> Right:
    """The right the request's principal holds on its collection (see `RIGHT_SCOPE_KEY`)."""
    held = scope.get(RIGHT_SCOPE_KEY, Right.ADMIN)
    return held if isinstance(held, Right) else Right.READ
