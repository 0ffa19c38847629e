"""Any 5xx answer to a check's requests fails that check, whatever else it concluded."""

from __future__ import annotations

from httpconflict.tools.audit.exchange import Exchange
from httpconflict.tools.audit.runner import with_server_errors
from httpconflict.tools.audit.verdict import CheckResult, Verdict, worst


def exchange(status: int, method: str = "GET") -> Exchange:
    return Exchange("etag", method, "http://h/v1/notes/1", status, (), b"")


def test_a_5xx_fails_a_passing_check() -> None:
    """A pass with one 500 among its answers becomes a fail that names the request."""
    result = with_server_errors(
        CheckResult("etag", Verdict.PASS, ("strong ETag",)), [exchange(200), exchange(500, "PUT")]
    )
    assert result.verdict is Verdict.FAIL
    assert result.evidence[-1] == (
        "SERVER ERRORS: 1 of this check's 2 requests: PUT /v1/notes/1 -> 500"
    )
    assert result.data["server_errors"] == 1


def test_a_skipped_check_with_a_5xx_is_a_fail() -> None:
    """A check that could not go on because of a 503 failed; it was not merely skipped."""
    result = with_server_errors(CheckResult("etag", Verdict.SKIPPED, ()), [exchange(503)])
    assert result.verdict is Verdict.FAIL


def test_without_5xx_the_result_stands() -> None:
    """4xx answers are the checks' business; they change nothing here."""
    result = CheckResult("etag", Verdict.WARN, ())
    assert with_server_errors(result, [exchange(412), exchange(428)]) is result


def test_worst_of_the_parts() -> None:
    """A failure outweighs a warning outweighs a pass; nothing is a skip."""
    assert worst([Verdict.PASS, Verdict.WARN]) is Verdict.WARN
    assert worst([Verdict.WARN, Verdict.FAIL, Verdict.PASS]) is Verdict.FAIL
    assert worst([]) is Verdict.SKIPPED
