"""OpenAPI 3.1 fragments for httpconflict's answers, for any framework's document.

    document_problems(schema, [Operation("/notes/{id}", "put", preconditions=True, body=True)])

adds to each listed operation of an OpenAPI document the answers
httpconflict gives it, as ``application/problem+json`` referring to one
``ProblemDetails`` component, and to an operation with preconditions its
four header fields (If-Match, If-None-Match, If-Modified-Since,
If-Unmodified-Since) where they are not declared yet: 304 for a GET or HEAD with preconditions;
409, 412 and 428 for a write with preconditions; 400, 415 and 422 for an
operation with a body; 404 for one with path parameters; 400 for query or
header parameters. A 422 already documented (FastAPI's validation error)
is replaced, since the answer is now a problem. Framework-free: an adapter
lists its routes as `Operation` values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from ._problem import MEDIA_TYPE

PROBLEM_DETAILS: Final[dict[str, Any]] = {
    "title": "ProblemDetails",
    "type": "object",
    "description": "RFC 9457 problem details: `type` is a stable URI a program can branch on.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference", "default": "about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "format": "uri-reference"},
        "current_etag": {
            "type": ["string", "null"],
            "description": "412: the ETag now stored, to send in If-Match after re-reading "
            "(null when the resource does not exist).",
        },
        "conflicts": {
            "type": "array",
            "items": {"type": "object"},
            "description": "409 unique-violation: [{fields, constraint}] the write would "
            "duplicate; another record's values are not shown.",
        },
        "errors": {
            "type": "array",
            "items": {"type": "object"},
            "description": "422: each invalid part of the body, as {location, message, kind}.",
        },
        "header": {"type": "string", "description": "400: the malformed header field."},
        "parameter": {"type": "string", "description": "400: the invalid parameter."},
        "accept": {
            "type": "array",
            "items": {"type": "string"},
            "description": "415: the media types accepted.",
        },
        "retry_after": {"type": "integer", "description": "Seconds to wait before retrying."},
        "incident": {
            "type": "string",
            "description": "5xx: the id of the server's log line that says what failed.",
        },
    },
    "additionalProperties": True,
}

_REF: Final = {"$ref": "#/components/schemas/ProblemDetails"}

WHY: Final = {
    304: "Not Modified: If-None-Match names the current ETag (or If-Modified-Since is not older).",
    400: "A malformed header, parameter or JSON body.",
    404: "Nothing exists at this URL.",
    409: "Conflict: a unique field's value is taken (`conflicts` names the fields), or a "
    "request with this Idempotency-Key is still being processed.",
    412: "Precondition Failed: the stored version is not one If-Match names "
    "(`current_etag` is the one stored), or it exists and If-None-Match is *.",
    415: "The body is not application/json.",
    422: "The body is JSON but not acceptable here (`errors` says where).",
    428: "Precondition Required: the resource exists and the request has no If-Match.",
}


#: The precondition header fields, and what each one does.
PRECONDITION_HEADERS: Final = (
    ("If-Match", "Write only if the stored version is one of these ETags (412 if not)"),
    ("If-None-Match", "GET: 304 if your copy is current; PUT with *: create only"),
    ("If-Modified-Since", "GET: 304 if not changed since this date"),
    ("If-Unmodified-Since", "Write only if not changed since this date"),
)


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the document, and what about it decides its answers."""

    path: str
    method: str
    preconditions: bool = False
    body: bool = False
    path_parameters: bool = False
    other_parameters: bool = False


def statuses(operation: Operation) -> list[int]:
    """The problem (and 304) answers httpconflict may give `operation`."""
    safe = operation.method.upper() in ("GET", "HEAD")
    found: set[int] = set()
    if operation.preconditions:
        found |= {304, 412} if safe else {409, 412, 428}
        found.add(400)  # a malformed If-Match
    if operation.body:
        found |= {400, 415, 422}
    if operation.path_parameters:
        found.add(404)
    if operation.other_parameters:
        found.add(400)
    return sorted(found)


def document_problems(schema: dict[str, Any], operations: Iterable[Operation]) -> None:
    """Add the answers of `operations` (and the ProblemDetails component) to `schema`."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ProblemDetails"] = PROBLEM_DETAILS
    for operation in operations:
        found = schema.get("paths", {}).get(operation.path, {}).get(operation.method.lower())
        if found is None:
            continue
        if operation.preconditions:
            _declare_headers(found)
        responses = found.setdefault("responses", {})
        wanted = statuses(operation)
        if "422" in responses and 422 not in wanted:
            wanted.append(422)
        for status in wanted:
            if status == 304:
                responses["304"] = {"description": WHY[304]}
            else:
                responses[str(status)] = {
                    "description": WHY[status],
                    "content": {MEDIA_TYPE: {"schema": _REF}},
                }
    # HTTPValidationError first: it is what refers to ValidationError.
    for name in ("HTTPValidationError", "ValidationError"):
        _drop_if_unreferenced(schema, name)


def _declare_headers(operation: dict[str, Any]) -> None:
    """Add the precondition header fields the operation does not declare yet."""
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    declared = {(p.get("in"), str(p.get("name", "")).lower()) for p in parameters}
    for name, description in PRECONDITION_HEADERS:
        if ("header", name.lower()) not in declared:
            parameters.append(
                {
                    "name": name,
                    "in": "header",
                    "required": False,
                    "description": description,
                    "schema": {"type": "string"},
                }
            )


def _drop_if_unreferenced(schema: dict[str, Any], name: str) -> None:
    """Remove a component schema nothing refers to any more (a replaced 422 body)."""
    components = schema["components"]["schemas"]
    if name not in components:
        return
    rest = {**schema, "components": {**schema["components"], "schemas": dict(components)}}
    del rest["components"]["schemas"][name]
    if f'"#/components/schemas/{name}"' not in json.dumps(rest):
        del components[name]
