"""The public surface is pinned, and importing the core loads nothing optional."""

from __future__ import annotations

import subprocess
import sys

import httpconflict

EXPECTED = [
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


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the documented surface, sorted isort-style."""
    assert httpconflict.__all__ == EXPECTED
    assert sorted(EXPECTED, key=lambda n: (not n.isupper(), not n[0].isupper(), n)) == EXPECTED
    for name in EXPECTED:
        value = getattr(httpconflict, name)
        assert getattr(value, "__module__", "httpconflict").startswith("httpconflict")


OPTIONAL = [
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "psycopg",
    "psycopg_pool",
    "redis",
    "httpx",
    "django",
    "flask",
    "sqlalchemy",
    "rich",
]


def test_import_loads_no_optional_dependency() -> None:
    """`import httpconflict` (and its storage package) pulls in no third-party module."""
    code = (
        "import sys, httpconflict, httpconflict.storage; "
        f"print([m for m in {OPTIONAL!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_core_modules_import_only_the_stdlib() -> None:
    """The core's private modules import nothing outside the stdlib and the package."""
    code = (
        "import sys; before = set(sys.modules); import httpconflict; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(sorted(m for m in new if m not in sys.stdlib_module_names and m != 'httpconflict'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
