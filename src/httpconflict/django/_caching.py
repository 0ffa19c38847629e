"""Cache-Control on a Django view's reads, as the core's `read_cache_control` decides.

A GET's or HEAD's 2xx or 304 that carries a validator and no Cache-Control
of the view's says ``no-cache`` (`_read_caching`). `ProblemMiddleware`
says it on every answer it lets through, as Flask's and Starlette's
``install`` do with their ``ReadCachingMiddleware``: a view that sets its
own ETag (``JsonResponse(..., headers={"ETag": ...})``) and nothing of
caching is covered too. A read helper that says its read's caching itself
(`conditional`, `answer_preconditions`, `not_modified`,
`add_read_caching`, REST framework's views, each with ``cache_control=``,
None saying nothing) marks its answer (`said_caching`), and the middleware
leaves that answer as the helper said.
"""

from __future__ import annotations

from typing import Any, Final

from django.http import HttpResponseBase

from .._read_caching import REVALIDATE, read_cache_control

#: On a response: a read helper said what its caching is (the middleware adds nothing).
CACHING_SAID: Final = "_httpconflict_caching_said"


def said_caching(response: HttpResponseBase) -> None:
    """Mark `response` as one whose caching a read helper has said."""
    setattr(response, CACHING_SAID, True)


def add_read_caching(
    request: Any, response: HttpResponseBase, default: str | None = REVALIDATE
) -> None:
    """Say `default` (``no-cache``) on a GET's answer with a validator and no Cache-Control."""
    said_caching(response)
    _add(request, response, default)


def default_read_caching(request: Any, response: HttpResponseBase, default: str | None) -> None:
    """`add_read_caching`, for an answer no read helper has said the caching of."""
    if not getattr(response, CACHING_SAID, False):
        _add(request, response, default)


def _add(request: Any, response: HttpResponseBase, default: str | None) -> None:
    names = (name for name, _ in response.items())
    added = read_cache_control(request.method or "GET", response.status_code, names, default)
    if added is not None:
        response["Cache-Control"] = added
