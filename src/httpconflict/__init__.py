"""httpconflict: HTTP APIs that never lose an update.

The core (everything importable from here) is stdlib-only and does no I/O:
entity-tags, conditional request evaluation (RFC 9110 §13), conditional
writes as a command flow, RFC 9457 problem details, and the error tree.
Framework adapters, stores and the reference service live in submodules and
load their optional dependencies only when imported.
"""

from ._catalog import CATALOG_QUERIES, Catalog, Constraint
from ._errors import (
    ContentTooLarge,
    IdempotencyKeyInFlight,
    IdempotencyKeyTaken,
    InvalidDocument,
    InvalidParameter,
    MalformedHeader,
    MalformedJSON,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ProblemError,
    Unavailable,
    UnsupportedMediaType,
)
from ._etag import EntityTags, ETag
from ._httpdate import format_http_date, parse_http_date
from ._integrity import Violation, ViolationKind, classify
from ._integrity_policy import (
    ConstraintViolated,
    IntegrityPolicy,
    integrity_error,
    integrity_problem,
)
from ._media import parse_json, parse_json_object, parse_media_type, require_media_type
from ._preconditions import Conditions, Decision, Validators, evaluate
from ._problem import PROBLEM_TYPES, ProblemDetails, ProblemType
from ._write import (
    Guard,
    Read,
    Write,
    WriteDecision,
    WriteOutcome,
    WriteResult,
    arun_write,
    run_write,
    write_flow,
)

__all__ = [
    "CATALOG_QUERIES",
    "PROBLEM_TYPES",
    "Catalog",
    "Conditions",
    "Constraint",
    "ConstraintViolated",
    "ContentTooLarge",
    "Decision",
    "ETag",
    "EntityTags",
    "Guard",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyTaken",
    "IntegrityPolicy",
    "InvalidDocument",
    "InvalidParameter",
    "MalformedHeader",
    "MalformedJSON",
    "NotFound",
    "PreconditionFailed",
    "PreconditionRequired",
    "ProblemDetails",
    "ProblemError",
    "ProblemType",
    "Read",
    "Unavailable",
    "UnsupportedMediaType",
    "Validators",
    "Violation",
    "ViolationKind",
    "Write",
    "WriteDecision",
    "WriteOutcome",
    "WriteResult",
    "arun_write",
    "classify",
    "evaluate",
    "format_http_date",
    "integrity_error",
    "integrity_problem",
    "parse_http_date",
    "parse_json",
    "parse_json_object",
    "parse_media_type",
    "require_media_type",
    "run_write",
    "write_flow",
]
