"""Django: integrity errors answered as 409/422 problem details.

    MIDDLEWARE = [
        ...,
        "httpconflict.django.IntegrityErrorMiddleware",
    ]

A view whose write breaks a UNIQUE constraint then answers 409
``application/problem+json`` naming the field instead of a 500 (with
``ATOMIC_REQUESTS`` the transaction has been rolled back by then). Other
exceptions go on to Django's own handling. Settings, all optional:

- ``HTTPCONFLICT_INTEGRITY_POLICY``: an `httpconflict.IntegrityPolicy`
  (statuses, field names, whether values are shown);
- ``HTTPCONFLICT_CATALOG``: False to never read the database catalog
  (it is read once, when a violation first needs a column named).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

from ._catalog import Catalog
from ._integrity import Violation, classify
from ._integrity_policy import DEFAULT_POLICY, IntegrityPolicy
from ._problem import MEDIA_TYPE, ProblemDetails
from .catalog import CatalogCache, dialect_of, load_catalog


def problem_response(problem: ProblemDetails) -> HttpResponse:
    """An ``application/problem+json`` response carrying `problem`."""
    return HttpResponse(problem.to_json(), status=problem.status or 500, content_type=MEDIA_TYPE)


class IntegrityErrorMiddleware:
    """Turns integrity errors raised by views into problem details answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy: IntegrityPolicy = getattr(
            settings, "HTTPCONFLICT_INTEGRITY_POLICY", DEFAULT_POLICY
        )
        self.read_catalog: bool = getattr(settings, "HTTPCONFLICT_CATALOG", True)
        self._catalogs: dict[str, CatalogCache] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        violation = classify(exception)
        if violation is None:
            return None
        return problem_response(self.policy.problem(self._complete(violation)))

    def _complete(self, violation: Violation) -> Violation:
        if not self.read_catalog:
            return violation
        # The error does not say which connection raised it: the first
        # configured database of the same kind is the likely one.
        for alias in connections:
            connection = connections[alias]
            if dialect_of(connection) == violation.dialect:
                if alias not in self._catalogs:
                    self._catalogs[alias] = CatalogCache(_loader(connection))
                return self._catalogs[alias].complete(violation)
        return violation


def _loader(connection: object) -> Callable[[], Catalog]:
    return lambda: load_catalog(connection)
