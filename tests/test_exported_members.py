"""The public surface is pinned: `__all__` of the package and of every public module.

A public module is any module of the package whose dotted name has no
part starting with ``_``, except those of the reference service and the
tools (applications whose interface is HTTP and the command line, not
Python). Each one's `__all__` is the list below, sorted the isort way, and
names only what the module binds. Read from the source, so that no
framework needs importing (Django wants its settings first).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import httpconflict

PACKAGE = Path(httpconflict.__file__).parent
APPLICATIONS = ("service", "tools")

EXPECTED = [
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


MODULES: dict[str, list[str]] = {
    "httpconflict.access": [
        "ANONYMOUS",
        "PRINCIPAL_SCOPE_KEY",
        "RIGHTS",
        "Access",
        "AccessRules",
        "Principal",
        "Right",
        "access_decision",
        "held_decision",
        "principal_of",
        "unstorable_name",
    ],
    "httpconflict.asgi": [
        "CLAIM_SCOPE_KEY",
        "DEFAULT_REPLAY_HEADERS",
        "NOT_MODIFIED_HEADERS",
        "PROBLEM_SCOPE_KEY",
        "ASGIApp",
        "ActiveClaim",
        "CodedETagMiddleware",
        "ConditionalMiddleware",
        "DateMiddleware",
        "IdempotencyMiddleware",
        "IdempotencyPolicy",
        "Message",
        "PolicyChoice",
        "ProblemMiddleware",
        "Receive",
        "RequestBodyMiddleware",
        "Scope",
        "Send",
        "accepts_coding",
        "active_claim",
        "authorization_principal",
        "cookie_principal",
        "new_form_key",
        "problem_headers",
        "send_error",
        "send_problem",
        "send_response",
    ],
    "httpconflict.asgi.bodies": ["RequestBodyMiddleware"],
    "httpconflict.asgi.coded_etags": ["CodedETagMiddleware", "accepts_coding"],
    "httpconflict.asgi.conditional": ["NOT_MODIFIED_HEADERS", "ConditionalMiddleware"],
    "httpconflict.asgi.dates": ["DateMiddleware"],
    "httpconflict.asgi.idempotency": [
        "CLAIM_SCOPE_KEY",
        "ActiveClaim",
        "IdempotencyMiddleware",
        "PolicyChoice",
        "active_claim",
        "route_policy",
    ],
    "httpconflict.asgi.problems": [
        "PROBLEM_SCOPE_KEY",
        "ProblemMiddleware",
        "send_error",
        "send_problem",
        "send_response",
    ],
    "httpconflict.asgi.types": ["ASGIApp", "Message", "Receive", "Scope", "Send"],
    "httpconflict.catalog": ["CatalogCache", "aload_catalog", "dialect_of", "load_catalog"],
    "httpconflict.cli": ["main"],
    "httpconflict.django": [
        "ConditionalGetMiddleware",
        "IntegrityErrorMiddleware",
        "ProblemMiddleware",
        "add_read_caching",
        "answer_preconditions",
        "conditional",
        "etag_of",
        "json_body",
        "not_modified",
        "problem_response",
        "record_answer",
        "request_conditions",
        "request_patch",
        "server_error",
        "set_validators",
        "status_problem",
        "version_validators",
        "versioned_delete",
        "versioned_patch",
        "versioned_update",
    ],
    "httpconflict.django.forms": [
        "FORM_KEY_FIELD",
        "VersionedAdminMixin",
        "VersionedEditViewMixin",
        "VersionedFormMixin",
        "unversioned_action",
        "versioned_form",
    ],
    "httpconflict.django.models": ["AbstractIdempotencyKey", "ExactCharField"],
    "httpconflict.django.rest_framework": [
        "ConditionalModelMixin",
        "JSONParser",
        "exception_handler",
    ],
    "httpconflict.drivers": ["DATABASE_ERRORS", "database_error_types"],
    "httpconflict.extras": [
        "EXTRA_OF",
        "MissingExtra",
        "missing_extra",
        "missing_extra_message",
        "require",
    ],
    "httpconflict.fastapi": [
        "NotModified",
        "PatchBody",
        "Preconditions",
        "RequestConditions",
        "install",
        "problem_response",
        "request_conditions",
        "request_patch",
        "validation_error_handler",
    ],
    "httpconflict.flask": [
        "conditional",
        "conditional_patch",
        "conditional_response",
        "conditional_write",
        "install",
        "json_body",
        "problem_response",
        "request_conditions",
        "request_patch",
    ],
    "httpconflict.flask.forms": [
        "FORM_KEY_FIELD",
        "FormKeyField",
        "VersionField",
        "VersionedFormMixin",
        "save_form",
    ],
    "httpconflict.hosts": [
        "ANY_HOST",
        "LOOPBACK_HOSTS",
        "AllowedHosts",
        "HostDecision",
        "host_patterns",
        "is_loopback",
        "target_authority",
    ],
    "httpconflict.httpx": [
        "AsyncConflictClient",
        "Change",
        "ChangesExpired",
        "Clock",
        "ConflictClient",
        "ConflictError",
        "ETagMemory",
        "GiveUpReason",
        "OutcomeUnknown",
        "RequestRefused",
        "RetriesExhausted",
        "RetryPolicy",
        "StoredDocument",
        "SystemClock",
        "UnusableAnswer",
        "VirtualClock",
        "is_testing",
        "set_testing",
    ],
    "httpconflict.incidents": ["describe", "log_incident", "new_incident", "unavailable"],
    "httpconflict.outage": ["Outage", "OutageKind", "outage", "outage_error"],
    "httpconflict.openapi": [
        "PRECONDITION_HEADERS",
        "PROBLEM_DETAILS",
        "Operation",
        "RoutePolicy",
        "document_idempotency",
        "document_problems",
        "idempotency_key_parameter",
        "statuses",
    ],
    "httpconflict.changes": [
        "DEFAULT_HEARTBEAT",
        "DEFAULT_LIMIT",
        "MAX_LIMIT",
        "VARY",
        "ChangesQuery",
        "FeedForm",
        "SinceExpired",
        "changes_query",
        "check_since",
    ],
    "httpconflict.problem_types": [
        "ANSWER_MEMORY_LIMIT",
        "BODY_MEMORY_LIMIT",
        "CHANGES_EXPIRED",
        "CHECK_VIOLATION",
        "CONNECTION_LIMIT",
        "CONTENDED",
        "CONTENT_TOO_LARGE",
        "CORS_NOT_ALLOWED",
        "DATABASE_RIGHT_MISSING",
        "EXCLUSION_VIOLATION",
        "FORBIDDEN",
        "FOREIGN_KEY_VIOLATION",
        "HEADER_FIELDS_TOO_LARGE",
        "HOST_NOT_ALLOWED",
        "IDEMPOTENCY_KEY_IN_FLIGHT",
        "IDEMPOTENCY_KEY_MISSING",
        "IDEMPOTENCY_KEY_RECORDED_LATE",
        "IDEMPOTENCY_KEY_REUSED",
        "IDEMPOTENCY_KEY_UNRECORDED",
        "INCOMPLETE_BODY",
        "INTERNAL_ERROR",
        "INVALID_DOCUMENT",
        "INVALID_PARAMETER",
        "JSON_LIMIT",
        "MALFORMED_HEADER",
        "MALFORMED_JSON",
        "MALFORMED_PATCH",
        "MEDIA_TYPE",
        "MERGE_CONFLICT",
        "METHOD_NOT_ALLOWED",
        "NOT_FOUND",
        "NOT_NULL_VIOLATION",
        "OUTCOME_UNKNOWN",
        "PATCH_NOT_APPLICABLE",
        "PATCH_TEST_FAILED",
        "PRECONDITION_FAILED",
        "PRECONDITION_REQUIRED",
        "PROBLEM_TYPE_BASE",
        "REQUEST_TIMEOUT",
        "STILL_REFERENCED",
        "UNAUTHORIZED",
        "UNAVAILABLE",
        "UNIQUE_VALUE_UNSUPPORTED",
        "UNIQUE_VIOLATION",
        "UNSUPPORTED_MEDIA_TYPE",
    ],
    "httpconflict.redaction": ["MASK", "RedactingFilter", "redact", "secrets_in"],
    "httpconflict.sqlalchemy": [
        "SQLAlchemyIdempotencyStore",
        "aflush_versioned",
        "arecord_answer",
        "aversioned_delete",
        "aversioned_patch",
        "aversioned_update",
        "etag_of",
        "flush_versioned",
        "idempotency_keys_table",
        "record_answer",
        "version_etag",
        "versioned_delete",
        "versioned_patch",
        "versioned_update",
    ],
    "httpconflict.starlette": [
        "Handler",
        "add_integrity_handler",
        "client_disconnect_handler",
        "http_exception_handler",
        "install",
        "integrity_exception_handler",
        "problem_error_handler",
        "problem_response",
        "server_error_handler",
    ],
    "httpconflict.storage": [
        "DEFAULT_HISTORY",
        "DEFAULT_PG_STATEMENT_TIMEOUT",
        "DEFAULT_SQLITE_BUSY_TIMEOUT",
        "Change",
        "ChangeBounds",
        "ChangeFeed",
        "ChangesRead",
        "CollectionSettings",
        "CompletionFor",
        "Document",
        "DocumentStore",
        "Listed",
        "ListedVersion",
        "UniqueKey",
        "Version",
        "document_store",
        "format_unique_keys",
        "from_micros",
        "parse_unique_keys",
    ],
    "httpconflict.storage.idempotency": [
        "DEFAULT_LEASE",
        "DEFAULT_RETENTION",
        "Completion",
        "IdempotencyStore",
        "idempotency_store",
    ],
    "httpconflict.storage.idempotency.backlog": ["Backlog"],
    "httpconflict.storage.idempotency.blocking": ["BlockingIdempotencyStore"],
    "httpconflict.storage.idempotency.cache": ["PAUSE", "TIMEOUT", "ReplayCache", "replay_cache"],
    "httpconflict.storage.idempotency.memory": ["MemoryIdempotencyStore"],
    "httpconflict.storage.idempotency.postgres": [
        "SCHEMA",
        "PostgresIdempotencyStore",
        "create_schema",
    ],
    "httpconflict.storage.idempotency.redis": ["RedisIdempotencyStore", "redis_client"],
    "httpconflict.storage.idempotency.sqlite": ["SCHEMA", "SQLiteIdempotencyStore"],
    "httpconflict.storage.postgres": ["SCHEMA", "PostgresDocumentStore"],
    "httpconflict.storage.sqlite": ["SCHEMA", "SCHEMA_VERSION", "SQLiteDocumentStore"],
    "httpconflict.storage.tokens": [
        "TOKEN_PREFIX",
        "ApiToken",
        "TokenExists",
        "TokenStore",
        "new_token",
        "token_hash",
        "token_hint",
        "token_store",
    ],
    "httpconflict.storage.tokens.kept": ["KEPT_FOR", "KEPT_TOKENS", "KeptTokens"],
    "httpconflict.storage.tokens.postgres": ["SCHEMA", "PostgresTokenStore"],
    "httpconflict.storage.tokens.sqlite": ["SCHEMA", "SQLiteTokenStore"],
    "httpconflict.wsgi": [
        "DEFAULT_REPLAY_HEADERS",
        "NOT_MODIFIED_HEADERS",
        "BlockingIdempotencyStore",
        "ConditionalMiddleware",
        "IdempotencyMiddleware",
        "IdempotencyPolicy",
        "PolicyChoice",
        "active_claim",
        "authorization_principal",
        "cookie_principal",
        "new_form_key",
        "problem_answer",
    ],
    "httpconflict.wsgi.conditional": ["NOT_MODIFIED_HEADERS", "ConditionalMiddleware"],
    "httpconflict.wsgi.idempotency": ["IdempotencyMiddleware", "PolicyChoice", "active_claim"],
}


def _isort(names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the documented surface, sorted isort-style."""
    assert httpconflict.__all__ == EXPECTED
    assert _isort(EXPECTED) == EXPECTED
    for name in EXPECTED:
        value = getattr(httpconflict, name)
        assert getattr(value, "__module__", "httpconflict").startswith("httpconflict")


def public_modules() -> dict[str, Path]:
    """Every public module of the package but the root, by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) < 2 or parts[1] in APPLICATIONS:
            continue
        if not any(part.startswith("_") for part in parts[1:]):
            found[".".join(parts)] = path
    return found


def _bound(tree: ast.Module) -> tuple[list[str] | None, set[str]]:
    """A module's `__all__` (None without one), and every name its top level binds."""
    declared: list[str] | None = None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    names.add(target.id)
                    if target.id == "__all__" and node.value is not None:
                        declared = ast.literal_eval(node.value)
    return declared, names


def test_every_public_module_is_pinned() -> None:
    """A new public module gets its `__all__` pinned here; a removed one leaves the list."""
    assert sorted(public_modules()) == sorted(MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_public_module_s_all_is_pinned_sorted_and_bound(module: str) -> None:
    """`__all__` is exactly the pinned list, isort-sorted, and names what the module binds."""
    declared, bound = _bound(ast.parse(public_modules()[module].read_text()))
    assert declared == MODULES[module]
    assert _isort(MODULES[module]) == MODULES[module]
    assert set(MODULES[module]) <= bound
