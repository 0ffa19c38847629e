"""The reference JSON document service: `create_app()` builds the ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi

from .. import __name__ as package_name
from .._errors import Unavailable
from ..storage import document_store
from . import openapi, problems
from .accesslog import AccessLog
from .config import ServiceConfig
from .documents import router as documents_router


def create_app(config: ServiceConfig | None = None) -> FastAPI:
    """The service as an ASGI app; settings from `config` or HTTPCONFLICT_* variables."""
    config = config or ServiceConfig.from_env()
    store = document_store(config.db, history=config.history)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        try:
            yield
        finally:
            await store.close()

    app = FastAPI(
        title="httpconflict document service",
        summary="JSON documents that never lose an update.",
        version=_version(),
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.config = config
    app.state.store = store
    problems.install(app)
    app.include_router(documents_router)
    # Every route by itself (FastAPI wraps included routers), for Allow headers.
    app.state.routes = [*documents_router.routes]

    @app.get("/healthz", tags=["service"], summary="Liveness and database reachability")
    async def healthz(request: Request) -> Response:
        try:
            await store.ping()
        except Exception as error:  # any driver error means "not healthy"
            raise Unavailable(f"the database does not answer: {error}") from error
        return Response('{"status":"ok"}', media_type="application/json")

    app.state.routes.append(app.router.routes[-1])

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                openapi.PROBLEM_SCHEMA
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
    app.add_middleware(AccessLog, log_format=config.log_format)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package_name)
    except PackageNotFoundError:
        return "0+unknown"
