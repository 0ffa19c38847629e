"""The public surface of httpconflict.httpx is pinned."""

from __future__ import annotations

import httpconflict
import httpconflict.httpx

EXPECTED = [
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
]


def test_all_is_pinned_and_sorted() -> None:
    """httpconflict.httpx.__all__ is exactly the documented surface, sorted."""
    assert httpconflict.httpx.__all__ == EXPECTED
    assert sorted(EXPECTED) == EXPECTED
    for name in EXPECTED:
        assert getattr(httpconflict.httpx, name).__module__.startswith("httpconflict.")


def test_the_core_surface_is_unchanged_by_the_client() -> None:
    """The client adds nothing to httpconflict.__all__: its names live in the adapter."""
    assert not set(EXPECTED) & set(httpconflict.__all__)


def test_every_error_is_a_conflict_error() -> None:
    """One except clause catches every way an operation gives up."""
    from httpconflict.httpx import ConflictError, RequestRefused, RetriesExhausted, UnusableAnswer

    for error in (RequestRefused, RetriesExhausted, UnusableAnswer):
        assert issubclass(error, ConflictError)
