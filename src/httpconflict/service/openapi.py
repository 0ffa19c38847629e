"""OpenAPI descriptions of what FastAPI cannot see in the handlers' signatures.

The handlers read their bodies and conditional headers themselves (to answer
400/413/415/422 problems exactly), so the headers, the request bodies and
the problem answers are described here and merged into the generated
document through each route's `responses` and `openapi_extra`.
"""

from __future__ import annotations

from typing import Any, Final

from .._problem import MEDIA_TYPE, PROBLEM_TYPES

PROBLEM_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri",
            "enum": sorted(t.uri for t in PROBLEM_TYPES.values()),
        },
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "current_etag": {
            "type": ["string", "null"],
            "description": "412: the entity-tag now current (null if the document is absent).",
        },
    },
    "additionalProperties": True,
}

_ETAG_HEADER: Final = {
    "description": "Strong entity-tag of the document.",
    "schema": {"type": "string"},
}
_LAST_MODIFIED: Final = {
    "description": "HTTP-date of the last change.",
    "schema": {"type": "string"},
}

_WHY: Final = {
    304: "Not modified: If-None-Match names the current ETag (or If-Modified-Since is not older).",
    400: "Malformed header, JSON, name or parameter.",
    404: "No such document.",
    412: "The document changed (see `current_etag`), or exists (If-None-Match: *).",
    413: "Body over the size limit.",
    415: "Content-Type is not application/json.",
    422: "The body is JSON but not an object.",
    428: "The document exists and the request has no If-Match.",
    503: "The database is busy or unreachable; retry after Retry-After.",
}


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


IF_MATCH: Final = _header(
    "If-Match", 'Write only if the current ETag is one of these (strong comparison), e.g. "abc".'
)
IF_NONE_MATCH: Final = _header(
    "If-None-Match", "GET: 304 if it names the current ETag. PUT: `*` creates only if absent."
)
IF_MODIFIED_SINCE: Final = _header(
    "If-Modified-Since", "GET: 304 unless changed since (HTTP-date)."
)
IF_UNMODIFIED_SINCE: Final = _header(
    "If-Unmodified-Since", "Write only if unchanged since (HTTP-date); ignored with If-Match."
)

_JSON_OBJECT_BODY: Final = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
}


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        if status == 304:
            out[status] = {"description": _WHY[status], "headers": {"ETag": _ETAG_HEADER}}
        else:
            out[status] = {
                "description": _WHY[status],
                "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
    return out


def _document(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"ETag": _ETAG_HEADER, "Last-Modified": _LAST_MODIFIED},
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


GET_DOCUMENT: Final[dict[str, Any]] = {
    "summary": "Read a document",
    "responses": {200: _document("The document."), **_responses(304, 400, 404, 412)},
    "openapi_extra": {
        "parameters": [IF_NONE_MATCH, IF_MODIFIED_SINCE, IF_MATCH, IF_UNMODIFIED_SINCE]
    },
}
HEAD_DOCUMENT: Final[dict[str, Any]] = {
    **GET_DOCUMENT,
    "summary": "Read a document's headers",
    "operation_id": "head_document",
}
PUT_DOCUMENT: Final[dict[str, Any]] = {
    "summary": "Create or replace a document",
    "responses": {
        200: _document("Replaced (or already in the state sent)."),
        201: _document("Created."),
        **_responses(400, 412, 413, 415, 422, 428, 503),
    },
    "openapi_extra": {
        "parameters": [IF_MATCH, IF_NONE_MATCH, IF_UNMODIFIED_SINCE],
        "requestBody": _JSON_OBJECT_BODY,
    },
}
DELETE_DOCUMENT: Final[dict[str, Any]] = {
    "summary": "Delete a document",
    "responses": {204: {"description": "Deleted."}, **_responses(400, 404, 412, 428, 503)},
    "openapi_extra": {"parameters": [IF_MATCH, IF_UNMODIFIED_SINCE]},
}
POST_DOCUMENT: Final[dict[str, Any]] = {
    "summary": "Create a document with a new id",
    "responses": {
        201: {
            **_document("Created; Location names it."),
            "headers": {
                "Location": {
                    "description": "The new document's URL.",
                    "schema": {"type": "string"},
                },
                "ETag": _ETAG_HEADER,
                "Last-Modified": _LAST_MODIFIED,
            },
        },
        **_responses(400, 413, 415, 422, 503),
    },
    "openapi_extra": {"requestBody": _JSON_OBJECT_BODY},
}
_PAGE: Final = {
    "type": "object",
    "required": ["items", "next"],
    "properties": {
        "items": {"type": "array", "items": {"type": "object"}},
        "next": {"type": ["string", "null"], "description": "URL of the next page, or null."},
    },
}
LIST_DOCUMENTS: Final[dict[str, Any]] = {
    "summary": "List a collection's documents",
    "responses": {
        200: {
            "description": "One page, ordered by id.",
            "content": {"application/json": {"schema": _PAGE}},
        },
        **_responses(400),
    },
}
LIST_VERSIONS: Final[dict[str, Any]] = {
    "summary": "A document's version history",
    "responses": {
        200: {
            "description": "Versions, newest first.",
            "content": {"application/json": {"schema": _PAGE}},
        },
        **_responses(400, 404),
    },
}
