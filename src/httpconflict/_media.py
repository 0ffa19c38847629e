"""Request bodies: media types and JSON documents, checked strictly.

A body that a JSON parser somewhere else would read differently is refused
here, so the bytes stored are the bytes every reader agrees on: UTF-8 only
(RFC 8259 §8.1), no NaN or Infinity (not JSON), no duplicate member names
(RFC 8259 §4 leaves their meaning to the parser), and nothing outside the
JSON domain (`httpconflict._json_domain`: depth, numbers, strings).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Final

from ._errors import (
    ContentTooLarge,
    InvalidDocument,
    JsonLimitExceeded,
    MalformedHeader,
    MalformedJSON,
    ProblemError,
    UnsupportedMediaType,
)
from ._json_domain import (
    DEFAULT_LIMITS,
    JsonLimits,
    check_parsed,
    nested_too_deeply,
    number_hooks,
)
from ._json_value import json_type

JSON: Final = "application/json"
#: The most bytes of body a reader takes unless told otherwise (1 MiB, the
#: service's default): a body is read into memory whole before it is parsed.
DEFAULT_MAX_BODY: Final = 1024 * 1024


def check_body_size(size: int | None, limit: int | None) -> None:
    """Raise `ContentTooLarge` (413 naming `limit`) when `size` bytes pass `limit`.

    `size` is a declared Content-Length (checked before anything is read)
    or what was read so far; None (not declared, or no limit) passes.
    """
    if size is not None and limit is not None and size > limit:
        raise ContentTooLarge(f"the body exceeds the limit of {limit} bytes", max_bytes=limit)


def read_whole(content_type: str | None) -> bool:
    """Whether a body of `content_type` is one a framework reads into memory whole to parse.

    JSON (``application/json``, any ``+json``, or no Content-Type, which
    FastAPI reads as JSON) and URL-encoded forms: the bodies a size limit
    is for. A file upload (``multipart/form-data``, spooled to disk as it
    arrives) or a raw stream is the app's to bound.
    """
    if content_type is None or not content_type.strip():
        return True
    essence, _ = parse_media_type(content_type)
    return essence in (JSON, "application/x-www-form-urlencoded") or essence.endswith("+json")


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type value into a lower-cased ``type/subtype`` and parameters.

    media-type = type "/" subtype parameters  (RFC 9110 §8.3.1)
    """
    essence, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        name, eq, param_value = part.strip().partition("=")
        if eq:
            params[name.strip().lower()] = param_value.strip().strip('"')
    return essence.strip().lower(), params


# RFC 9110 §5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE.
# Matches from the start up to the first comma outside a quoted string, or
# up to a quote no later one closes; possessive throughout, so in linear
# time. (Removing the quoted strings with a regex that tried each quote
# again, a value of 16,000 escaped quotes took 6.5 s, 64 KiB some 26 s.)
_UP_TO_A_COMMA: Final = re.compile(r'[^",]*+(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"[^",]*+)*+', re.DOTALL)


def _holds_a_list(value: str) -> bool:
    """Whether `value` has a comma outside its quoted strings (one left open is not one)."""
    if '"' not in value or "," not in value:
        return "," in value
    stop = _UP_TO_A_COMMA.match(value)
    assert stop is not None  # it matches the empty string
    return "," in value[stop.end() :]


def content_type_of(lines: Sequence[str]) -> str | None:
    """The request's Content-Type from its field lines, as one value: None when it sent none.

    Several lines make a list, which `require_media_type` refuses.
    """
    return ", ".join(lines) if lines else None


def require_media_type(content_type: str | None, accept: Collection[str]) -> str:
    """Return the request's media type if it is one of `accept`, else raise 415.

    A charset parameter other than UTF-8 is refused too: JSON text exchanged
    between systems "MUST be encoded using UTF-8" (RFC 8259 §8.1). Several
    media types (the field sent twice, or a list) are a 400.
    """
    if not content_type:
        raise UnsupportedMediaType(
            f"the request has a body but no Content-Type; send one of {', '.join(accept)}",
            accept=accept,
        )
    if _holds_a_list(content_type):
        # A singleton field (RFC 9110 §8.3) sent twice, or as a list: recipients differ on
        # which one counts (the first, the last), so a proxy and this server could read the
        # body as two types.
        raise MalformedHeader(
            "Content-Type: send one media type, not several",
            value=content_type,
            header="Content-Type",
        )
    essence, params = parse_media_type(content_type)
    if essence not in accept:
        hint = ""
        if essence.endswith("patch+json"):
            hint = "; a patch document is sent with PATCH, not PUT or POST"
        raise UnsupportedMediaType(
            f"media type {essence!r} is not accepted here; send one of {', '.join(accept)}{hint}",
            accept=accept,
        )
    charset = params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(
            f"charset {charset!r} is not accepted; JSON is UTF-8 (RFC 8259 §8.1)",
            accept=accept,
        )
    return essence


def require_identity_coding(content_encoding: Iterable[str]) -> None:
    """Raise 415 unless the request's Content-Encoding lines name no coding but identity.

    A body is read as it came: a coded one (gzip) is other bytes than the
    document, and taking it as plain stores what the client did not send.
    RFC 9110 §12.5.3: a server that refuses a request's content coding
    answers 415 and "SHOULD include an Accept-Encoding header field in the
    response" naming the codings it takes (`accept_encoding`).
    """
    codings = [
        element.strip(" \t")
        for line in content_encoding
        for element in line.split(",")
        if element.strip(" \t")
    ]
    refused = [coding for coding in codings if coding.lower() != "identity"]
    if refused:
        raise UnsupportedMediaType(
            f"Content-Encoding {', '.join(refused)!r} is not accepted: send the body as it is, "
            "with no content coding",
            accept=(),
            accept_encoding=("identity",),
        )


def parse_json_object(body: bytes, limits: JsonLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Parse a body that must be one JSON object; raise 400 or 422 otherwise."""
    value = parse_json(body, limits)
    if not isinstance(value, dict):
        kind = json_type(value)
        raise InvalidDocument(
            f"a document must be a JSON object, not a JSON {kind}", json_type=kind
        )
    return value


def parse_stored_document(body: bytes, limits: JsonLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """A document as a store holds it, parsed as strictly as a body.

    A document stored before the JSON domain held it (by an older version,
    or by hand) may be outside it; a patch of it is refused with a 422
    saying so, never a failure deeper in: replacing it whole with a PUT
    is the way out.
    """
    try:
        return parse_json_object(body, limits)
    except ProblemError as error:
        detail = f"the stored document is outside what is accepted now ({error}); PUT a new one"
        if isinstance(error, JsonLimitExceeded):
            raise JsonLimitExceeded(
                detail,
                limit=error.limit,
                maximum=error.maximum,
                pointer=error.pointer,
                number=error.number,
            ) from None
        raise InvalidDocument(detail) from None


def parse_json(body: bytes, limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """Parse a JSON text strictly; raise `MalformedJSON`, `InvalidDocument` or `JsonLimitExceeded`.

    `limits` are the JSON domain's (see `JsonLimits`).
    """
    if not body:
        raise MalformedJSON("the request body is empty; send a JSON text")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedJSON(
            f"the body is not UTF-8 (invalid byte at offset {error.start})"
        ) from None
    if text.startswith("\ufeff"):
        # RFC 8259 §8.1: "Implementations MUST NOT add a byte order mark (U+FEFF) to the
        # beginning of a networked-transmitted JSON text." Refused (a parser MAY ignore
        # it), but by name: the text after it is valid, and "Expecting value at line 1
        # column 1" points at nothing its sender can see.
        raise MalformedJSON(
            "the body starts with a byte order mark (U+FEFF), which JSON sent over a network "
            "does not have (RFC 8259 §8.1): send the JSON text without it",
            line=1,
            column=1,
        )
    try:
        value = _decoder(limits).decode(text)
    except json.JSONDecodeError as error:
        raise MalformedJSON(
            f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}",
            line=error.lineno,
            column=error.colno,
        ) from None
    except RecursionError:
        # The parser recursed into the interpreter's limit: far deeper than
        # the domain's (which is well below it).
        raise nested_too_deeply(limits) from None
    check_parsed(text, value, limits)
    return value


def _refuse_constant(name: str) -> Any:
    raise MalformedJSON(f"{name} is not a JSON value (RFC 8259 §6)")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise InvalidDocument(
                    f"member name {name!r} appears more than once in one object",
                    member=name,
                )
            seen.add(name)
    return obj


# One decoder per limits: json.loads with arguments builds a new one each time.
@functools.cache
def _decoder(limits: JsonLimits) -> json.JSONDecoder:
    parse_int, parse_float = number_hooks(limits)
    return json.JSONDecoder(
        parse_constant=_refuse_constant,
        object_pairs_hook=_unique_members,
        parse_int=parse_int,
        parse_float=parse_float,
    )
