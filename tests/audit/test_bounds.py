"""The audit stays within its time bounds against slow and silent servers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.audit.invoke import audit


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose connections are accepted by the kernel but never answered."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_a_server_that_never_answers_exits_3_within_the_request_timeout(silent_port: int) -> None:
    """No answer to the first POST within --request-timeout: exit 3 at once, not a hang."""
    started = time.monotonic()
    run = audit(f"http://127.0.0.1:{silent_port}/v1/notes", "--request-timeout", "0.5")
    assert time.monotonic() - started < 3
    assert run.code == 3
    assert "no answer within 0.5 s" in run.stderr


def test_the_checks_stop_at_the_deadline(slow_naive_api: str) -> None:
    """--timeout 1.5 against 0.2 s answers: later checks skipped, cleanup still done, bounded."""
    started = time.monotonic()
    run = audit(f"{slow_naive_api}/v1/notes", "--timeout", "1.5", "--json")
    elapsed = time.monotonic() - started
    report = run.report()
    skipped = [c for c in report["checks"] if c["verdict"] == "skipped"]
    assert skipped
    assert any("time budget (--timeout) ran out" in c["evidence"][0] for c in skipped)
    assert report["checks"][0]["verdict"] == "pass"  # the ETag check ran in time
    assert report["cleanup"]["left"] == []
    # The checks' 1.5 s, plus at most one late request and the cleanup of what was made.
    assert elapsed < 1.5 + 0.5 + 5
    assert run.code == 1  # the checks that ran found the flaws


def test_what_was_made_before_exit_3_is_deleted(slower_naive_api: str) -> None:
    """--timeout 3 against 2 s answers: the POST made one, its GET ran out of time; deleted.

    The POST has a second to spare for the audit's own start on a loaded machine (with
    half a second, a CI run at load 12 ran out of time during the POST instead).
    """
    run = audit(f"{slower_naive_api}/v1/notes", "--timeout", "3", "--json")
    assert run.code == 3, run.stdout + run.stderr
    assert "the time budget (--timeout) ran out" in run.stderr
    assert "httpconflict audit: cleanup: 1 of 1 test resources deleted" in run.stderr
    cleanup = run.report()["cleanup"]
    assert (cleanup["created"], cleanup["deleted"], cleanup["left"]) == (1, 1, [])


def test_a_resource_not_where_the_answer_said_is_reported_left_behind(naive_api: str) -> None:
    """--id-field title: the item URL is wrong (GET 404), exit 3, and one is reported left."""
    run = audit(f"{naive_api}/v1/notes", "--id-field", "title", "--json")
    assert run.code == 3, run.stdout + run.stderr
    assert "(see --id-field)" in run.stderr
    assert "left behind: 1 resource(s) whose URL the audit could not learn" in run.stderr
    assert run.report()["cleanup"]["unlocated"] == 1
