"""RFC 9457 problem details: the value, and the catalogue of problem types.

Every error answer of httpconflict is a `ProblemDetails` whose ``type`` is
one of the `ProblemType` URIs below. The URIs are stable identifiers that a
program can branch on; extension members (``current_etag``, ``header``, ...)
carry what a program needs to act.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

PROBLEM_TYPE_BASE: Final = "https://httpconflict.dev/problems/"
MEDIA_TYPE: Final = "application/problem+json"

# RFC 9457 §3.1: the members defined by the specification. An extension
# member with one of these names would change their meaning, so it is refused.
RESERVED_MEMBERS: Final = frozenset({"type", "title", "status", "detail", "instance"})
#: Characters of a detail at most. RFC 9457 §3.1.4: the detail is "a human-readable
#: explanation", and one quoting what a request sent (a patch's pointer, a member's
#: name) quoted it whole: a 500 KB pointer made a 2 MB answer (quoted four times),
#: recorded as such under an Idempotency-Key. What a program needs of it is in the
#: extension members; the detail says the rest in its first characters.
MAX_DETAIL: Final = 1000


@dataclass(frozen=True, slots=True)
class ProblemDetails:
    """One problem details object (RFC 9457 §3)."""

    type: str = "about:blank"
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clash = RESERVED_MEMBERS.intersection(self.extensions)
        if clash:
            raise ValueError(
                f"extension member names must not be {sorted(clash)}: RFC 9457 §3.1 defines them"
            )
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status}")
        if self.detail is not None and len(self.detail) > MAX_DETAIL:
            cut = f"... ({len(self.detail) - MAX_DETAIL} more characters)"
            object.__setattr__(self, "detail", self.detail[:MAX_DETAIL] + cut)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, members in the RFC's order, then the extensions."""
        out: dict[str, Any] = {"type": self.type}
        for name in ("title", "status", "detail", "instance"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(self.extensions)
        return out

    def to_json(self) -> bytes:
        # A lone surrogate (a member name a client sent, quoted back) has no
        # UTF-8 form; inside a JSON string its backslash escape is the JSON
        # escape, so the body stays valid JSON instead of failing to encode.
        text = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProblemDetails:
        """Read a problem object received from elsewhere.

        RFC 9457 §3.1: "If a member's value type does not match the specified
        type, the member MUST be ignored", so a wrongly typed member is
        dropped rather than refused.
        """

        def text(name: str) -> str | None:
            value = data.get(name)
            return value if isinstance(value, str) else None

        status = data.get("status")
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            status = None
        return cls(
            type=text("type") or "about:blank",
            title=text("title"),
            status=status,
            detail=text("detail"),
            instance=text("instance"),
            extensions={k: v for k, v in data.items() if k not in RESERVED_MEMBERS},
        )


@dataclass(frozen=True, slots=True)
class ProblemType:
    """A kind of problem: its stable URI, title, usual status, cause and fix."""

    slug: str
    title: str
    status: int
    cause: str
    fix: str

    @property
    def uri(self) -> str:
        return PROBLEM_TYPE_BASE + self.slug

    def problem(self, detail: str | None = None, **extensions: Any) -> ProblemDetails:
        """An occurrence of this problem type."""
        return ProblemDetails(
            type=self.uri,
            title=self.title,
            status=self.status,
            detail=detail,
            extensions=extensions,
        )


def _type(slug: str, title: str, status: int, cause: str, fix: str) -> ProblemType:
    problem_type = ProblemType(slug, title, status, cause, fix)
    PROBLEM_TYPES[slug] = problem_type
    return problem_type


PROBLEM_TYPES: Final[dict[str, ProblemType]] = {}

PRECONDITION_FAILED: Final = _type(
    "precondition-failed",
    "The resource has changed since you read it",
    412,
    "The If-Match (or If-Unmodified-Since) condition names a version that is "
    "no longer current: someone else wrote the resource after you read it. "
    "Also sent for If-None-Match: * when the resource already exists.",
    "GET the resource again (the answer's `current_etag` names the version "
    "now stored), re-apply your change to it, and retry with the new ETag "
    "in If-Match. Do not retry the same request unchanged.",
)
PRECONDITION_REQUIRED: Final = _type(
    "precondition-required",
    "A precondition is required to change this resource",
    428,
    "The request would change a resource that exists, without saying which "
    "version it is based on; it could overwrite someone else's change.",
    "GET the resource, then send its ETag in If-Match with the write. "
    "To create a resource only if it does not exist, send If-None-Match: *.",
)
MALFORMED_HEADER: Final = _type(
    "malformed-header",
    "A request header is malformed",
    400,
    "A header field value does not follow its grammar (an entity-tag must "
    'be quoted, as in "abc" or W/"abc"; a date must be an HTTP-date).',
    "Send the header exactly as the server gave it to you (copy the ETag "
    "header's value into If-Match), or omit it.",
)
MALFORMED_JSON: Final = _type(
    "malformed-json",
    "The request body is not valid JSON",
    400,
    "The body could not be parsed as JSON (RFC 8259), or is not UTF-8.",
    "Send a UTF-8 JSON text; check for trailing commas, single quotes, NaN.",
)
INVALID_DOCUMENT: Final = _type(
    "invalid-document",
    "The request body is not an acceptable document",
    422,
    "The body is valid JSON but not a JSON object (documents are objects).",
    'Wrap the value in an object, e.g. {"items": [...]}.',
)
JSON_LIMIT: Final = _type(
    "json-limit",
    "The JSON is beyond the limits of what is accepted",
    422,
    "The body (or the document a patch would make) is valid JSON, but holds "
    "what the service does not accept: nesting deeper than 128 arrays and "
    "objects, an integer of more than 4300 digits, a number a double cannot "
    "hold as written (1e400 would be infinite, 1e-400 zero, "
    "0.10000000000000000001 rounded), a lone surrogate such as \\ud800, or "
    "U+0000 in a string. `limit` names which, `max` its value, `pointer` "
    "where it is (or `number` the number's text).",
    "Change the value named: flatten deep nesting, send a long or precise "
    "number as a string, remove U+0000 and unpaired surrogates. A stored "
    "document from before these limits that a PATCH refuses can be "
    "replaced with a PUT.",
)
UNIQUE_VALUE_UNSUPPORTED: Final = _type(
    "unique-value-unsupported",
    "A unique field holds a value that cannot be compared alike",
    422,
    "A field of one of the collection's unique keys holds an object, an "
    "array, an integer beyond ±2^53 or a number of more than 15 significant "
    "digits. The databases behind the service compare such values "
    "differently (SQLite as text or rounded doubles, PostgreSQL by value), "
    "so whether two are duplicates would depend on the database. `fields` "
    "names the key, `pointer` the field and `reason` why: object, array, "
    "integer-range or number-precision. A refused declaration of unique keys "
    "also names in `documents` stored documents holding such values.",
    "Send the value as a string (a canonical text of the object or number), "
    "or keep it in a field that is not unique. For a declaration: change the "
    "documents named, then declare the key again.",
)
UNSUPPORTED_MEDIA_TYPE: Final = _type(
    "unsupported-media-type",
    "The request body's media type is not supported here",
    415,
    "The Content-Type header is missing or names a media type this resource does not accept.",
    "Send Content-Type: application/json (the answer's `accept` lists the media types accepted).",
)
CONTENT_TOO_LARGE: Final = _type(
    "content-too-large",
    "The request body is too large",
    413,
    "The body is larger than the server's limit.",
    "Send a smaller document (the answer's `max_bytes` gives the limit).",
)
INCOMPLETE_BODY: Final = _type(
    "incomplete-body",
    "The request body ended before it was complete",
    400,
    "The connection ended (or the stream failed) before the whole body arrived: "
    "fewer bytes than its Content-Length, or a chunked body without its last "
    "chunk. The request was not applied, and no Idempotency-Key was recorded for it.",
    "Send the request again, whole, with the same Idempotency-Key if it had one.",
)
HEADER_FIELDS_TOO_LARGE: Final = _type(
    "header-fields-too-large",
    "The request's header fields are too large",
    431,
    "The request line and header fields together are larger than the server's limit "
    "(RFC 6585 §5), often because of a large or repeated cookie or header: the server "
    "stopped reading the request and closed the connection. Or one field lists more "
    "elements than the server reads (an If-Match or If-None-Match of thousands of "
    "entity-tags; the answer's `header` names it): nothing was done.",
    "Send fewer or smaller header fields (the answer's `max_bytes` or `max_elements` "
    "gives the limit); send only the entity-tags you received.",
)
REQUEST_TIMEOUT: Final = _type(
    "request-timeout",
    "The request did not arrive in time",
    408,
    "The request's head (request line and header fields), or its body, did not arrive "
    "whole within the time the server waits for it (the answer's `timeout` member, in "
    "seconds): "
    "the client stopped sending, or sent too slowly. The request was not applied, and the "
    "connection was closed.",
    "Send the request again on a new connection, whole and without pauses, with the same "
    "Idempotency-Key if it had one.",
)
CONNECTION_LIMIT: Final = _type(
    "connection-limit",
    "The server has as many connections as it accepts",
    503,
    "The server holds as many open connections as it is configured to (per worker, the "
    "service's `--max-connections` setting), so it answered this connection's first request "
    "with this refusal and closed it. The request was not applied.",
    "Retry after the delay given in Retry-After; reuse one connection for many requests "
    "rather than opening one per request.",
)
BODY_MEMORY_LIMIT: Final = _type(
    "body-memory-limit",
    "The server holds as many request bodies as it accepts",
    503,
    "The server holds as many request body bytes at once as it is configured to (per "
    "worker, the service's `--max-body-memory` setting; each body's first 64 KiB are not "
    "counted), so it refused this request's body part-way and closed the connection. The "
    "request was not applied.",
    "Retry after the delay given in Retry-After, with the same Idempotency-Key if it had one.",
)
ANSWER_MEMORY_LIMIT: Final = _type(
    "answer-memory-limit",
    "The server holds as many answers not taken as it accepts",
    503,
    "The server holds as many bytes of answers that their clients have not taken yet as it "
    "is configured to (per worker, the service's `--max-answer-memory` setting), and no "
    "connection it could cut without loss had stalled, so it refused this large answer to a "
    "GET. Nothing was changed.",
    "Retry after the delay given in Retry-After. A client that reads its answers as they come "
    "is never the cause: connections whose clients take nothing are cut first.",
)
INVALID_PARAMETER: Final = _type(
    "invalid-parameter",
    "A request parameter is invalid",
    400,
    "A path segment or query parameter is out of range or malformed.",
    "Correct the parameter named in the answer's `parameter`.",
)
NOT_FOUND: Final = _type(
    "not-found",
    "Not found",
    404,
    "Nothing exists at this URL (a document that was never created, or was deleted).",
    "Check the URL. To create the document, PUT it with If-None-Match: *.",
)
UNAUTHORIZED: Final = _type(
    "unauthorized",
    "Authentication is required",
    401,
    "The service needs to know who is calling: the request carried no "
    "credentials, or ones that are not valid (a token unknown or revoked, a "
    "JWT expired, wrongly signed or unsigned). The WWW-Authenticate header "
    'says which (RFC 6750 §3: error="invalid_token" for a bad one). '
    "Nothing about the resource was read or changed.",
    "Send Authorization: Bearer <token> with a valid API key or JWT; ask the "
    "service's operator for one if you have none.",
)
FORBIDDEN: Final = _type(
    "forbidden",
    "You may not do this here",
    403,
    "You are authenticated, but the rules of this collection do not give you "
    "the right this request needs (read, write or admin). The answer is the "
    "same whether the document exists or not, and nothing was read or changed.",
    "Ask an admin of the collection (or the service's operator) to grant your "
    "principal or one of your roles the right named in `right`.",
)
DATABASE_RIGHT_MISSING: Final = _type(
    "database-right-missing",
    "The service's database role may not make this change",
    403,
    "The service runs as a database role that may read and write its tables "
    "but lacks the right this request needs: on PostgreSQL, declaring a "
    "unique key builds an index, which the service does through a function "
    "made by the tables' owner, and the role may not run it (or it is not "
    "there yet). Nothing was changed; the request itself is fine.",
    "Ask the service's operator to start the service once as the tables' "
    "owner and grant the role EXECUTE on the function named in `function` "
    "(the detail gives the statement); then send the request again.",
)
METHOD_NOT_ALLOWED: Final = _type(
    "method-not-allowed",
    "Method not allowed",
    405,
    "The resource exists but does not support this request method.",
    "Use one of the methods listed in the Allow header.",
)
CONTENDED: Final = _type(
    "contended",
    "The resource is changing too fast to apply this request",
    503,
    "The write lost every race for this resource within its bounded attempts.",
    "Retry after the delay given in Retry-After.",
)
IDEMPOTENCY_KEY_MISSING: Final = _type(
    "idempotency-key-missing",
    "An Idempotency-Key header is required",
    400,
    "This endpoint only accepts requests that carry an Idempotency-Key, so that "
    "a retried request can never be applied twice.",
    "Generate a unique key (a UUID) per operation, send it in Idempotency-Key, "
    "and send the same key again when you retry that operation.",
)
IDEMPOTENCY_KEY_IN_FLIGHT: Final = _type(
    "idempotency-key-in-flight",
    "A request with this Idempotency-Key is still being processed",
    409,
    "The same request was sent again while the first one is still running "
    "(a double click, or a retry after a timeout).",
    "Wait and retry with the same key after Retry-After seconds: you will get "
    "the first request's answer.",
)
IDEMPOTENCY_KEY_REUSED: Final = _type(
    "idempotency-key-reused",
    "This Idempotency-Key was used for a different request",
    422,
    "A key names one operation; this request differs from the one first sent "
    "with the key (method, URL, caller, body, or a precondition, Content-Type, "
    "Content-Encoding or Prefer field).",
    "Use a new key for a new operation (a write sent again with a new If-Match after a "
    "412 is one); reuse a key only to retry the very same request.",
)
IDEMPOTENCY_KEY_RECORDED_LATE: Final = _type(
    "idempotency-key-recorded-late",
    "The server recorded the Idempotency-Key after a write had committed",
    500,
    "The server's code records a request's answer under its Idempotency-Key in a "
    "transaction of its database, and the same request had already committed a write "
    "to that database in another one. A crash between the two, and any retry with "
    "the key, would apply that write again. This is the server's mistake: it is "
    "refused before the key is recorded, so that it cannot pass unnoticed.",
    "Server: record the answer in the transaction of the request's first write, with "
    "the side effect (commit nothing before it). Client: the write was applied; "
    "read the resource to learn what it holds, and do not resend it.",
)
IDEMPOTENCY_KEY_UNRECORDED: Final = _type(
    "idempotency-key-unrecorded",
    "The server committed a write and never recorded the Idempotency-Key with it",
    500,
    "The server's code records each answer under its Idempotency-Key in the "
    "transaction of its write (a transactional policy), and this request committed a "
    "write without doing so. A retry with the key runs before the server looks the "
    "key up, so it would apply that write again. This is the server's mistake: the "
    "answer is refused, so that it cannot pass unnoticed.",
    "Server: record the answer in the transaction of the request's first write "
    "(record_answer), or put the route under a policy that is not transactional. "
    "Client: the write was applied; read the resource to learn what it holds, and do "
    "not resend it.",
)
UNAVAILABLE: Final = _type(
    "unavailable",
    "The database could not take the request, and nothing was applied",
    503,
    "The service could not reach its database, waited too long for a lock, or found "
    "it unable to store anything (read-only, as a replica is; its disk full; out of "
    "memory), before anything of the request was committed: the request was not "
    "applied. The `detail` says which. When the answer has an `incident` member, it "
    "names the server's log line that holds the database's own words.",
    "Retry after the delay given in Retry-After. A database that is read-only or "
    "full stays so until its operator acts: /healthz names it (`checks`). (An answer "
    "replayed from an Idempotency-Key, `Idempotent-Replayed: true`, is no fresh "
    "refusal: it was recorded because something was applied.)",
)
OUTCOME_UNKNOWN: Final = _type(
    "outcome-unknown",
    "The database did not say whether the write was applied",
    504,
    "The connection to the database was lost after the write was sent, or the "
    "database failed after a transaction of the request had committed: it may have "
    "been applied, in whole or in part, or not.",
    "Send the very same request again, with the same Idempotency-Key, after "
    "Retry-After: if the write was applied you get its recorded answer, otherwise "
    "it is applied now. When this answer itself comes back replayed "
    "(`Idempotent-Replayed: true`), the server cannot tell more: read the resource "
    "to learn what it holds. Without a key nothing can tell (a read may show another "
    "client's identical change).",
)
INTERNAL_ERROR: Final = _type(
    "internal-error",
    "Internal server error",
    500,
    "The server failed while handling the request; the request may not have been applied.",
    "Retry later; if it persists, report it with the answer's `incident` id, which names "
    "the server's log line about it.",
)
UNIQUE_VIOLATION: Final = _type(
    "unique-violation",
    "A record with this value already exists",
    409,
    "The write would give a field the value another record already has, and "
    "the field is unique (the database's unique index refused it). Two "
    "requests that create the same thing at once end here too: one wins.",
    "Use another value for the fields named in `conflicts`, or fetch the "
    "existing record and update it instead of creating a new one.",
)
EXCLUSION_VIOLATION: Final = _type(
    "exclusion-violation",
    "This record overlaps an existing one",
    409,
    "The write would overlap a record that exists (an exclusion constraint, "
    "such as two bookings of one room for overlapping times).",
    "Choose values that do not overlap (the fields are named in `conflicts`), "
    "or change the existing record first.",
)
STILL_REFERENCED: Final = _type(
    "still-referenced",
    "Other records still refer to this one",
    409,
    "The record cannot be deleted or have its key changed while other "
    "records refer to it (a foreign key).",
    "Delete or re-point the records that refer to it first, then retry.",
)
NOT_NULL_VIOLATION: Final = _type(
    "not-null-violation",
    "A required field is missing",
    422,
    "A field that must have a value was missing or null.",
    "Send a value for each field named in `conflicts`.",
)
FOREIGN_KEY_VIOLATION: Final = _type(
    "foreign-key-violation",
    "A referenced record does not exist",
    422,
    "A field refers to a record that does not exist (a foreign key): it was "
    "never created, or was deleted meanwhile.",
    "Check the reference in the fields named in `conflicts`; create the referenced record first.",
)
CHECK_VIOLATION: Final = _type(
    "check-violation",
    "A value is not allowed",
    422,
    "A field's value breaks a rule of the database (a check constraint, such "
    "as a price that must be positive).",
    "Correct the fields named in `conflicts` (the answer's `constraint` names the rule).",
)
MERGE_CONFLICT: Final = _type(
    "merge-conflict",
    "Someone else changed the same part of this document",
    409,
    "Your change was made from an older version (the If-Match ETag), and "
    "since that version someone else changed the same fields. Changes to "
    "other fields would have been merged; these cannot be, without losing "
    "one of the two edits.",
    "Look at `conflicts`: for each JSON pointer it gives the value in the "
    "version you started from (base), the value stored now (current) and "
    "yours (requested). Decide which to keep, then send the change again "
    "with the ETag in `current_etag` as If-Match.",
)
PATCH_TEST_FAILED: Final = _type(
    "patch-test-failed",
    "A test operation of the patch failed",
    409,
    "A JSON Patch `test` operation found a different value at its path than "
    "the one it names: the document is not in the state the patch expects.",
    "GET the document, check the value at the path named in `pointer`, and "
    "build the patch again from what is stored.",
)
PATCH_NOT_APPLICABLE: Final = _type(
    "patch-not-applicable",
    "The patch does not apply to this document",
    409,
    "An operation of the JSON Patch names a location the document does not "
    "have (a member that is missing, an array index out of range), so the "
    "patch cannot be applied to the document as it is stored.",
    "GET the document and build the patch from its current content; the "
    "answer's `operation` and `pointer` say which operation failed.",
)
MALFORMED_PATCH: Final = _type(
    "malformed-patch",
    "The patch document is malformed",
    400,
    "The body is JSON but not a valid patch: a JSON Patch (RFC 6902) must be "
    'an array of operations such as {"op": "replace", "path": "/title", '
    '"value": "x"}, with a known op, a valid JSON pointer and each member the '
    "op needs.",
    "Fix the operation named in `operation` (its index in the array), or send "
    "a JSON Merge Patch (RFC 7396) as application/merge-patch+json.",
)
HOST_NOT_ALLOWED: Final = _type(
    "host-not-allowed",
    "This service does not answer for that host",
    421,
    "The request's Host header (or the host in its absolute URL) names a host that is "
    "not on the service's allow-list: loopback names, the address it listens on, and "
    "each --allowed-host. A web page whose own name was made to resolve to this "
    "service (DNS rebinding) is refused this way; so is a request through a proxy "
    "that forwards a host the operator did not list. Nothing was read or written.",
    "Send the request to a name the service answers for. An operator serving other "
    "names adds each with --allowed-host (--allowed-host '*' only behind a proxy that "
    "checks the Host itself).",
)
CHANGES_EXPIRED: Final = _type(
    "changes-expired",
    "The changes after this point are no longer kept",
    410,
    "The change feed was asked for the changes after a `since` older than what it "
    "retains: some of them were purged (the service's --changes-retention), so the "
    "feed cannot tell them all. `oldest` is the smallest `since` it still accepts.",
    "Start over: read the collection again (its list), then follow the feed from "
    "since=now; or, if missing some changes is acceptable, resume from since=<oldest>.",
)
CORS_NOT_ALLOWED: Final = _type(
    "cors-not-allowed",
    "This cross-origin request is not allowed",
    400,
    "A browser asked (a CORS preflight) whether a page of another origin may send "
    "this request, and the service's CORS allow-list does not include that origin, "
    "method or request header; `refused` names which.",
    "Serve the page from an origin the operator allows (--cors-origin), or send only "
    "the methods and headers the service accepts.",
)
