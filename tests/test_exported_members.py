"""The public surface is pinned."""

from __future__ import annotations

import httpconflict

EXPECTED = [
    "CATALOG_QUERIES",
    "MISSING",
    "PROBLEM_TYPES",
    "Catalog",
    "Conditions",
    "Conflict",
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
    "InvalidPointer",
    "JsonPatchError",
    "JsonPointer",
    "MalformedHeader",
    "MalformedJSON",
    "MalformedPatch",
    "MergeConflict",
    "MergePatchUnreachable",
    "MergeResult",
    "NotFound",
    "PatchNotApplicable",
    "PatchTestFailed",
    "PointerNotFound",
    "PreconditionFailed",
    "PreconditionRequired",
    "ProblemDetails",
    "ProblemError",
    "ProblemType",
    "Read",
    "ReadDecision",
    "ReadOutcome",
    "Unavailable",
    "UnsupportedMediaType",
    "Validators",
    "Violation",
    "ViolationKind",
    "Write",
    "WriteDecision",
    "WriteOutcome",
    "WriteResult",
    "apply_json_patch",
    "apply_merge_patch",
    "arun_write",
    "changed_pointers",
    "classify",
    "evaluate",
    "format_http_date",
    "integrity_error",
    "integrity_problem",
    "json_equal",
    "json_patch_diff",
    "merge3",
    "merge_patch_diff",
    "parse_http_date",
    "parse_json",
    "parse_json_object",
    "parse_media_type",
    "pointers_read_by_json_patch",
    "pointers_touched_by_json_patch",
    "pointers_touched_by_merge_patch",
    "read_decision",
    "require_media_type",
    "run_write",
    "write_flow",
]


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the documented surface, sorted isort-style."""
    assert httpconflict.__all__ == EXPECTED
    assert sorted(EXPECTED, key=lambda n: (not n.isupper(), not n[0].isupper(), n)) == EXPECTED
    for name in EXPECTED:
        value = getattr(httpconflict, name)
        assert getattr(value, "__module__", "httpconflict").startswith("httpconflict")
