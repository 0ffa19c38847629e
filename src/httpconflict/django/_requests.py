"""Reading what a Django request asks: its preconditions and its JSON body.

Both refuse what they cannot read with a `ProblemError` (400, 415, 422)
instead of guessing. Django's own `parse_etags` drops a malformed
entity-tag silently, so ``If-Match: 5`` (unquoted) reads as no If-Match at
all and the write goes ahead unguarded; here it is a 400 that says to
quote it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .._media import (
    DEFAULT_MAX_BODY,
    JSON,
    parse_json_object,
    require_identity_coding,
    require_media_type,
)
from .._preconditions import Conditions
from .._wsgi_input import read_body


class _Headers(Protocol):
    def get(self, name: str) -> str | None: ...


class HasHeaders(Protocol):
    """A Django `HttpRequest`, or a REST framework `Request` (which wraps one)."""

    @property
    def headers(self) -> _Headers: ...


def request_conditions(request: HasHeaders) -> Conditions:
    """The request's If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since.

    Raises `MalformedHeader` (400) naming a malformed field. Repeated field
    lines arrive joined with commas, which `EntityTags` parses as one list.
    """
    return Conditions.from_headers(header_lines(request))


def header_lines(request: HasHeaders) -> Callable[[str], list[str]]:
    """A function giving the field lines of a request header (one, or none)."""
    headers = request.headers

    def lines(name: str) -> list[str]:
        value = headers.get(name)
        return [] if value is None else [value]

    return lines


def json_body(request: Any) -> dict[str, Any]:
    """The request's body as one JSON object: 415 unless it is ``application/json``
    sent as it is (no content coding), 400 unless it is UTF-8 JSON, 422 unless it
    is an object (or repeats a member).
    """
    require_media_type(request.headers.get("Content-Type"), (JSON,))
    return parse_json_object(request_body(request))


def request_body(request: Any) -> bytes:
    """``request.body``, refused with a 415 naming what is taken when it came content-coded.

    Django hands a gzip body over as it came; read as the document, it is
    a 400 "not UTF-8" at best, and something the client never sent at worst.
    """
    require_identity_coding(header_lines(request)("Content-Encoding"))
    meta = request.META
    chunked = not meta.get("CONTENT_LENGTH") and meta.get("wsgi.input_terminated")
    if chunked and "wsgi.input" in meta:
        # A chunked body under WSGI: Django reads no body without a
        # Content-Length (its request.body is empty), though the server
        # (gunicorn) ends the stream at the body's last chunk.
        return read_body(meta, DEFAULT_MAX_BODY)
    body: bytes = request.body
    return body
