"""RFC 9457 problem details and the error tree."""

from __future__ import annotations

import json

import pytest

import httpconflict
from httpconflict import (
    PROBLEM_TYPES,
    NotFound,
    PreconditionFailed,
    ProblemDetails,
    ProblemError,
    Unavailable,
)
from httpconflict._errors import problem_and_fields
from httpconflict._problem import MAX_DETAIL


def test_to_dict_orders_members_and_adds_extensions() -> None:
    """Standard members first, then extensions; absent members are omitted."""
    problem = ProblemDetails(
        type="https://e.x/t", title="T", status=412, extensions={"current_etag": '"a"'}
    )
    assert list(problem.to_dict()) == ["type", "title", "status", "current_etag"]
    assert json.loads(problem.to_json()) == problem.to_dict()


def test_type_defaults_to_about_blank() -> None:
    """rfc9457-3.1.1: an absent type means about:blank."""
    assert ProblemDetails().to_dict() == {"type": "about:blank"}
    assert ProblemDetails.from_dict({}).type == "about:blank"


@pytest.mark.parametrize("name", ["type", "title", "status", "detail", "instance"])
def test_reserved_names_are_refused_as_extensions(name: str) -> None:
    """rfc9457-3.2: an extension may not redefine a standard member."""
    with pytest.raises(ValueError, match="RFC 9457"):
        ProblemDetails(extensions={name: "x"})


def test_from_dict_roundtrip() -> None:
    """from_dict(to_dict(p)) == p."""
    problem = ProblemDetails("t:x", "T", 409, "d", "/i", {"conflicts": [{"pointer": "/a"}]})
    assert ProblemDetails.from_dict(problem.to_dict()) == problem


def test_from_dict_ignores_wrongly_typed_members() -> None:
    """rfc9457-3.1: "If a member's value type does not match ... the member MUST be ignored"."""
    problem = ProblemDetails.from_dict({"type": 7, "title": ["x"], "status": "412", "detail": None})
    assert problem == ProblemDetails()
    assert ProblemDetails.from_dict({"status": True}).status is None
    assert ProblemDetails.from_dict({"status": 1000}).status is None


def test_every_problem_type_is_documented() -> None:
    """Each problem type has a stable URI, a status, a cause and a fix."""
    for slug, problem_type in PROBLEM_TYPES.items():
        assert problem_type.uri.endswith("/problems/" + slug)
        assert 400 <= problem_type.status <= 599
        assert problem_type.cause
        assert problem_type.fix


def test_errors_carry_their_problem() -> None:
    """Every error knows the answer a server should give."""
    error = PreconditionFailed("changed", current_etag='"v2"')
    assert isinstance(error, ProblemError)
    assert error.status == 412
    assert error.problem.extensions == {"current_etag": '"v2"'}
    assert str(error) == "changed"


def test_bad_input_errors_are_value_errors() -> None:
    """Parse errors are also ValueErrors, so `except ValueError` keeps working."""
    for name in ("MalformedHeader", "MalformedJSON", "InvalidDocument", "InvalidParameter"):
        assert issubclass(getattr(httpconflict, name), ValueError)
    assert issubclass(httpconflict.NotFound, LookupError)


@pytest.mark.parametrize(
    ("problem", "headers", "expected"),
    [
        pytest.param(
            PreconditionFailed("stale", current_etag=None),
            None,
            {"Cache-Control": "no-store"},
            id="an-error",
        ),
        pytest.param(
            Unavailable("down", retry_after=2),
            None,
            {"Retry-After": "2", "Cache-Control": "no-store"},
            id="with-its-fields",
        ),
        pytest.param(
            NotFound("gone").problem,
            {"cache-control": "max-age=60"},
            {"cache-control": "max-age=60"},
            id="the-caller-s-own-kept",
        ),
    ],
)
def test_a_problem_answer_is_stored_by_no_cache(
    problem: ProblemError | ProblemDetails,
    headers: dict[str, str] | None,
    expected: dict[str, str],
) -> None:
    """Cache-Control: no-store unless the caller says otherwise (RFC 9111 §4.2.2: a 404 is kept)."""
    assert problem_and_fields(problem, headers)[1] == expected


def test_a_long_detail_is_cut_saying_how_much() -> None:
    """A detail past MAX_DETAIL characters keeps its first MAX_DETAIL and says what was cut."""
    problem = ProblemDetails(detail="operation 0 ('/" + "q" * 5000 + "')")
    assert problem.detail is not None
    assert problem.detail.startswith("operation 0 ('/qqq")
    assert problem.detail.endswith(f"... ({5000 + 17 - MAX_DETAIL} more characters)")
    assert len(problem.detail) < MAX_DETAIL + 30
    assert ProblemDetails(detail="x" * MAX_DETAIL).detail == "x" * MAX_DETAIL
