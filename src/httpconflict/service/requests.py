"""Reading a request: names, preconditions and bodies, each refused with a 4xx problem."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, overload

from starlette.requests import ClientDisconnect, Request

from .. import (
    Conditions,
    ContentTooLarge,
    InvalidParameter,
    content_type_of,
    parse_json_object,
    require_identity_coding,
    require_media_type,
)

# A name is a URL path segment that needs no percent-encoding. Names that
# start with "_" are reserved for the service's own resources.
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~:@-]*")
MAX_NAME: Final = 255
#: The one media type a document body may have.
JSON: Final = "application/json"


def check_name(kind: str, value: str) -> str:
    """Return `value` if it is a valid collection or document name, else raise 400."""
    if len(value) > MAX_NAME:
        raise InvalidParameter(f"a {kind} name is at most {MAX_NAME} characters", parameter=kind)
    if _NAME.fullmatch(value) is None:
        reason = (
            "names starting with '_' are reserved"
            if value.startswith("_")
            else "use letters, digits and . _ ~ : @ -, starting with a letter or digit"
        )
        raise InvalidParameter(f"{value!r} is not a valid {kind} name: {reason}", parameter=kind)
    return value


_CONDITIONAL: Final = frozenset(
    {b"if-match", b"if-none-match", b"if-modified-since", b"if-unmodified-since"}
)
_NO_CONDITIONS: Final = Conditions()
_NO_FIELDS: Final[dict[str, list[str]]] = {}
_NO_LINES: Final[list[str]] = []


def conditions(request: Request) -> Conditions:
    """The request's conditional header fields (400 if one is malformed)."""
    lines = condition_fields(request)
    if not lines:
        return _NO_CONDITIONS
    # A look-up function: the names are lower-case already, nothing to fold.
    return Conditions.from_headers(lambda name: lines.get(name, _NO_LINES))


def condition_fields(request: Request) -> dict[str, list[str]]:
    """The lines of the request's conditional header fields, by lower-case name, unparsed."""
    # One pass over the raw header list (ASGI names are lower-case bytes);
    # most requests carry one conditional field or none.
    lines: dict[str, list[str]] | None = None
    for name, value in request.scope["headers"]:
        if name in _CONDITIONAL:
            if lines is None:
                lines = {}
            lines.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
    return _NO_FIELDS if lines is None else lines


def query_value(request: Request, name: str) -> str | None:
    """The query parameter's value, None when absent, 400 when given more than once."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidParameter.given_twice(name)
    return values[0] if values else None


@overload
def int_parameter(request: Request, name: str, *, default: int, low: int, high: int) -> int: ...
@overload
def int_parameter(
    request: Request, name: str, *, default: None, low: int, high: int
) -> int | None: ...
def int_parameter(
    request: Request, name: str, *, default: int | None, low: int, high: int
) -> int | None:
    """An integer query parameter within [low, high], or `default` when absent."""
    raw = query_value(request, name)
    if raw is None:
        return default
    # A text longer than `high` is written cannot be in range (and int()
    # refuses one of over 4300 digits).
    fits = len(raw) <= len(str(high)) and raw.isascii() and raw.isdigit()
    if not (fits and low <= int(raw) <= high):
        raise InvalidParameter(
            f"{name} must be a whole number from {low} to {high}, not {_shown(raw)}", parameter=name
        )
    return int(raw)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The whole body, refused with 413 as soon as it exceeds `max_bytes`, 415 when coded.

    A body whose client went away before its end is never returned:
    Starlette's `ClientDisconnect` is raised on the disconnect, so the
    handler stops before it writes anything, and the handler
    `httpconflict.starlette.install` registers answers nothing (the access
    log says 499).
    """
    return await _read_body(request, _body_fields(request), max_bytes)


async def read_document(request: Request, max_bytes: int) -> tuple[bytes, dict[str, Any]]:
    """A JSON object body: its bytes as received, and its parsed value."""
    fields = _body_fields(request)
    require_media_type(content_type_of(fields.types), (JSON,))
    body = await _read_body(request, fields, max_bytes)
    return body, parse_json_object(body)


@dataclass(slots=True)
class _BodyFields:
    """The field lines that describe a request's body, found in one pass over its head."""

    types: list[str] = field(default_factory=list)
    codings: list[str] = field(default_factory=list)
    length: bytes | None = None  # the first Content-Length line


def _body_fields(request: Request) -> _BodyFields:
    # The raw list, not ``request.headers``: three look-ups there are three scans.
    found = _BodyFields()
    for name, value in request.scope["headers"]:
        if name == b"content-type":
            found.types.append(value.decode("latin-1"))
        elif name == b"content-length":
            if found.length is None:
                found.length = value
        elif name == b"content-encoding":
            found.codings.append(value.decode("latin-1"))
    return found


async def _read_body(request: Request, fields: _BodyFields, max_bytes: int) -> bytes:
    require_identity_coding(fields.codings)
    declared = fields.length
    if (
        declared is not None
        and declared.isascii()
        and declared.isdigit()
        and (len(declared) > len(str(max_bytes)) or int(declared) > max_bytes)
    ):
        raise _too_large(max_bytes)
    # The ASGI messages read here, not through ``request.stream()``: an async
    # generator costs each request the event loop's hooks (a WeakSet entry
    # made and dropped), 40% of this function's bytecodes on a PUT.
    receive = request.receive
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(max_bytes: int) -> ContentTooLarge:
    return ContentTooLarge(f"the body exceeds the limit of {max_bytes} bytes", max_bytes=max_bytes)


def _shown(raw: str, limit: int = 40) -> str:
    """A client's value quoted in a problem's detail, cut short: the client sent it whole."""
    return repr(raw) if len(raw) <= limit else f"{raw[:limit]!r}... ({len(raw)} characters)"
