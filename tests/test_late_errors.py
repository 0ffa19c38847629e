"""Errors raised after the answer was formed (`_late_errors`): what becomes of the answer."""

from __future__ import annotations

import sqlite3

import pytest

from httpconflict._late_errors import AfterAnswer, after_answer, holds_answer, raised_by_commit


def _lost() -> sqlite3.OperationalError:
    """An outage without a server: SQLite's disk I/O error (its connection's write lost)."""
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorcode = 10  # SQLITE_IOERR, as sqlite3 sets it
    return error


def _violation() -> sqlite3.IntegrityError:
    """SQLite refusing a duplicate, as a deferred constraint refuses a COMMIT."""
    error = sqlite3.IntegrityError("UNIQUE constraint failed: names.name")
    error.sqlite_errorcode = 2067  # SQLITE_CONSTRAINT_UNIQUE
    return error


class _Connection:
    """A PEP 249 connection whose COMMIT and close fail."""

    def commit(self) -> None:
        raise _lost()

    def commit_prepared(self) -> None:
        """A COMMIT the database refuses: a constraint checked at COMMIT."""
        raise _violation()

    def close(self) -> None:
        raise _lost()


def _raised(call: str) -> BaseException:
    try:
        getattr(_Connection(), call)()
    except sqlite3.DatabaseError as error:
        return error
    raise AssertionError(f"{call} did not raise")


def _raised_from(cause: BaseException) -> BaseException:
    """A framework's error raised from `cause` (Starlette's "response already started")."""
    try:
        raise RuntimeError("Caught handled exception, but response already started.") from cause
    except RuntimeError as error:
        return error


@pytest.mark.parametrize(
    ("method", "streamed", "held"),
    [
        pytest.param("POST", False, True, id="write-held"),
        pytest.param("delete", False, True, id="any-case"),
        pytest.param("PATCH", True, False, id="streamed-write-goes-as-it-comes"),
        pytest.param("GET", False, False, id="read-not-held"),
        pytest.param("HEAD", False, False, id="head-not-held"),
    ],
)
def test_which_answers_wait(method: str, streamed: bool, held: bool) -> None:
    """A write's whole answer waits for the app to return; a read's and a stream do not."""
    assert holds_answer(method, streamed=streamed) is held


@pytest.mark.parametrize(
    ("error", "formed", "sent", "commit_failed", "decision"),
    [
        pytest.param(_raised("close"), True, False, False, AfterAnswer.STANDS, id="close-held"),
        pytest.param(_raised("close"), True, True, False, AfterAnswer.STANDS, id="close-sent"),
        pytest.param(_lost(), True, False, True, AfterAnswer.REPLACED, id="commit-hooks-counted"),
        pytest.param(
            _raised("commit"), True, False, False, AfterAnswer.REPLACED, id="commit-frame"
        ),
        pytest.param(
            _raised_from(_raised("commit")), True, False, False, AfterAnswer.REPLACED, id="wrapped"
        ),
        pytest.param(_raised("commit"), True, True, False, AfterAnswer.TOO_LATE, id="commit-sent"),
        pytest.param(ValueError("bug"), True, False, False, AfterAnswer.APP_ERROR, id="app-error"),
        pytest.param(
            ValueError("bug"), True, False, True, AfterAnswer.RAISE, id="commit-failed-otherwise"
        ),
        pytest.param(
            _raised("commit_prepared"), True, False, False, AfterAnswer.REFUSED, id="refused"
        ),
        pytest.param(_violation(), True, False, True, AfterAnswer.REFUSED, id="refused-counted"),
        pytest.param(
            _raised_from(_raised("commit_prepared")),
            True,
            False,
            False,
            AfterAnswer.REFUSED,
            id="refused-wrapped",
        ),
        pytest.param(
            _raised("commit_prepared"), True, True, False, AfterAnswer.TOO_LATE, id="refused-sent"
        ),
        pytest.param(
            _violation(), True, False, False, AfterAnswer.APP_ERROR, id="violation-not-committing"
        ),
        pytest.param(_raised("close"), False, False, False, AfterAnswer.RAISE, id="not-formed"),
    ],
)
def test_after_the_answer(
    error: BaseException, formed: bool, sent: bool, commit_failed: bool, decision: AfterAnswer
) -> None:
    """An outage of a close leaves the answer; of a COMMIT, or its refusal, replaces it."""
    assert after_answer(error, formed=formed, sent=sent, commit_failed=commit_failed) is decision


def test_a_commit_is_told_by_its_frame_through_the_chain() -> None:
    """A COMMIT's error is one, also as the cause of another; a close's is not."""
    assert raised_by_commit(_raised("commit"))
    assert raised_by_commit(_raised_from(_raised("commit")))
    assert not raised_by_commit(_raised("close"))
    assert not raised_by_commit(_lost())
