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

    document_idempotency(schema, policy)

adds, to each operation an Idempotency-Key policy covers (an
`IdempotencyPolicy`, or a middleware's ``route_policy``: the policy a
request to a path gets), the Idempotency-Key header field (required when
the policy requires a key), the answers the key brings (400 malformed or
missing, 409 in flight, 422 reused, 503 when the key store does not
answer) and the ``Idempotent-Replayed`` field of its successful answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from ._idempotency import MAX_KEY_LENGTH
from ._idempotency_policy import IdempotencyPolicy
from ._problem import MEDIA_TYPE

__all__ = [
    "PRECONDITION_HEADERS",
    "PROBLEM_DETAILS",
    "Operation",
    "RoutePolicy",
    "document_idempotency",
    "document_problems",
    "idempotency_key_parameter",
    "statuses",
]

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
    # A key in flight is added by `document_idempotency`, where a policy covers the route.
    409: "Conflict: a unique field's value is taken (`conflicts` names the fields), or a "
    "patch rebased on the current version clashes with a change made since (`conflicts`).",
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
    _add_problem_details(schema)
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
                responses[str(status)] = _problem_answer(WHY[status])
    # HTTPValidationError first: it is what refers to ValidationError.
    for name in ("HTTPValidationError", "ValidationError"):
        _drop_if_unreferenced(schema, name)


#: An ASGI or WSGI middleware's ``route_policy``: the policy of a request
#: with this method to this path (a path template, such as ``/notes/{id}``).
RoutePolicy: TypeAlias = Callable[[str, str], IdempotencyPolicy | None]

IDEMPOTENCY_WHY: Final = {
    400: "The Idempotency-Key is malformed (empty, over 255 characters, not ASCII, sent twice).",
    409: "A request with this Idempotency-Key is still being processed: send it again after "
    "Retry-After, with the same key, to get its answer.",
    422: "This Idempotency-Key was sent with another request (another method, URL, caller, "
    "body, or precondition, Content-Type, Content-Encoding or Prefer field): use a new key "
    "for a new request.",
    503: "The idempotency-key store does not answer; nothing was applied: send the same "
    "request again, with the same key, after Retry-After.",
}
_MISSING_KEY: Final = "This operation requires an Idempotency-Key."
_RETRY_AFTER: Final = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}
_REPLAYED: Final = {
    "Idempotent-Replayed": {
        "description": "true on an answer replayed from its Idempotency-Key: the request "
        "had run already, and this is its recorded answer.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def idempotency_key_parameter(*, required: bool) -> dict[str, Any]:
    """The Idempotency-Key header field, as an OpenAPI parameter."""
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": required,
        "description": "A unique value per request (a UUID), sent again unchanged when the "
        "request is retried: the retry then gets the first answer (marked "
        "Idempotent-Replayed: true) instead of running again. A quoted string "
        f'("...") or a token, of at most {MAX_KEY_LENGTH} characters.',
        # A quoted key is two characters longer than the key.
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH + 2},
    }


def document_idempotency(schema: dict[str, Any], policy: IdempotencyPolicy | RoutePolicy) -> None:
    """Document Idempotency-Key on every operation of `schema` that `policy` covers.

    `policy`: one `IdempotencyPolicy` for every path, or a function of a
    method and a path template giving the policy (None: no keys there),
    such as an ``IdempotencyMiddleware``'s ``route_policy``.
    """
    policy_of: RoutePolicy = policy if callable(policy) else (lambda _method, _path: policy)
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            found = policy_of(method.upper(), path) if operation is not None else None
            if found is not None and method.upper() in found.methods:
                _add_problem_details(schema)
                _document_key(operation, required=found.required)


def _document_key(operation: dict[str, Any], *, required: bool) -> None:
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    if not any(
        p.get("in") == "header" and str(p.get("name", "")).lower() == "idempotency-key"
        for p in parameters
    ):
        parameters.append(idempotency_key_parameter(required=required))
    responses = operation.setdefault("responses", {})
    for status, answer in responses.items():
        if status.startswith("2"):
            answer.setdefault("headers", {}).update(_REPLAYED)
    for status, why in IDEMPOTENCY_WHY.items():
        if status == 400 and required:
            why = f"{why} {_MISSING_KEY}"
        answer = responses.setdefault(str(status), _problem_answer(why))
        if why not in answer.get("description", ""):
            answer["description"] = f"{answer['description']} Or: {why}"
        answer["content"] = {MEDIA_TYPE: {"schema": _REF}}
        if status in (409, 503):
            answer.setdefault("headers", {}).update(_RETRY_AFTER)


def _problem_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": _REF}}}


def _add_problem_details(schema: dict[str, Any]) -> None:
    schema.setdefault("components", {}).setdefault("schemas", {})["ProblemDetails"] = (
        PROBLEM_DETAILS
    )


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
