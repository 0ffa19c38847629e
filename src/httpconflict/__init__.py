"""httpconflict: HTTP APIs that never lose an update.

The core (everything importable from here) is stdlib-only and does no I/O:
entity-tags, conditional request evaluation (RFC 9110 §13), the answer to
a conditional GET or HEAD (`read_decision`), conditional writes as a
command flow, RFC 9457 problem details, the error tree, and
JSON documents: JSON Pointer (RFC 6901), JSON Patch (RFC 6902), JSON Merge
Patch (RFC 7396), diffs, and a three-way merge that reports conflicts.
Framework adapters, stores and the reference service live in submodules and
load their optional dependencies only when imported.
"""

from ._catalog import CATALOG_QUERIES, Catalog, Constraint
from ._conditional_read import ReadDecision, ReadOutcome, read_decision
from ._errors import (
    ContentTooLarge,
    HeaderFieldTooLarge,
    IdempotencyKeyInFlight,
    IdempotencyKeyRecordedLate,
    IdempotencyKeyTaken,
    IncompleteBody,
    InvalidDocument,
    InvalidParameter,
    JsonLimitExceeded,
    MalformedHeader,
    MalformedJSON,
    MergeConflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ProblemError,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
    WriteOutcomeUnknown,
    WritesUnavailable,
    problem_headers,
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
from ._json_diff import changed_pointers, json_patch_diff
from ._json_domain import JsonLimits, check_json_domain
from ._json_patch import (
    JsonPatchError,
    MalformedPatch,
    PatchNotApplicable,
    PatchTestFailed,
    apply_json_patch,
    pointers_read_by_json_patch,
    pointers_touched_by_json_patch,
)
from ._json_pointer import InvalidPointer, JsonPointer, PointerNotFound
from ._json_value import MISSING, json_equal, json_type
from ._media import (
    content_type_of,
    parse_json,
    parse_json_object,
    parse_media_type,
    parse_stored_document,
    require_identity_coding,
    require_media_type,
)
from ._merge3 import Conflict, MergeResult, merge3
from ._merge_patch import (
    MergePatchUnreachable,
    apply_merge_patch,
    merge_patch_diff,
    pointers_touched_by_merge_patch,
)
from ._origination import date_fields
from ._patch import Patch
from ._patch_budget import PatchTooLarge
from ._patch_flow import (
    Base,
    PatchDecision,
    PatchOutcome,
    ReadBase,
    ReadDocument,
    Snapshot,
    WriteDocument,
    arun_patch,
    patch_flow,
    run_patch,
)
from ._preconditions import Conditions, Decision, Validators, evaluate
from ._problem import PROBLEM_TYPES, ProblemDetails, ProblemType
from ._rebase import prefers_rebase, rebase, rebase_fields
from ._refusals import (
    Contended,
    patch_refusal,
    precondition_failed,
    precondition_required,
    refusal,
)
from ._request_writes import mark_applied
from ._unique_values import UniqueValueUnsupported, check_unique_values
from ._versioned_row import VersionedRow
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
    "MISSING",
    "PROBLEM_TYPES",
    "Base",
    "Catalog",
    "Conditions",
    "Conflict",
    "Constraint",
    "ConstraintViolated",
    "Contended",
    "ContentTooLarge",
    "Decision",
    "ETag",
    "EntityTags",
    "Guard",
    "HeaderFieldTooLarge",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyRecordedLate",
    "IdempotencyKeyTaken",
    "IncompleteBody",
    "IntegrityPolicy",
    "InvalidDocument",
    "InvalidParameter",
    "InvalidPointer",
    "JsonLimitExceeded",
    "JsonLimits",
    "JsonPatchError",
    "JsonPointer",
    "MalformedHeader",
    "MalformedJSON",
    "MalformedPatch",
    "MergeConflict",
    "MergePatchUnreachable",
    "MergeResult",
    "NotFound",
    "Patch",
    "PatchDecision",
    "PatchNotApplicable",
    "PatchOutcome",
    "PatchTestFailed",
    "PatchTooLarge",
    "PointerNotFound",
    "PreconditionFailed",
    "PreconditionRequired",
    "ProblemDetails",
    "ProblemError",
    "ProblemType",
    "Read",
    "ReadBase",
    "ReadDecision",
    "ReadDocument",
    "ReadOutcome",
    "Snapshot",
    "Unauthorized",
    "Unavailable",
    "UniqueValueUnsupported",
    "UnsupportedMediaType",
    "Validators",
    "VersionedRow",
    "Violation",
    "ViolationKind",
    "Write",
    "WriteDecision",
    "WriteDocument",
    "WriteOutcome",
    "WriteOutcomeUnknown",
    "WriteResult",
    "WritesUnavailable",
    "apply_json_patch",
    "apply_merge_patch",
    "arun_patch",
    "arun_write",
    "changed_pointers",
    "check_json_domain",
    "check_unique_values",
    "classify",
    "content_type_of",
    "date_fields",
    "evaluate",
    "format_http_date",
    "integrity_error",
    "integrity_problem",
    "json_equal",
    "json_patch_diff",
    "json_type",
    "mark_applied",
    "merge3",
    "merge_patch_diff",
    "parse_http_date",
    "parse_json",
    "parse_json_object",
    "parse_media_type",
    "parse_stored_document",
    "patch_flow",
    "patch_refusal",
    "pointers_read_by_json_patch",
    "pointers_touched_by_json_patch",
    "pointers_touched_by_merge_patch",
    "precondition_failed",
    "precondition_required",
    "prefers_rebase",
    "problem_headers",
    "read_decision",
    "rebase",
    "rebase_fields",
    "refusal",
    "require_identity_coding",
    "require_media_type",
    "run_patch",
    "run_write",
    "write_flow",
]
