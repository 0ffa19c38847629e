"""How an operation that gave up explains itself: one line, the answer's problem in it."""

from __future__ import annotations

from httpconflict._client_commands import GaveUp, Received, Send
from httpconflict._client_retry import GiveUpReason
from tests.client.replies import URL, problem

PATCH = Send("PATCH", URL)


def test_a_refusal_names_the_request_and_the_problem() -> None:
    """REFUSED: the operation, the URL, the attempts, and the problem's type, title and detail."""
    answer = problem(422, "invalid-document", detail="documents are objects")
    line = GaveUp(GiveUpReason.REFUSED, "update", URL, 1, PATCH, answer).describe()
    assert line == (
        f"update of {URL} failed after 1 attempt: PATCH answered 422 invalid-document: "
        "title of invalid-document - documents are objects"
    )


def test_exhausted_retries_name_the_conflicts() -> None:
    """A merge conflict lists the clashing pointers and the ETag to retry with."""
    answer = problem(
        409,
        "merge-conflict",
        conflicts=[{"pointer": "/count"}, {"pointer": "/title"}],
        current_etag='"e9"',
    )
    outcome = GaveUp(
        GiveUpReason.ATTEMPTS_EXHAUSTED,
        "update",
        URL,
        8,
        PATCH,
        answer,
        detail="all 8 attempts were made",
    )
    line = outcome.describe()
    assert line.startswith(f"update of {URL} gave up after 8 attempts: all 8 attempts were made;")
    assert line.endswith(
        "last: PATCH answered 409 merge-conflict: title of merge-conflict "
        '(conflicts at /count, /title) (current ETag "e9")'
    )
    assert "\n" not in line


def test_a_lost_answer_names_the_transport_error() -> None:
    """No answer: the error's type and message."""
    outcome = GaveUp(
        GiveUpReason.TIME_BUDGET_SPENT,
        "create",
        URL,
        3,
        Send("POST", URL),
        error=TimeoutError("timed out\nreading"),
        detail="waiting 2 s more would pass the time budget of 1 s (0 s spent)",
    )
    assert outcome.describe().endswith("last: POST got no answer (TimeoutError: timed out reading)")


def test_an_answer_that_is_not_a_problem_gives_its_status() -> None:
    """A plain 500 (text/html, say) is named by its status."""
    outcome = GaveUp(
        GiveUpReason.REFUSED, "update", URL, 1, PATCH, Received(500, {"content-type": "text/html"})
    )
    assert outcome.problem is None
    assert outcome.describe() == f"update of {URL} failed after 1 attempt: PATCH answered 500"
