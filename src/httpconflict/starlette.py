"""Starlette and FastAPI: integrity errors answered as 409/422 problem details.

    from httpconflict.starlette import add_integrity_handler

    app = FastAPI()            # or Starlette()
    add_integrity_handler(app)

A UNIQUE violation anywhere in a handler then answers 409
``application/problem+json`` naming the field instead of a 500; errors
that are not integrity violations go on to the 500 they were.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from ._integrity import classify
from ._integrity_policy import DEFAULT_POLICY, Completes, IntegrityPolicy
from ._problem import MEDIA_TYPE, ProblemDetails
from .catalog import CatalogCache
from .drivers import database_error_types

Handler = Callable[[Request, Exception], Awaitable[Response]]


def problem_response(problem: ProblemDetails) -> Response:
    """An ``application/problem+json`` response carrying `problem`."""
    return Response(problem.to_json(), status_code=problem.status or 500, media_type=MEDIA_TYPE)


def integrity_exception_handler(
    *, policy: IntegrityPolicy = DEFAULT_POLICY, catalog: Completes | None = None
) -> Handler:
    """An exception handler answering integrity violations; it re-raises anything else.

    `catalog` (a `Catalog`, or a `CatalogCache` that loads one when first
    needed) names the columns of constraints the error names only by name.
    """

    async def handle(request: Request, exc: Exception) -> Response:
        violation = classify(exc)
        if violation is None:
            raise exc
        if isinstance(catalog, CatalogCache):
            violation = await catalog.acomplete(violation)
        elif catalog is not None:
            violation = catalog.complete(violation)
        return problem_response(policy.problem(violation))

    return handle


def add_integrity_handler(
    app: Starlette,
    *,
    policy: IntegrityPolicy = DEFAULT_POLICY,
    catalog: Completes | None = None,
    error_types: Iterable[type[BaseException]] | None = None,
) -> None:
    """Answer `app`'s integrity errors with problem details.

    The handler is registered for each installed driver's base database
    error (see `httpconflict.drivers`), or for `error_types`.
    """
    handler = integrity_exception_handler(policy=policy, catalog=catalog)
    for error_type in error_types if error_types is not None else database_error_types():
        app.add_exception_handler(error_type, handler)  # type: ignore[arg-type]
