"""Cache-Control on a WSGI app's reads, as the core's `read_cache_control` decides.

`ReadCachingMiddleware` is what `httpconflict.flask.install` adds around
the app: a GET's or HEAD's 2xx or 304 that carries a validator and no
Cache-Control of the app's says ``no-cache`` (`_read_caching`), seen as
the app finally answers (after its ``after_request`` hooks). A helper that
already said what its read's caching is (Flask's ``@conditional`` and
``conditional_response``, whose ``cache_control=None`` says nothing) sets
`CACHING_SAID` in the environ, and is left as it said.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from .._preconditions import SAFE_METHODS
from .._read_caching import REVALIDATE, with_read_caching
from ._answers import Headers, StartResponse, WSGIApplication, WSGIEnvironment

#: In the environ: the app's read helper said what its answer's caching is.
CACHING_SAID: Final = "httpconflict.read_caching_said"


def read_default(environ: WSGIEnvironment, default: str | None) -> str | None:
    """`default`, unless the app's helper already said what this read's caching is."""
    return None if environ.get(CACHING_SAID) else default


def caching_start(
    environ: WSGIEnvironment, start_response: StartResponse, default: str | None
) -> StartResponse:
    """`start_response`, adding Cache-Control `default` when the core says to."""
    method = environ["REQUEST_METHOD"]

    def start(status: str, headers: Headers, exc_info: Any = None) -> Callable[[bytes], object]:
        code = int(status.split(" ", 1)[0])
        fields = with_read_caching(method, code, headers, read_default(environ, default))
        return start_response(status, fields, exc_info)

    return start


class ReadCachingMiddleware:
    """Say `cache_control` on a read with a validator whose app says nothing of caching."""

    def __init__(self, app: WSGIApplication, *, cache_control: str | None = REVALIDATE) -> None:
        self.app = app
        self.cache_control = cache_control

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.cache_control is None or environ["REQUEST_METHOD"] not in SAFE_METHODS:
            return self.app(environ, start_response)
        return self.app(environ, caching_start(environ, start_response, self.cache_control))
