"""The service's OpenAPI 3.1 document, written out.

The handlers read raw requests, so there are no typed signatures to
generate this from; everything a generator would add (parameters, bodies,
responses) had to be described by hand anyway, together with the
conditional headers and problem answers it cannot see. The document is
checked against the OpenAPI 3.1 schema by the test suite.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from .. import PROBLEM_TYPES
from ..problem_types import MEDIA_TYPE
from . import openapi_changes

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
        "header": {"type": "string", "description": "400: the malformed header field."},
        "parameter": {"type": "string", "description": "400: the invalid parameter."},
        "max_bytes": {
            "type": "integer",
            "description": "413: the body size limit; 431: the request head's size limit.",
        },
        "timeout": {
            "type": "number",
            "description": "408: the seconds a request's head or body had to arrive whole.",
        },
        "accept": {
            "type": "array",
            "items": {"type": "string"},
            "description": "415: accepted media types.",
        },
        "retry_after": {
            "type": "integer",
            "description": "503, 504: seconds to wait before retrying.",
        },
        "limit": {
            "type": "string",
            "description": "422 json-limit: the limit the JSON is beyond (depth, number-digits, "
            "number-exponent, number-range, number-precision, lone-surrogate, nul-character).",
        },
        "max": {"type": "integer", "description": "422 json-limit: the limit's value."},
        "pointer": {
            "type": "string",
            "description": "Where the value is (a JSON pointer); for a JSON Patch error, the "
            "location the operation could not use.",
        },
        "number": {"type": "string", "description": "422 json-limit: the refused number's text."},
        "incident": {
            "type": "string",
            "description": "500, and a 503 or 504 for a failing database: the id of the "
            "server's log line that says what failed (quote it to the operator).",
        },
        "fields": {
            "type": "array",
            "items": {"type": "string"},
            "description": "422 unique-value-unsupported: the unique key whose field holds "
            "the value refused.",
        },
        "reason": {
            "type": "string",
            "description": "422 unique-value-unsupported: why the value is refused (object, "
            "array, integer-range, number-precision).",
        },
        "documents": {
            "type": "array",
            "items": {"type": "string"},
            "description": "422 unique-value-unsupported, for a declaration: up to ten stored "
            "documents holding such a value.",
        },
        "conflicts": {
            "type": "array",
            "items": {"type": "object"},
            "description": "409 unique-violation: the unique keys the write would duplicate, "
            "as {fields, constraint}; the values taken are not shown.",
        },
    },
    "additionalProperties": True,
}

_HEADER_SCHEMA: Final = {"schema": {"type": "string"}}
_ETAG: Final = {"description": "Strong entity-tag of the document.", **_HEADER_SCHEMA}
_LAST_MODIFIED: Final = {"description": "HTTP-date of the last change.", **_HEADER_SCHEMA}
_LINK: Final = {"description": 'The next page: <url>; rel="next".', **_HEADER_SCHEMA}
_PAGE_ETAG: Final = {
    "description": "Weak entity-tag of the page: what it lists, and which versions.",
    **_HEADER_SCHEMA,
}

_WHY: Final = {
    304: "Not modified: If-None-Match names the current ETag (or If-Modified-Since is not older).",
    400: "Malformed header, JSON, name or parameter.",
    410: "The change feed no longer keeps every change after `since` (changes-expired; "
    "`oldest` is the smallest since accepted): read the collection again, then follow from now.",
    404: "No such document.",
    405: "Method not allowed; Allow lists the supported ones.",
    409: "A unique field's value is taken by another document (`conflicts` names the fields), "
    "or a request with this Idempotency-Key is still being processed (retry after Retry-After).",
    412: "The document changed (see `current_etag`), or exists (If-None-Match: *).",
    413: "Body over the size limit.",
    415: "Content-Type is not application/json.",
    422: "The body is not a JSON object, holds JSON beyond the limits (`limit` names which: "
    "depth, number-digits, number-range...), gives a unique field a value SQLite and "
    "PostgreSQL compare differently (unique-value-unsupported: an object, an array, an "
    "integer beyond ±2^53, a number of more than 15 significant digits; `fields`, "
    "`pointer`, `reason`), or the Idempotency-Key named another request.",
    428: "The document exists and the request has no If-Match.",
    503: "The database could not take the request (unreachable, a lock held too long, "
    "read-only, its disk full: the detail says which); nothing was applied; retry after "
    "Retry-After.",
    401: "With authentication on (--auth): no credentials, or refused ones (see WWW-Authenticate).",
    403: "With authentication on: the caller lacks the right (`right`: read, write or admin) "
    "on the collection; the same answer whether the document exists or not.",
    504: "PostgreSQL's connection broke after the write was sent (outcome-unknown): it may "
    "have been applied; send the same request with the same Idempotency-Key to learn which.",
}


def _parameter(name: str, where: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
    }


_NAME: Final = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._~:@-]{0,254}$"}
COLLECTION: Final = _parameter("collection", "path", "Collection name.", _NAME)
DOC_ID: Final = _parameter("doc_id", "path", "Document id.", _NAME)
# "*" or a list of entity-tags (RFC 9110 §13.1.1), exactly as the parser
# takes it: OWS around elements, empty list elements ignored.
_TAG_RE: Final = r'(W/)?"[!#-~\x80-\xff]*"'
_SEP_RE: Final = r"[ \t]*,[ \t,]*"
ENTITY_TAGS: Final = {
    "type": "string",
    "pattern": rf"^[ \t,]*(\*|{_TAG_RE}({_SEP_RE}{_TAG_RE})*)[ \t,]*$",
}
IF_MATCH: Final = _parameter(
    "If-Match",
    "header",
    'Write only if the current ETag is one of these (strong comparison), e.g. "abc".',
    ENTITY_TAGS,
)
IF_NONE_MATCH: Final = _parameter(
    "If-None-Match",
    "header",
    "GET: 304 if it names the current ETag. PUT: `*` creates only if absent.",
    ENTITY_TAGS,
)
IF_MODIFIED_SINCE: Final = _parameter(
    "If-Modified-Since", "header", "GET: 304 unless changed since (HTTP-date).", {"type": "string"}
)
IF_UNMODIFIED_SINCE: Final = _parameter(
    "If-Unmodified-Since",
    "header",
    "Write only if unchanged since (HTTP-date); ignored with If-Match.",
    {"type": "string"},
)


IDEMPOTENCY_KEY: Final = _parameter(
    "Idempotency-Key",
    "header",
    "A unique value per request, sent again unchanged when the request is retried: the "
    "retry then gets the first answer (marked Idempotent-Replayed: true), a refusal as well "
    'as a success, instead of running again. A quoted string ("..."), or a token, of at '
    "most 255 characters. The answer is recorded in the write's own transaction.",
    {"type": "string", "minLength": 1, "maxLength": 257},
)
#: On a collection's settings: never required (a replacement is the same made twice).
SETTINGS_IDEMPOTENCY_KEY: Final = _parameter(
    "Idempotency-Key",
    "header",
    "A unique value per request, sent again unchanged when the PUT is retried: the retry "
    "then gets the first answer (marked Idempotent-Replayed: true), not a 412 for its own "
    "write. Optional even where writes to documents need one. The answer is recorded once "
    "the settings are written, under a claim held meanwhile; a service stopped in between "
    "runs the retry again once the claim's lease has ended.",
    {"type": "string", "minLength": 1, "maxLength": 257},
)
PREFER: Final = _parameter(
    "Prefer",
    "header",
    "RFC 7240. `rebase`: a patch whose If-Match is stale is merged into the current version "
    "when it touches nothing changed since (the answer carries Preference-Applied: rebase "
    "and Rebased-From), and is a 409 merge-conflict when it does; without it a stale patch "
    "is a 412.",
    {"type": "string"},
)
_REPLAYED: Final = {
    "Idempotent-Replayed": {
        "description": "true on an answer replayed from its Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _limit(default: int) -> dict[str, Any]:
    return _parameter(
        "limit",
        "query",
        "Items per page.",
        {"type": "integer", "minimum": 1, "maximum": 1000, "default": default},
    )


_JSON_OBJECT_BODY: Final = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
}
_PATCH_BODY: Final = {
    "required": True,
    "content": {
        "application/merge-patch+json": {
            "schema": {"description": "RFC 7396 JSON Merge Patch: null removes a member."}
        },
        "application/json-patch+json": {
            "schema": {
                "type": "array",
                "description": "RFC 6902 JSON Patch: add, remove, replace, move, copy, test.",
                "items": {
                    "type": "object",
                    "required": ["op", "path"],
                    "properties": {
                        "op": {
                            "enum": ["add", "remove", "replace", "move", "copy", "test"],
                        },
                        "path": {"type": "string"},
                        "from": {"type": "string"},
                        "value": {},
                    },
                },
            }
        },
    },
}
_REBASED_FROM: Final = {
    "description": "Present when the patch was rebased: the ETag it was made from.",
    "schema": {"type": "string"},
}
_PREFERENCE_APPLIED: Final = {
    "description": "`rebase` when the patch was rebased (RFC 7240 §3).",
    "schema": {"type": "string", "enum": ["rebase"]},
}
_PAGE: Final = {
    "type": "object",
    "required": ["items", "next"],
    "properties": {
        "items": {"type": "array", "items": {"type": "object"}},
        "next": {"type": ["string", "null"], "description": "URL of the next page, or null."},
    },
}


_FIELD: Final = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_-]{0,63}$"}
_UNIQUE: Final = {
    "type": "array",
    "maxItems": 16,
    "description": "Unique keys: a top-level field name, or a list of names unique together.",
    "items": {"oneOf": [_FIELD, {"type": "array", "minItems": 1, "maxItems": 8, "items": _FIELD}]},
}
_PURGE_ON_DELETE: Final = {
    "type": "boolean",
    "default": False,
    "description": "Every delete in the collection purges the document's history.",
}
_GRANTEES: Final = {
    "type": "array",
    "maxItems": 100,
    "items": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "role:<name>, authenticated, or a principal id (token:<name>, jwt:<sub>).",
}
_ACCESS: Final = {
    "type": "object",
    "description": "Who holds each right on the collection, besides the service's --grant "
    "rules (admin > write > read). Shown to admins only.",
    "properties": {"read": _GRANTEES, "write": _GRANTEES, "admin": _GRANTEES},
    "additionalProperties": False,
}
_SETTINGS: Final = {
    "type": "object",
    "required": ["unique"],
    "properties": {
        "unique": _UNIQUE,
        "purge_on_delete": _PURGE_ON_DELETE,
        "access": _ACCESS,
    },
    "additionalProperties": False,
}
_SETTINGS_ETAG: Final = {
    "description": "Strong entity-tag of the settings (as an admin reads them): If-Match takes it.",
    **_HEADER_SCHEMA,
}
_SETTINGS_ANSWER: Final = {
    "description": "The declaration in force (no unique keys if never declared).",
    "headers": {"ETag": _SETTINGS_ETAG},
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["collection", "unique"],
                "properties": {
                    "collection": {"type": "string"},
                    "unique": _UNIQUE,
                    "purge_on_delete": _PURGE_ON_DELETE,
                    "access": _ACCESS,
                },
            }
        }
    },
}


def _problems(*statuses: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in statuses:
        if status == 304:
            out[str(status)] = {"description": _WHY[status], "headers": {"ETag": _ETAG}}
        else:
            out[str(status)] = _problem(_WHY[status])
    return out


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _document(description: str, **headers: Any) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"ETag": _ETAG, "Last-Modified": _LAST_MODIFIED, **headers},
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


def _page(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"ETag": _PAGE_ETAG, "Link": _LINK},
        "content": {"application/json": {"schema": _PAGE}},
    }


#: A page answers If-None-Match with its weak ETag.
_PAGE_NOT_MODIFIED: Final = {
    "304": {
        "description": "Not modified: If-None-Match names the page's ETag.",
        "headers": {"ETag": _PAGE_ETAG},
    }
}
_PAGE_IF_NONE_MATCH: Final = _parameter(
    "If-None-Match", "header", "304 if it names the page's ETag (weak comparison).", ENTITY_TAGS
)


def _operation(
    operation_id: str, summary: str, responses: dict[str, Any], **more: Any
) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["documents"],
        "responses": responses,
        **more,
    }


_READ_HEADERS: Final = [IF_NONE_MATCH, IF_MODIFIED_SINCE, IF_MATCH, IF_UNMODIFIED_SINCE]
_READ_ANSWERS: Final = {"200": _document("The document."), **_problems(304, 400, 404, 412)}

_PROBLEM_TYPE_PAGE: Final = {
    "type": "object",
    "required": ["id", "type", "slug", "title", "status", "cause", "steps", "howto"],
    "properties": {
        "id": {"type": "string"},
        "type": {"type": "string", "format": "uri"},
        "slug": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "cause": {"type": "string"},
        "steps": {"type": "array", "items": {"type": "string"}},
        "references": {"type": "array", "items": {"type": "string"}},
        "howto": {"type": "object", "description": "The steps as a schema.org HowTo."},
    },
}

PATHS: Final[dict[str, Any]] = {
    "/v1/{collection}/{doc_id}": {
        "parameters": [COLLECTION, DOC_ID],
        "get": _operation(
            "get_document", "Read a document", _READ_ANSWERS, parameters=_READ_HEADERS
        ),
        "head": _operation(
            "head_document", "Read a document's headers", _READ_ANSWERS, parameters=_READ_HEADERS
        ),
        "put": _operation(
            "put_document",
            "Create (If-None-Match: *) or replace (If-Match) a document",
            {
                "200": _document(
                    "Replaced (or, with If-Match naming the current version, already this "
                    "body: no new version).",
                    **_REPLAYED,
                ),
                "201": _document("Created.", **_REPLAYED),
                "412": _problem(
                    "If-Match names a version that is not the current one, whatever the body "
                    "says (see `current_etag`); If-None-Match: * and the document exists; or "
                    "an If-Unmodified-Since date that cannot tell versions made in its second."
                ),
                **_problems(400, 409, 413, 415, 422, 428, 503, 504),
            },
            parameters=[IF_MATCH, IF_NONE_MATCH, IF_UNMODIFIED_SINCE, IDEMPOTENCY_KEY],
            requestBody=_JSON_OBJECT_BODY,
        ),
        "patch": _operation(
            "patch_document",
            "Change part of a document; with Prefer: rebase, a change made from an older "
            "version is merged",
            {
                "200": _document(
                    "Patched. With Prefer: rebase and a stale If-Match whose change touches "
                    "nothing changed since: merged into the current version.",
                    **{
                        "Rebased-From": _REBASED_FROM,
                        "Preference-Applied": _PREFERENCE_APPLIED,
                        **_REPLAYED,
                    },
                ),
                "409": _problem(
                    "`merge-conflict` (Prefer: rebase): the change touches what changed since "
                    "its base, even with the same value (`conflicts`: [{pointer, base, "
                    "current, requested}], `current_etag`); `patch-test-failed`: a JSON Patch "
                    "test failed; `patch-not-applicable`: an operation names a location the "
                    "document lacks."
                ),
                "412": _problem(
                    "If-Match names a version that is not current, and no rebase was asked "
                    "for; or it was, but that version is no longer in the history (see "
                    "`current_etag`)."
                ),
                **_problems(400, 404, 413, 415, 422, 428, 503, 504),
            },
            parameters=[IF_MATCH, IF_NONE_MATCH, IF_UNMODIFIED_SINCE, PREFER, IDEMPOTENCY_KEY],
            requestBody=_PATCH_BODY,
        ),
        "delete": _operation(
            "delete_document",
            "Delete a document (If-Match required); ?purge=true: with its history",
            {
                "204": {"description": "Deleted.", "headers": _REPLAYED},
                **_problems(400, 404, 409, 412, 422, 428, 503, 504),
            },
            parameters=[
                IF_MATCH,
                IF_UNMODIFIED_SINCE,
                IDEMPOTENCY_KEY,
                _parameter(
                    "purge",
                    "query",
                    "true: erase the document's history with it (admin right); on a "
                    "document already deleted, erase the history its tombstone kept.",
                    {"type": "boolean", "default": False},
                ),
            ],
        ),
    },
    "/v1/{collection}": {
        "parameters": [COLLECTION],
        "get": _operation(
            "list_documents",
            "List a collection's documents, ordered by id",
            {
                "200": _page("One page: items {id, etag, last_modified, document}."),
                **_PAGE_NOT_MODIFIED,
                **_problems(400),
            },
            parameters=[
                _PAGE_IF_NONE_MATCH,
                _limit(100),
                _parameter(
                    "after", "query", "The last id of the previous page.", {"type": "string"}
                ),
            ],
        ),
        "post": _operation(
            "post_document",
            "Create a document with a new id",
            {
                "201": _document(
                    "Created; Location names it. A retry with the same Idempotency-Key gets "
                    "this answer again, with Idempotent-Replayed: true.",
                    Location={"description": "The new document's URL.", **_HEADER_SCHEMA},
                    **_REPLAYED,
                ),
                **_problems(400, 409, 413, 415, 422, 503, 504),
            },
            parameters=[IDEMPOTENCY_KEY],
            requestBody=_JSON_OBJECT_BODY,
        ),
    },
    "/v1/{collection}/_changes": {
        "parameters": [COLLECTION],
        "get": openapi_changes.operation(_problems(400, 410, 503)),
    },
    "/v1/{collection}/{doc_id}/versions": {
        "parameters": [COLLECTION, DOC_ID],
        "get": _operation(
            "list_versions",
            "A document's version history, newest first",
            {
                "200": _page("Versions: items {version, etag, last_modified, deleted, document}."),
                **_PAGE_NOT_MODIFIED,
                **_problems(400, 404),
            },
            parameters=[
                _PAGE_IF_NONE_MATCH,
                _limit(20),
                _parameter(
                    "before",
                    "query",
                    "Versions older than this version number.",
                    {"type": "integer", "minimum": 1},
                ),
            ],
        ),
    },
    "/v1/_collections/{collection}": {
        "parameters": [COLLECTION],
        "get": _operation(
            "get_collection_settings",
            "A collection's unique keys",
            {
                "200": _SETTINGS_ANSWER,
                "304": {
                    "description": "Not modified: If-None-Match names the settings' ETag.",
                    "headers": {"ETag": _SETTINGS_ETAG},
                },
                **_problems(400),
                "412": _problem("If-Match does not name the settings in force."),
            },
            parameters=[IF_NONE_MATCH, IF_MATCH],
            tags=["collections"],
        ),
        "put": _operation(
            "put_collection_settings",
            "Declare a collection's unique keys, replacing the previous declaration",
            {
                "200": {
                    **_SETTINGS_ANSWER,
                    "headers": {"ETag": _SETTINGS_ETAG, **_REPLAYED},
                },
                **_problems(400, 413, 415, 503, 504),
                "409": _problem(
                    "Stored documents already share a value of a new key "
                    "(`conflicts` names its fields); nothing changed"
                    ", or a request with this Idempotency-Key is still being processed "
                    "(retry after Retry-After)."
                ),
                "403": _problem(
                    "With authentication on: the caller lacks the admin right on the "
                    "collection (`right`). Or, on PostgreSQL, the service's database role "
                    "may not run the function that builds the keys' indexes "
                    "(database-right-missing: `function`, `role`, and the GRANT to run in "
                    "the detail); nothing changed."
                ),
                "412": _problem(
                    "If-Match does not name the settings in force (another admin changed "
                    "them: `current_etag`), or If-None-Match names them (`*`: settings always "
                    "exist); nothing changed."
                ),
                "422": _problem(
                    "Not a declaration: another member than `unique`, a name that is not "
                    "a field name, too many keys or fields, a key twice"
                    "; or stored documents hold in a new key's field a value the databases "
                    "compare differently (unique-value-unsupported: `fields`, `pointer`, "
                    "`reason`, and up to ten ids in `documents`); nothing changed"
                    ", or the Idempotency-Key named another request."
                ),
            },
            parameters=[IF_MATCH, IF_NONE_MATCH, SETTINGS_IDEMPOTENCY_KEY],
            requestBody={"required": True, "content": {"application/json": {"schema": _SETTINGS}}},
            tags=["collections"],
        ),
    },
    "/problems/{slug}": {
        "parameters": [
            _parameter(
                "slug",
                "path",
                "A problem type: the last segment of its type URI "
                "(https://httpconflict.dev/problems/{slug}).",
                {"type": "string", "enum": sorted(PROBLEM_TYPES)},
            )
        ],
        "get": {
            "operationId": "get_problem_type",
            "summary": "What a problem type means, its likely cause, and how to fix it",
            "tags": ["problems"],
            "parameters": [IF_NONE_MATCH],
            "responses": {
                "200": {
                    "description": "An HTML page whose fix steps are also schema.org HowTo "
                    "JSON-LD; JSON when Accept prefers application/json.",
                    "headers": {"ETag": _ETAG},
                    "content": {
                        "text/html": {"schema": {"type": "string"}},
                        "application/json": {"schema": _PROBLEM_TYPE_PAGE},
                    },
                },
                "304": {"description": _WHY[304], "headers": {"ETag": _ETAG}},
                "400": _problem("Malformed If-None-Match."),
                "404": _problem("No problem type has this slug."),
            },
        },
    },
    "/healthz": {
        "get": {
            "operationId": "healthz",
            "summary": "Whether the database and the idempotency-key store answer",
            "description": (
                "Answers within a second. Each dependency is reported in `checks` as "
                "`up` or `down`; 503 when one is down."
            ),
            "tags": ["service"],
            "responses": {
                "200": {"description": "Every dependency answers."},
                **_problems(503),
            },
        }
    },
}


def document(version: str, *, keys: Literal["off", "optional", "required"] = "optional") -> bytes:
    """The OpenAPI document, as JSON bytes.

    `keys`: how the service takes Idempotency-Keys on its writes (``serve
    --idempotency off`` takes none, ``--idempotency-required`` needs one on
    every write), so that the document says what the service does.
    """
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "httpconflict document service",
            "summary": "JSON documents that never lose an update.",
            "version": version,
        },
        "paths": _authorized(PATHS),
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
    if keys != "optional":
        spec["paths"] = _with_keys(spec["paths"], required=keys == "required")
    return json.dumps(spec, separators=(",", ":")).encode()


def _with_keys(paths: dict[str, Any], *, required: bool) -> dict[str, Any]:
    """`paths` with Idempotency-Key required on every write, or (not `required`) gone."""
    out: dict[str, Any] = {}
    for path, item in paths.items():
        out[path] = {
            method: operation if method == "parameters" else _keyed(operation, required=required)
            for method, operation in item.items()
        }
    return out


#: What a service taking no keys says instead of the words about them.
_KEYLESS: Final = {
    ", or a request with this Idempotency-Key is still being processed "
    "(retry after Retry-After).": ".",
    ", or the Idempotency-Key named another request.": ".",
    "; send the same request with the same Idempotency-Key to learn which.": (
        "; read the document to learn whether it was."
    ),
    " A retry with the same Idempotency-Key gets this answer again, with "
    "Idempotent-Replayed: true.": "",
}


def _keyless(value: Any) -> Any:
    """`value` (part of an operation) without the sentences about Idempotency-Keys."""
    if isinstance(value, str):
        for words, instead in _KEYLESS.items():
            value = value.replace(words, instead)
        return value
    if isinstance(value, dict):
        return {k: _keyless(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keyless(v) for v in value]
    return value


def _keyed(operation: dict[str, Any], *, required: bool) -> dict[str, Any]:
    parameters = []
    for parameter in operation.get("parameters", []):
        if parameter is SETTINGS_IDEMPOTENCY_KEY and not required:
            continue
        if parameter is IDEMPOTENCY_KEY:
            if not required:
                continue
            parameter = {
                **parameter,
                "required": True,
                "description": parameter["description"]
                + " Required: a write without one is a 400 idempotency-key-missing.",
            }
        parameters.append(parameter)
    if required:
        return {**operation, "parameters": parameters}
    responses = {
        status: _unreplayed(answer) for status, answer in operation.get("responses", {}).items()
    }
    keyless: dict[str, Any] = _keyless(
        {**operation, "parameters": parameters, "responses": responses}
    )
    return keyless


def _unreplayed(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without the Idempotent-Replayed header (a service that takes no keys)."""
    headers = {k: v for k, v in answer.get("headers", {}).items() if k not in _REPLAYED}
    if "headers" not in answer:
        return answer
    return (
        {**answer, "headers": headers}
        if headers
        else {k: v for k, v in answer.items() if k != "headers"}
    )


def _authorized(paths: dict[str, Any]) -> dict[str, Any]:
    """`paths` with each /v1/ operation's 401 and 403 (answered when authentication is on)."""
    out: dict[str, Any] = {}
    for path, item in paths.items():
        if path.startswith("/v1/"):
            item = {
                method: (
                    operation
                    if method == "parameters"
                    else {
                        **operation,
                        "security": [{"bearer": []}, {}],
                        # An operation's own 403 says more (and names this one too).
                        "responses": {**_problems(401, 403), **operation["responses"]},
                    }
                )
                for method, operation in item.items()
            }
        out[path] = item
    return out
