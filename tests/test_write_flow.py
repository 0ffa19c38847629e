"""The conditional write flow, stepped by hand with next() and send()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from httpconflict import (
    Conditions,
    ETag,
    Guard,
    Read,
    Validators,
    Write,
    WriteOutcome,
    WriteResult,
    write_flow,
)
from httpconflict._write import WriteFlow

T = datetime(2026, 1, 1, tzinfo=UTC)
# Each the only change of its second (a store that knows says so).
V1 = Validators(ETag("v1"), T, last_modified_strong=True)
V2 = Validators(ETag("v2"), T, last_modified_strong=True)
NEW = ETag("new")


def flow(headers: dict[str, str], method: str = "PUT", **kwargs: object) -> WriteFlow:
    requested = NEW if method == "PUT" else None
    return write_flow(method, Conditions.from_headers(headers), requested=requested, **kwargs)  # type: ignore[arg-type]


def finish(gen: WriteFlow, reply: object) -> tuple[WriteOutcome, Validators | None]:
    with pytest.raises(StopIteration) as stop:
        gen.send(reply)  # type: ignore[arg-type]
    return stop.value.value.outcome, stop.value.value.current


@pytest.mark.parametrize(
    ("headers", "guard"),
    [
        pytest.param(
            {"If-Match": '"v1"'}, Guard(exists=True, etags=frozenset({"v1"})), id="if-match"
        ),
        pytest.param(
            {"If-Match": '"a", W/"b", "c"'},
            Guard(exists=True, etags=frozenset({"a", "c"})),
            id="if-match-drops-weak-tags",
        ),
        pytest.param({"If-Match": "*"}, Guard(exists=True), id="if-match-star"),
        pytest.param({"If-None-Match": "*"}, Guard(exists=False), id="if-none-match-star"),
        pytest.param({}, Guard(exists=False), id="no-precondition-creates-only"),
    ],
)
def test_one_statement_when_the_guard_says_it_all(headers: dict[str, str], guard: Guard) -> None:
    """Common preconditions go straight into the write: no read first."""
    gen = flow(headers)
    assert next(gen) == Write(guard)
    assert finish(gen, WriteResult(True, V2)) == (WriteOutcome.WRITTEN, V2)


def test_blind_writes_need_no_precondition() -> None:
    """With require_precondition=False the guard accepts any state."""
    gen = flow({}, require_precondition=False)
    assert next(gen) == Write(Guard())


def test_refused_stale_write_is_412_with_current() -> None:
    """A refused If-Match write reports the state that won."""
    gen = flow({"If-Match": '"v1"'})
    next(gen)
    assert finish(gen, WriteResult(False, V2)) == (WriteOutcome.PRECONDITION_FAILED, V2)


def test_a_stale_write_is_412_even_when_its_state_is_in_place() -> None:
    """The state asked for is current, but If-Match names another: 412, never "already done".

    Two clients that read v1 and both PUT the same body made two changes;
    the second must hear of the first.
    """
    gen = flow({"If-Match": '"v1"'})
    next(gen)
    current = Validators(NEW, T)
    assert finish(gen, WriteResult(False, current)) == (WriteOutcome.PRECONDITION_FAILED, current)


def test_a_write_that_changes_nothing_under_a_true_precondition_is_unchanged() -> None:
    """If-Match names the current version and the body is what is stored: 2xx, no new version."""
    gen = flow({"If-Match": '"new"'})
    next(gen)
    current = Validators(NEW, T)
    assert finish(gen, WriteResult(False, current)) == (WriteOutcome.UNCHANGED, current)


def test_if_unmodified_since_in_the_current_versions_second_waits() -> None:
    """A date-guarded write in the second of the version it read would leave two versions with one
    date: refused (412), so the next reader's date names one version again."""
    date = "Thu, 01 Jan 2026 00:00:00 GMT"
    gen = flow({"If-Unmodified-Since": date}, now=T + timedelta(milliseconds=400))
    assert isinstance(next(gen), Read)
    assert finish(gen, V1)[0] is WriteOutcome.PRECONDITION_FAILED
    gen = flow({"If-Unmodified-Since": date}, now=T + timedelta(seconds=1))
    next(gen)
    assert gen.send(V1) == Write(Guard(exists=True, etags=frozenset({"v1"})))


def test_if_unmodified_since_in_doubt_is_412() -> None:
    """Two versions share the date's second: the date cannot say which one was read (§8.8.2.2)."""
    gen = flow({"If-Unmodified-Since": "Thu, 01 Jan 2026 00:00:00 GMT"})
    next(gen)
    assert finish(gen, Validators(ETag("v2"), T))[0] is WriteOutcome.PRECONDITION_FAILED


def test_refused_create_without_precondition_is_428() -> None:
    """PUT with no precondition on an existing document asks for one."""
    gen = flow({})
    next(gen)
    assert finish(gen, WriteResult(False, V1))[0] is WriteOutcome.PRECONDITION_REQUIRED


def test_delete_of_absent_is_not_found() -> None:
    """RFC 9110 §13.2.1: without the precondition the answer is 404, so it is."""
    gen = flow({"If-Match": '"v1"'}, method="DELETE")
    assert next(gen) == Write(Guard(exists=True, etags=frozenset({"v1"})))
    assert finish(gen, WriteResult(False, None))[0] is WriteOutcome.NOT_FOUND


def test_snapshot_path_pins_the_write_to_what_was_evaluated() -> None:
    """If-Unmodified-Since is evaluated on a read, then written only if that state is current."""
    gen = flow({"If-Unmodified-Since": "Thu, 01 Jan 2026 00:00:00 GMT"})
    assert isinstance(next(gen), Read)
    assert gen.send(V1) == Write(Guard(exists=True, etags=frozenset({"v1"})))
    assert finish(gen, WriteResult(True, V2))[0] is WriteOutcome.WRITTEN


def test_snapshot_path_fails_without_writing() -> None:
    """A precondition false on the snapshot ends the flow with no write."""
    gen = flow({"If-None-Match": '"v1"'})
    assert isinstance(next(gen), Read)
    assert finish(gen, V1)[0] is WriteOutcome.PRECONDITION_FAILED


def test_lost_race_is_retried_against_the_new_state() -> None:
    """A pinned write that loses a race re-evaluates and pins the state it now sees."""
    gen = flow({"If-Unmodified-Since": "Thu, 01 Jan 2026 00:00:00 GMT"})
    next(gen)
    gen.send(V1)
    # Another writer stored v2 (same second, so the condition still holds).
    assert gen.send(WriteResult(False, V2)) == Write(Guard(exists=True, etags=frozenset({"v2"})))
    assert finish(gen, WriteResult(True, None))[0] is WriteOutcome.WRITTEN


def test_attempts_are_bounded() -> None:
    """A write that loses every race ends CONTENDED, never loops forever."""
    gen = flow({"If-Unmodified-Since": "Thu, 01 Jan 2026 01:00:00 GMT"}, attempts=3)
    next(gen)
    command = gen.send(V1)
    for i in range(2):
        command = gen.send(WriteResult(False, Validators(ETag(f"race{i}"), T)))
        assert isinstance(command, Write)
    assert finish(gen, WriteResult(False, V2))[0] is WriteOutcome.CONTENDED


def test_pinning_needs_a_strong_tag() -> None:
    """A weak tag cannot serve as the compare of a compare-and-swap."""
    with pytest.raises(ValueError, match="strong"):
        Guard.pinned(Validators(ETag("w", weak=True), T))


@pytest.mark.parametrize(
    ("headers", "current", "outcome"),
    [
        pytest.param(
            {}, V1, WriteOutcome.PRECONDITION_REQUIRED, id="rfc6585-3-delete-existing-428"
        ),
        pytest.param({}, None, WriteOutcome.NOT_FOUND, id="rfc9110-13.2.1-delete-absent-404"),
        pytest.param(
            {"If-None-Match": "*"},
            V1,
            WriteOutcome.PRECONDITION_FAILED,
            id="rfc9110-13.1.2-delete-412",
        ),
    ],
)
def test_delete_never_guards_on_absence(
    headers: dict[str, str], current: Validators | None, outcome: WriteOutcome
) -> None:
    """A DELETE that could only succeed on an absent resource reads first, then answers."""
    gen = flow(headers, method="DELETE")
    assert isinstance(next(gen), Read)
    assert finish(gen, current)[0] is outcome
