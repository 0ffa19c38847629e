"""The reference JSON document service: `create_app()` builds the ASGI app.

It is a plain Starlette app: the handlers read raw requests (to answer
400/413/415/422 problems exactly, and because FastAPI's parameter machinery
would be most of a request's cost here), and the OpenAPI document is
written out in `openapi.py`.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401  # first: without them, the error names the extra
    import uvicorn  # noqa: F401
except ModuleNotFoundError as error:
    from ..extras import missing_extra

    raise missing_extra(error, "service", __name__) from None

import asyncio
import contextlib
import dataclasses
import gc
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import ETag, Unavailable
from ..access import principal_of
from ..asgi import (
    DEFAULT_REPLAY_HEADERS,
    IdempotencyMiddleware,
    IdempotencyPolicy,
    Scope,
    authorization_principal,
)
from ..hosts import AllowedHosts
from ..storage import DocumentStore, document_store
from ..storage.idempotency import IdempotencyStore, idempotency_store
from ..storage.idempotency.cache import replay_cache
from ..storage.tokens import TokenStore, token_store
from ..storage.tokens.kept import KeptTokens
from . import changes, collection_settings, editor, openapi, problem_pages, problems
from .accesslog import AccessLog
from .answer_fields import AnswerFields
from .answer_guard import AnswerMemoryGuard
from .auth import Authentication
from .authorization import Authorization
from .caching import REVALIDATE, not_modified
from .change_pump import ChangePump
from .compression import Compression
from .config import ServiceConfig
from .cors import Cors
from .documents import ROUTES
from .health import Health
from .paths import EncodedSlashes
from .purge import Purger
from .unique_values import kept_keys

if TYPE_CHECKING:
    from .jwt_auth import JwtVerifier
from .hosts import AllowedHostsGuard

log = logging.getLogger("httpconflict")

#: Answers smaller than this are sent as they are: gzip would save a few bytes at most.
COMPRESS_FROM: Final = 1024


def create_app(config: ServiceConfig | None = None) -> Starlette:
    """The service as an ASGI app; settings from `config` or HTTPCONFLICT_* variables."""
    config = config or ServiceConfig.from_env()
    store = document_store(
        config.db,
        history=config.history,
        sqlite_busy_timeout=config.sqlite_busy_timeout,
        pg_statement_timeout=config.pg_statement_timeout,
        pg_group_commit=config.pg_group_commit,
    )
    keys = None
    cache = None
    if config.idempotency != "off":
        # The record that decides is always the documents' own, written in the
        # write's transaction; a store named apart from them is a replay cache.
        keys = idempotency_store("db", documents=store)
        if config.idempotency != "db":
            # Its copies kept under the database's name: one cache may serve
            # services on other databases.
            cache = replay_cache(config.idempotency, database=store.database_id)
    spec = openapi.document(
        _version(),
        keys="off"
        if config.idempotency == "off"
        else "required"
        if config.idempotency_required
        else "optional",
    )
    pings = {"database": store.ping}
    if keys is not None:
        pings["idempotency_keys"] = keys.ping
    # Reported, but no reason to take the instance out: writes do without it.
    health = Health(pings, optional={} if cache is None else {"replay_cache": cache.ping})
    methods = config.auth_methods
    tokens: TokenStore | None = None
    if "tokens" in methods:
        tokens = KeptTokens(token_store(config.db, documents=store))

    pump = ChangePump(store)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await _open_or_later(store, "the database")
        try:
            if keys is not None:
                await _open_or_later(keys, "the idempotency-key store")
            if cache is not None:
                await cache.open()
            if tokens is not None:
                await _open_or_later(tokens, "the token store")
            purging = None
            if config.purge_interval > 0:
                purger = Purger(
                    store,
                    keys,
                    config.purge_interval,
                    config.tombstone_retention,
                    config.changes_retention,
                    cache,
                )
                purging = asyncio.create_task(purger.run_forever())
            # What the worker made to start (modules, routes, stores) lives as long as
            # it does: out of the cycle collector's sight, the collector's full passes
            # over what requests leave (the change feed's recent changes, caches) stay
            # cheap: 1,066,000 -> 1,033,000 instructions per PUT on PostgreSQL
            # (bench/pg_put_instructions.py). Given back at the end, for a process that
            # goes on (tests; an app served among others).
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()
                await pump.close()
                if purging is not None:
                    purging.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await purging
                if tokens is not None:
                    await tokens.close()
                if keys is not None:
                    await keys.close()
                if cache is not None:
                    await cache.close()
        finally:
            await store.close()

    spec_fields = {"ETag": ETag.from_content(spec).to_header(), "Cache-Control": REVALIDATE}

    async def openapi_json(request: Request) -> Response:
        if (answer := not_modified(request, spec_fields)) is not None:
            return answer
        return Response(spec, media_type="application/json", headers=spec_fields)

    # A layer configured to do nothing is left out, not passed through on every request.
    middleware = []
    if config.log_format != "off":
        middleware.append(Middleware(AccessLog, log_format=config.log_format))
    middleware += [
        # Date, Cache-Control's default, and a gzip answer's own strong ETag, which If-Match
        # reads back (RFC 9110 §8.8.3.3): around the compression, in one layer.
        Middleware(AnswerFields),
        # Answers of 1 KiB or more to a client that takes gzip. Level 6: a 440 KB page of a
        # list comes out 5% larger than with level 9, in a quarter of the time (32 ms, not 137).
        Middleware(Compression, minimum_size=COMPRESS_FROM, compresslevel=6),
    ]
    if not (allowed := AllowedHosts(config.allowed_hosts)).any:
        # Before anything reads the request: a foreign Host gets nothing else.
        middleware.append(Middleware(AllowedHostsGuard, allowed=allowed))
    if config.cors_origins:
        # Outside every other refusal (a 401 too), so that a page allowed to call can read it.
        middleware.append(Middleware(Cors, origins=config.cors_origins))
    middleware.append(Middleware(problems.ServerErrors))
    # Inside ServerErrors, which would take its stop for a failure; inside Cors, so that a
    # page allowed to call can read its refusal.
    middleware.append(Middleware(AnswerMemoryGuard))
    middleware.append(Middleware(EncodedSlashes))
    if methods:
        # Outside the idempotency middleware: a key is scoped to the principal.
        middleware.append(Middleware(Authentication, tokens=tokens, jwt=_jwt_verifier(config)))
        # Before any handler or Idempotency-Key: a refusal reveals and claims nothing.
        middleware.append(Middleware(Authorization, store=store, grants=config.access_grants))
    if keys is not None:
        middleware.append(
            # pages=False: every error answer of the service is problem JSON, a browser's too.
            Middleware(
                IdempotencyMiddleware,
                store=keys,
                policy=_write_policy(config),
                cache=cache,
                pages=False,
            )
        )
    app = Starlette(
        routes=[
            # First, as most requests are to documents: their paths take neither
            # /v1/_collections/{c} nor /v1/{c}/_changes (`paths.DOCUMENT`).
            *ROUTES,
            *collection_settings.ROUTES,
            *changes.ROUTES,
            *problem_pages.ROUTES,
            *editor.ROUTES,
            Route("/healthz", health.endpoint, methods=["GET"]),
            Route("/openapi.json", openapi_json, methods=["GET"]),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.store = store
    app.state.unique_keys = kept_keys(store)
    app.state.change_pump = pump
    problems.install(app)
    return app


async def _open_or_later(store: DocumentStore | IdempotencyStore | TokenStore, what: str) -> None:
    """Open `store` now, or, when it does not answer, on the request that first needs it.

    A worker started during an outage (uvicorn replaces one that died)
    must not stop the whole service: it serves 503s with Retry-After, as
    the others do, and its stores open once the database is back. A wrong
    location was refused before any worker started (`httpconflict serve`
    opens every store first).
    """
    try:
        await store.open()
    except Unavailable as error:
        log.warning("%s is not open yet (%s): the first request needs it tries again", what, error)


def _write_policy(config: ServiceConfig) -> Callable[[Scope], IdempotencyPolicy | None]:
    """Idempotency-Key handling for every write to a document, a collection or its settings.

    POST /v1/{c}, PUT, PATCH and DELETE /v1/{c}/{id}, and PUT
    /v1/_collections/{c}: a client that lost an answer retries with the
    same key and gets the answer recorded, never a second write (nor a 412
    for the write it made itself).
    """
    posts = IdempotencyPolicy(
        methods=frozenset({"POST"}),
        required=config.idempotency_required,
        lease=config.idempotency_lease,
        retention=config.idempotency_retention,
        wait=config.idempotency_wait,
        max_body=config.max_body,
        # Each answer is recorded in the write's own transaction, beside the
        # documents, wherever --idempotency points (a cache, then).
        transactional=True,
        replay_headers=DEFAULT_REPLAY_HEADERS | {"rebased-from", "preference-applied"},
        # The authenticated caller, never the credential: `Bearer x` and
        # `bearer x` are one caller, and two callers never share a key.
        # Without --auth (a gateway in front may authenticate), the
        # Authorization header still tells callers apart, by its hash.
        principal=_key_scope,
    )
    writes = dataclasses.replace(posts, methods=frozenset({"PUT", "PATCH", "DELETE"}))
    # A collection's settings: a replacement, the same whether made once or
    # twice, so a key is never required; one given makes a retry of a PUT
    # whose answer was lost replay it (not a 412 for the PUT's own write).
    # Its answer is recorded after the settings' transaction, under a claim
    # held while the PUT runs: a worker killed between the two leaves a
    # claim whose lease ends, and the retry then runs the PUT again.
    settings = dataclasses.replace(
        posts, methods=frozenset({"PUT"}), required=False, transactional=False
    )
    # Names starting with "_" are the service's own resources, not documents.
    collection = re.compile(r"/v1/[^_/][^/]*")
    document = re.compile(r"/v1/[^_/][^/]*/[^/]+")
    declared = re.compile(r"/v1/_collections/[^/]+")

    def choose(scope: Scope) -> IdempotencyPolicy | None:
        path = scope["path"]
        if collection.fullmatch(path):
            return posts
        if declared.fullmatch(path):
            return settings
        return writes if document.fullmatch(path) else None

    return choose


def _jwt_verifier(config: ServiceConfig) -> JwtVerifier | None:
    if "jwt" not in config.auth_methods:
        return None
    from .jwt_auth import JwtVerifier

    return JwtVerifier(
        secret=config.jwt_secret,
        jwks=config.jwt_jwks,
        audience=config.jwt_audience,
        issuer=config.jwt_issuer,
        roles_claim=config.jwt_roles_claim,
        principal_claim=config.jwt_principal_claim,
        leeway=config.jwt_leeway,
    )


def _key_scope(scope: Scope) -> str:
    """Whose Idempotency-Keys a request's key is among."""
    caller = principal_of(scope)
    return authorization_principal(scope) if caller.anonymous else caller.id


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("httpconflict")
    except PackageNotFoundError:
        return "0+unknown"
