"""Precondition evaluation: RFC 9110 §13.2.2 order and outcomes, as a spec table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from httpconflict import (
    Conditions,
    Decision,
    ETag,
    MalformedHeader,
    Validators,
    evaluate,
    precondition_failed,
)

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
BEFORE = "Thu, 01 Jan 2026 11:00:00 GMT"
AT = "Thu, 01 Jan 2026 12:00:00 GMT"
AFTER = "Thu, 01 Jan 2026 13:00:00 GMT"
# The only change made in its second, as a store that knows it says.
CURRENT = Validators(ETag("v2"), T0 + timedelta(microseconds=700_000), last_modified_strong=True)
# The same, from a store that cannot tell whether another change shares its second.
SHARED = Validators(ETag("v2"), T0 + timedelta(microseconds=700_000))
PROCEED = Decision.PROCEED
NOT_MODIFIED, FAILED, REQUIRED = (
    Decision.NOT_MODIFIED,
    Decision.PRECONDITION_FAILED,
    Decision.PRECONDITION_REQUIRED,
)

# (method, headers, current, expected); current=None means no current representation.
TABLE = [
    # §13.1.1 If-Match
    pytest.param("PUT", {"If-Match": '"v2"'}, CURRENT, PROCEED, id="rfc9110-13.1.1-match-proceeds"),
    pytest.param("PUT", {"If-Match": '"v1"'}, CURRENT, FAILED, id="rfc9110-13.1.1-stale-412"),
    pytest.param(
        "PUT", {"If-Match": '"v1", "v2"'}, CURRENT, PROCEED, id="rfc9110-13.1.1-any-member-matches"
    ),
    pytest.param(
        "PUT",
        {"If-Match": 'W/"v2"'},
        CURRENT,
        FAILED,
        id="rfc9110-13.1.1-weak-never-matches-if-match",
    ),
    pytest.param("PUT", {"If-Match": "*"}, CURRENT, PROCEED, id="rfc9110-13.1.1-star-exists"),
    pytest.param("PUT", {"If-Match": "*"}, None, FAILED, id="rfc9110-13.1.1-star-absent-412"),
    pytest.param(
        "PUT",
        {"If-Match": "*"},
        Validators(),
        PROCEED,
        id="rfc9110-13.1.1-star-exists-without-etag",
    ),
    pytest.param(
        "PUT", {"If-Match": '"v2"'}, Validators(), FAILED, id="rfc9110-13.1.1-no-etag-no-match"
    ),
    pytest.param("PUT", {"If-Match": '"v2"'}, None, FAILED, id="rfc9110-13.1.1-absent-412"),
    pytest.param("GET", {"If-Match": '"v1"'}, CURRENT, FAILED, id="rfc9110-13.1.1-get-412"),
    pytest.param(
        "DELETE", {"If-Match": '"v1"'}, CURRENT, FAILED, id="rfc9110-13.1.1-delete-stale-412"
    ),
    # §13.1.4 If-Unmodified-Since
    pytest.param(
        "PUT", {"If-Unmodified-Since": AT}, CURRENT, PROCEED, id="rfc9110-13.1.4-equal-proceeds"
    ),
    pytest.param(
        "PUT",
        {"If-Unmodified-Since": AT},
        SHARED,
        FAILED,
        id="rfc9110-8.8.2.2-same-second-in-doubt-412",
    ),
    pytest.param(
        "PUT",
        {"If-Unmodified-Since": AFTER},
        SHARED,
        PROCEED,
        id="rfc9110-8.8.2.2-later-second-no-doubt",
    ),
    pytest.param(
        "PUT", {"If-Unmodified-Since": AFTER}, CURRENT, PROCEED, id="rfc9110-13.1.4-later-proceeds"
    ),
    pytest.param(
        "PUT", {"If-Unmodified-Since": BEFORE}, CURRENT, FAILED, id="rfc9110-13.1.4-modified-412"
    ),
    pytest.param(
        "PUT",
        {"If-Match": '"v2"', "If-Unmodified-Since": BEFORE},
        CURRENT,
        PROCEED,
        id="rfc9110-13.2.2-step2-ignored-with-if-match",
    ),
    pytest.param(
        "PUT",
        {"If-Unmodified-Since": BEFORE},
        Validators(ETag("v2")),
        REQUIRED,
        id="rfc9110-13.1.4-no-modification-date-is-no-guard-428",
    ),
    pytest.param(
        "PUT",
        {"If-Unmodified-Since": BEFORE, "If-Match": '"v2"'},
        Validators(ETag("v2")),
        PROCEED,
        id="rfc9110-13.1.4-no-modification-date-if-match-guards",
    ),
    # §13.1.2 If-None-Match
    pytest.param(
        "GET", {"If-None-Match": '"v2"'}, CURRENT, NOT_MODIFIED, id="rfc9110-13.1.2-get-match-304"
    ),
    pytest.param(
        "HEAD", {"If-None-Match": '"v2"'}, CURRENT, NOT_MODIFIED, id="rfc9110-13.1.2-head-match-304"
    ),
    pytest.param(
        "GET",
        {"If-None-Match": 'W/"v2"'},
        CURRENT,
        NOT_MODIFIED,
        id="rfc9110-13.1.2-weak-comparison-304",
    ),
    pytest.param(
        "GET", {"If-None-Match": '"v1"'}, CURRENT, PROCEED, id="rfc9110-13.1.2-no-match-200"
    ),
    pytest.param(
        "GET", {"If-None-Match": "*"}, CURRENT, NOT_MODIFIED, id="rfc9110-13.1.2-get-star-304"
    ),
    pytest.param(
        "PUT", {"If-None-Match": "*"}, CURRENT, FAILED, id="rfc9110-13.1.2-put-star-exists-412"
    ),
    pytest.param(
        "PUT", {"If-None-Match": "*"}, None, PROCEED, id="rfc9110-13.1.2-put-star-absent-creates"
    ),
    pytest.param(
        "PUT", {"If-None-Match": '"v2"'}, CURRENT, FAILED, id="rfc9110-13.1.2-put-match-412"
    ),
    pytest.param(
        "GET",
        {"If-Match": '"v1"', "If-None-Match": '"v2"'},
        CURRENT,
        FAILED,
        id="rfc9110-13.2.2-step1-before-step3",
    ),
    # §13.1.3 If-Modified-Since
    pytest.param(
        "GET", {"If-Modified-Since": AT}, CURRENT, NOT_MODIFIED, id="rfc9110-13.1.3-same-second-304"
    ),
    pytest.param(
        "GET", {"If-Modified-Since": AFTER}, CURRENT, NOT_MODIFIED, id="rfc9110-13.1.3-later-304"
    ),
    pytest.param(
        "GET", {"If-Modified-Since": BEFORE}, CURRENT, PROCEED, id="rfc9110-13.1.3-modified-200"
    ),
    pytest.param(
        "GET",
        {"If-None-Match": '"v1"', "If-Modified-Since": AFTER},
        CURRENT,
        PROCEED,
        id="rfc9110-13.2.2-step4-ignored-with-if-none-match",
    ),
    pytest.param(
        "PUT",
        {"If-Modified-Since": AFTER},
        CURRENT,
        REQUIRED,
        id="rfc9110-13.1.3-ignored-for-put-is-no-guard-428",
    ),
    # §13.2.1 preconditions are ignored when the answer would be 404 anyway
    pytest.param(
        "GET", {"If-Match": '"v1"'}, None, PROCEED, id="rfc9110-13.2.1-get-absent-ignores"
    ),
    pytest.param(
        "DELETE", {"If-Match": '"v1"'}, None, PROCEED, id="rfc9110-13.2.1-delete-absent-ignores"
    ),
    # RFC 6585 §3 policy: a write to an existing resource needs a precondition
    pytest.param("PUT", {}, CURRENT, REQUIRED, id="rfc6585-3-put-existing-428"),
    pytest.param("DELETE", {}, CURRENT, REQUIRED, id="rfc6585-3-delete-existing-428"),
    pytest.param("PATCH", {}, CURRENT, REQUIRED, id="rfc6585-3-patch-existing-428"),
    pytest.param("PUT", {}, None, PROCEED, id="rfc6585-3-put-absent-creates"),
    pytest.param(
        "PUT", {"If-None-Match": '"v1"'}, CURRENT, REQUIRED, id="rfc6585-3-if-none-match-tag-428"
    ),
    pytest.param(
        "DELETE",
        {"If-None-Match": '"v1", W/"v0"'},
        CURRENT,
        REQUIRED,
        id="rfc6585-3-if-none-match-tags-delete-428",
    ),
    pytest.param(
        "PATCH",
        {"If-None-Match": '"v1"', "If-Match": '"v2"'},
        CURRENT,
        PROCEED,
        id="rfc6585-3-if-match-guards-beside-if-none-match",
    ),
    pytest.param(
        "PUT", {"If-None-Match": '"v1"'}, None, PROCEED, id="rfc6585-3-if-none-match-tag-creates"
    ),
    pytest.param("GET", {}, CURRENT, PROCEED, id="rfc6585-3-get-needs-nothing"),
    pytest.param(
        "PUT",
        {"If-Unmodified-Since": AT},
        CURRENT,
        PROCEED,
        id="rfc6585-3-any-precondition-will-do",
    ),
]


@pytest.mark.parametrize(("method", "headers", "current", "expected"), TABLE)
def test_evaluation_table(
    method: str, headers: dict[str, str], current: Validators | None, expected: Decision
) -> None:
    """evaluate() gives the RFC's answer for each case."""
    conditions = Conditions.from_headers(headers)
    assert evaluate(method, conditions, current, require_precondition=True) is expected


STALE = [
    pytest.param("PUT", {"If-Match": '"v1"'}, id="rfc9110-13.1.1-stale-put"),
    pytest.param("PATCH", {"If-Match": '"v1"'}, id="rfc9110-13.1.1-stale-patch"),
    pytest.param("DELETE", {"If-Match": '"v1"'}, id="rfc9110-13.1.1-stale-delete"),
    pytest.param("PUT", {"If-Unmodified-Since": BEFORE}, id="rfc9110-13.1.4-modified-since"),
]


@pytest.mark.parametrize(("method", "headers"), STALE)
def test_a_stale_precondition_never_proceeds(method: str, headers: dict[str, str]) -> None:
    """A failed If-Match or If-Unmodified-Since is 412 whatever the request asks for.

    Whether the state asked for is already in place is no evidence that this
    request succeeded: two clients that read v1 and both write the same v2
    made two changes.
    """
    conditions = Conditions.from_headers(headers)
    for required in (False, True):
        decision = evaluate(method, conditions, CURRENT, require_precondition=required)
        assert decision is FAILED


def test_decision_statuses() -> None:
    """Each decision names its status, or None when the method answers for itself."""
    assert [d.status for d in Decision] == [None, 304, 412, 428]


def test_from_headers_names_the_field() -> None:
    """A malformed field is reported with its name."""
    with pytest.raises(MalformedHeader, match="If-None-Match") as info:
        Conditions.from_headers({"if-none-match": "abc"})
    assert info.value.problem.extensions["header"] == "If-None-Match"


def test_from_headers_accepts_a_getlist_function() -> None:
    """Field lines come from a function such as Starlette's headers.getlist."""
    lines = {"if-match": ['"a"', '"b"']}
    conditions = Conditions.from_headers(lambda name: lines.get(name, []))
    assert conditions.if_match is not None
    assert [t.opaque for t in conditions.if_match.tags] == ["a", "b"]
    assert not Conditions().present
    assert conditions.present


@pytest.mark.parametrize("field", ["If-Modified-Since", "If-Unmodified-Since"])
def test_malformed_dates_are_refused_by_default(field: str) -> None:
    """A malformed date is a 400, not silently a blind write."""
    with pytest.raises(MalformedHeader, match=field):
        Conditions.from_headers({field: "yesterday"})


@pytest.mark.parametrize("field", ["If-Modified-Since", "If-Unmodified-Since"])
def test_lenient_dates_follow_the_rfc_letter(field: str) -> None:
    """rfc9110-13.1.3/13.1.4: with lenient_dates a malformed date is ignored."""
    assert Conditions.from_headers({field: "yesterday"}, lenient_dates=True) == Conditions()


def test_a_list_of_dates_is_malformed() -> None:
    """rfc9110-13.1.4: several If-Unmodified-Since lines are not one date."""
    with pytest.raises(MalformedHeader):
        Conditions.from_headers({"If-Unmodified-Since": [AT, AT]})


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"if-none-match": "*"}, "the resource exists (If-None-Match: *)"),
        ({"if-none-match": '"a"'}, 'its current ETag, "a", is one that If-None-Match names'),
        ({"if-match": '"a"', "if-none-match": "*"}, "the resource exists (If-None-Match: *)"),
        (
            {"if-match": '"b"', "if-none-match": "*"},
            'the resource has changed: its current ETag is "a"',
        ),
    ],
)
def test_a_412_names_the_field_that_failed(headers: dict[str, str], detail: str) -> None:
    """If-Match is checked first: the 412 blames If-None-Match only when If-Match held."""
    current = Validators(etag=ETag("a"))
    conditions = Conditions.from_headers(headers)
    assert evaluate("PUT", conditions, current) is Decision.PRECONDITION_FAILED
    refusal = precondition_failed(current, conditions)
    assert refusal.problem.detail is not None
    assert refusal.problem.detail.startswith(detail)
    assert refusal.problem.extensions["current_etag"] == '"a"'
