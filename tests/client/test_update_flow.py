"""The read-modify-write flow, stepped by hand: what it sends, when it retries, how it ends."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from httpconflict._client_commands import Received, Send, TransportFailure
from httpconflict._client_flow import update_flow
from httpconflict._client_retry import GiveUpReason, RetryPolicy
from tests.client.replies import (
    URL,
    Flow,
    body,
    document,
    gave_up,
    lost,
    problem,
    send,
    sent,
    slept,
    stored,
)

POLICY = RetryPolicy(attempts=8, budget=30.0, base=0.1, cap=1.0)
REPLAYED = {"idempotent-replayed": "true"}


def update(change: Callable[[Any], Any], policy: RetryPolicy = POLICY, random: float = 0.5) -> Flow:
    keys = (f"key-{n}" for n in itertools.count(1))
    return update_flow(
        URL, change, policy=policy, started=0.0, random=lambda: random, new_key=lambda: next(keys)
    )


def increment(doc: dict[str, Any]) -> None:
    doc["count"] += 1


def started(flow: Flow) -> Send:
    """Start the flow: its first command is the GET of the document."""
    read = sent(next(flow))
    assert (read.method, read.url, read.header("accept")) == ("GET", URL, "application/json")
    return read


def test_the_change_goes_as_a_merge_patch_with_if_match() -> None:
    """GET, then PATCH the difference as application/merge-patch+json with the ETag read."""
    flow = update(increment)
    started(flow)
    write = sent(send(flow, document({"count": 1, "title": "t"}, '"e1"')))
    assert (write.method, write.url) == ("PATCH", URL)
    assert write.header("content-type") == "application/merge-patch+json"
    assert write.header("if-match") == '"e1"'
    assert body(write) == {"count": 2}
    result = stored(flow, document({"count": 2, "title": "t"}, '"e2"'))
    assert (result.document, result.etag, result.attempts) == (
        {"count": 2, "title": "t"},
        '"e2"',
        1,
    )
    assert result.rebased_from is None


def test_the_change_may_return_the_new_document() -> None:
    """A change that returns a document (not None) is sent as that document's difference."""
    flow = update(lambda doc: {"title": doc["title"].upper()})
    started(flow)
    assert body(send(flow, document({"count": 1, "title": "t"}))) == {"count": None, "title": "T"}


def test_the_change_gets_a_deep_copy() -> None:
    """Changing nested values in place still shows in the patch: the read document is untouched."""
    seen: list[Any] = []

    def change(doc: dict[str, Any]) -> None:
        seen.append(doc)
        doc["tags"].append("b")
        doc["meta"]["n"] = 2

    flow = update(change)
    started(flow)
    read = {"tags": ["a"], "meta": {"n": 1}}
    write = send(flow, document(read))
    assert body(write) == {"tags": ["a", "b"], "meta": {"n": 2}}
    assert read == {"tags": ["a"], "meta": {"n": 1}}
    assert seen[0] is not read


def test_no_change_sends_nothing() -> None:
    """An empty difference ends the flow with the document as read: no write."""
    flow = update(lambda doc: None)
    started(flow)
    result = stored(flow, document({"count": 1}, '"e1"'))
    assert (result.document, result.etag, result.attempts) == ({"count": 1}, '"e1"', 1)


def test_a_member_set_to_null_is_a_put_of_the_whole_document() -> None:
    """A merge patch cannot set null (null removes): the new document goes as PUT with If-Match."""
    flow = update(lambda doc: doc.update(due=None))
    started(flow)
    write = sent(send(flow, document({"count": 1}, '"e1"')))
    assert (write.method, write.header("content-type")) == ("PUT", "application/json")
    assert write.header("if-match") == '"e1"'
    assert body(write) == {"count": 1, "due": None}
    # A 200 without a body: what was sent is what is stored.
    result = stored(flow, Received(200, {"etag": '"e2"'}))
    assert (result.document, result.etag) == ({"count": 1, "due": None}, '"e2"')


def test_a_removed_member_is_null_in_the_patch() -> None:
    """Deleting a member is expressible: it is null in the merge patch."""
    flow = update(lambda doc: {k: v for k, v in doc.items() if k != "title"})
    started(flow)
    assert body(send(flow, document({"count": 1, "title": "t"}))) == {"title": None}


def test_412_reads_again_and_redoes_the_change() -> None:
    """412: back off, GET the new version, run the change on it, send with the new ETag."""
    calls: list[int] = []

    def change(doc: dict[str, Any]) -> None:
        calls.append(doc["count"])
        doc["count"] += 1

    flow = update(change)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    assert 0 <= slept(send(flow, problem(412, "precondition-failed", current_etag='"e2"'))) < 0.1
    assert sent(send(flow, None)).method == "GET"
    write = sent(send(flow, document({"count": 5}, '"e2"')))
    assert (write.header("if-match"), body(write)) == ('"e2"', {"count": 6})
    result = stored(flow, document({"count": 6}, '"e3"'))
    assert (calls, result.attempts) == ([1, 5], 2)


def test_a_merge_conflict_is_resolved_by_redoing_the_change() -> None:
    """409 merge-conflict: the change is computed again from what the other writer stored."""
    flow = update(lambda doc: doc.update(title=doc["title"] + "!"))
    started(flow)
    send(flow, document({"title": "a"}, '"e1"'))
    conflict = problem(
        409,
        "merge-conflict",
        conflicts=[{"pointer": "/title", "base": "a", "current": "b", "requested": "a!"}],
        current_etag='"e2"',
    )
    slept(send(flow, conflict))
    send(flow, None)
    write = send(flow, document({"title": "b"}, '"e2"'))
    assert (sent(write).header("if-match"), body(write)) == ('"e2"', {"title": "b!"})


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(problem(409, "idempotency-key-in-flight"), id="409-in-flight"),
        pytest.param(problem(429, "too-many-requests"), id="429"),
        pytest.param(problem(503, "unavailable"), id="503"),
        pytest.param(lost(), id="transport-error"),
    ],
)
def test_nothing_applied_resends_the_same_write(answer: Any) -> None:
    """429, 503, 409 in-flight and a lost answer: the very same PATCH again, no new read."""
    flow = update(increment)
    started(flow)
    first = sent(send(flow, document({"count": 1}, '"e1"')))
    slept(send(flow, answer))
    assert send(flow, None) == first
    assert stored(flow, document({"count": 2}, '"e2"')).attempts == 2


def test_a_read_that_fails_is_read_again() -> None:
    """503 and lost answers to the GET are retried; the change runs once, on what is read."""
    calls: list[int] = []

    def change(doc: dict[str, Any]) -> None:
        calls.append(doc["count"])
        doc["count"] += 1

    flow = update(change)
    read = started(flow)
    slept(send(flow, problem(503, "unavailable")))
    assert send(flow, None) == read
    slept(send(flow, lost()))
    assert send(flow, None) == read
    assert body(send(flow, document({"count": 7}))) == {"count": 8}
    assert calls == [7]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(Received(502, {}, b"<html>Bad Gateway</html>"), id="502-proxy"),
        pytest.param(Received(504, {}, b"<html>Gateway Time-out</html>"), id="504-proxy"),
        pytest.param(problem(500, "internal-error"), id="500"),
    ],
)
def test_a_read_answered_any_5xx_is_read_again(answer: Received) -> None:
    """A GET changes nothing: a proxy's 502 or 504 while the service restarts is waited out."""
    flow = update(increment)
    read = started(flow)
    slept(send(flow, answer))
    assert send(flow, None) == read
    assert body(send(flow, document({"count": 1}))) == {"count": 2}


def test_every_write_carries_a_fresh_key_and_its_resends_the_same() -> None:
    """Each new write has its own Idempotency-Key; a resend after a lost answer repeats it."""
    flow = update(increment)
    started(flow)
    first = sent(send(flow, document({"count": 1}, '"e1"')))
    assert first.header("idempotency-key") == '"key-1"'
    assert first.header("prefer") == "rebase"
    slept(send(flow, lost()))
    assert sent(send(flow, None)) == first  # the very same request, key and all
    slept(send(flow, problem(412, "precondition-failed", headers=REPLAYED)))
    send(flow, None)  # GET
    redo = sent(send(flow, document({"count": 5}, '"e3"')))
    assert (redo.header("idempotency-key"), body(redo)) == ('"key-2"', {"count": 6})


def test_a_lost_write_answered_from_its_key_is_not_made_twice() -> None:
    """Lost answer, then the resend replayed as 200: done, with the change made once."""
    calls: list[int] = []

    def change(doc: dict[str, Any]) -> None:
        calls.append(doc["count"])
        doc["count"] += 1

    flow = update(change)
    started(flow)
    send(flow, document({"count": 1, "title": "t"}, '"e1"'))
    slept(send(flow, lost()))
    send(flow, None)  # the same PATCH, same key
    replay = document({"count": 2, "title": "t"}, '"e2"', idempotent_replayed="true")
    result = stored(flow, replay)
    assert (result.document, result.etag, calls) == ({"count": 2, "title": "t"}, '"e2"', [1])


def test_a_lost_write_refused_on_its_replay_is_made_again() -> None:
    """Lost answer, then its 412 replayed from the key: it was not applied, so it is redone."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    slept(send(flow, lost()))
    send(flow, None)
    slept(send(flow, problem(412, "precondition-failed", headers=REPLAYED)))
    send(flow, None)
    assert body(send(flow, document({"count": 5}, '"e3"'))) == {"count": 6}


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param(problem(412, "precondition-failed"), id="412"),
        pytest.param(problem(409, "merge-conflict"), id="409-merge-conflict"),
        pytest.param(problem(404, "not-found"), id="404"),
    ],
)
def test_a_lost_write_refused_afresh_has_an_unknown_outcome(refusal: Received) -> None:
    """Lost answer, then a refusal NOT replayed from the key: it cannot say whether the lost
    try was applied (a server that ignores keys refuses a write it applied), so OUTCOME_UNKNOWN.

    The document cannot say either: the same change may be another client's.
    """
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    slept(send(flow, lost()))
    send(flow, None)
    outcome = gave_up(flow, refusal)
    assert (outcome.reason, outcome.attempts, outcome.received) == (
        GiveUpReason.OUTCOME_UNKNOWN,
        2,
        refusal,
    )
    assert "unknown" in outcome.describe()


def test_a_connection_never_made_is_no_doubt() -> None:
    """A try that never reached the server (nothing sent) leaves no doubt: a 412 then is rereads."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    unsent = TransportFailure(ConnectionRefusedError("refused"), sent=False)
    slept(send(flow, unsent))
    send(flow, None)
    slept(send(flow, problem(412, "precondition-failed")))
    assert sent(send(flow, None)).method == "GET"


def test_a_write_whose_resends_run_out_has_an_unknown_outcome() -> None:
    """Every resend of a write lost its answer: whether it was applied is unknown."""
    flow = update(increment, RetryPolicy(attempts=3, base=0.1))
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    slept(send(flow, lost()))
    send(flow, None)
    slept(send(flow, problem(500, "internal-error")))
    send(flow, None)
    outcome = gave_up(flow, lost())
    assert (outcome.reason, outcome.attempts) == (GiveUpReason.OUTCOME_UNKNOWN, 3)
    assert "attempts-exhausted" in outcome.detail


@pytest.mark.parametrize("status", [405, 415])
def test_a_server_without_merge_patch_gets_a_put(status: int) -> None:
    """405 or 415 to the PATCH: the whole document as PUT, same If-Match; rereads keep PUT."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    put = sent(send(flow, problem(status, "method-not-allowed")))
    assert (put.method, put.header("if-match"), body(put)) == ("PUT", '"e1"', {"count": 2})
    slept(send(flow, problem(412, "precondition-failed")))
    send(flow, None)
    again = sent(send(flow, document({"count": 3}, '"e2"')))
    assert (again.method, body(again)) == ("PUT", {"count": 4})


def test_a_rebased_write_reports_it() -> None:
    """200 with Rebased-From: the server merged the change; the result says from which version."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    merged = document({"count": 2, "title": "theirs"}, '"e3"', rebased_from='"e1"')
    result = stored(flow, merged)
    assert (result.document, result.rebased_from) == ({"count": 2, "title": "theirs"}, '"e1"')


def test_a_rebased_write_without_a_body_is_read_again() -> None:
    """A merged 2xx without the document: the document is read to return what is stored."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    assert sent(send(flow, Received(204, {"rebased-from": '"e1"'}))).method == "GET"
    result = stored(flow, document({"count": 2, "title": "theirs"}, '"e3"'))
    assert (result.document, result.etag, result.rebased_from) == (
        {"count": 2, "title": "theirs"},
        '"e3"',
        '"e1"',
    )


def test_a_rebased_write_whose_reading_fails_is_still_a_success() -> None:
    """The write was applied: a failed read after it gives the result without its document,
    never an error a caller would answer by making the change again."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    written = Received(204, {"rebased-from": '"e1"', "etag": '"e2"'})
    assert sent(send(flow, written)).method == "GET"
    result = stored(flow, problem(404, "not-found"))
    assert (result.document, result.etag, result.rebased_from) == (None, '"e2"', '"e1"')


@pytest.mark.parametrize(
    ("status", "slug"),
    [
        pytest.param(422, "invalid-document", id="422"),
        pytest.param(428, "precondition-required", id="428"),
        pytest.param(409, "patch-not-applicable", id="409-other"),
    ],
)
def test_other_errors_to_the_write_are_given_up_on(status: int, slug: str) -> None:
    """An answer retrying cannot change ends the flow at once, with that answer."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}))
    answer = problem(status, slug, detail="why")
    outcome = gave_up(flow, answer)
    assert (outcome.reason, outcome.attempts, outcome.received) == (
        GiveUpReason.REFUSED,
        1,
        answer,
    )
    assert outcome.problem is not None
    assert outcome.problem.type == f"https://httpconflict.dev/problems/{slug}"


def test_a_missing_document_is_given_up_on() -> None:
    """404 to the GET: refused, the change never runs."""
    flow = update(lambda doc: pytest.fail("the change must not run"))
    started(flow)
    outcome = gave_up(flow, problem(404, "not-found"))
    assert outcome.reason is GiveUpReason.REFUSED
    assert outcome.sent is not None
    assert outcome.sent.method == "GET"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(Received(200, {"content-type": "application/json"}, b"{}"), id="no-etag"),
        pytest.param(document({}, 'W/"e1"'), id="weak-etag"),
        pytest.param(Received(200, {"etag": '"e1"'}, b"[]"), id="not-an-object"),
    ],
)
def test_a_read_the_change_cannot_be_based_on_is_unusable(answer: Received) -> None:
    """No strong ETag (nothing to send in If-Match) or no JSON object: the flow stops."""
    flow = update(increment)
    started(flow)
    assert gave_up(flow, answer).reason is GiveUpReason.UNUSABLE_ANSWER


DATE, MODIFIED = "Sat, 05 Dec 2026 13:32:06 GMT", "Sat, 05 Dec 2026 13:32:05 GMT"


@pytest.mark.parametrize(
    ("modified", "date"),
    [
        pytest.param("Sat, 05 Dec 2026 13:31:06 GMT", "Sat, 05 Dec 2026 13:32:06 GMT", id="old"),
        pytest.param("Sat, 05 Dec 2026 13:32:09 GMT", "Sat, 05 Dec 2026 13:32:06 GMT", id="future"),
        pytest.param("yesterday", "Sat, 05 Dec 2026 13:32:06 GMT", id="unreadable"),
    ],
)
def test_a_weak_etag_of_a_document_not_just_modified_is_unusable(modified: str, date: str) -> None:
    flow = update(increment)
    started(flow)
    answer = document({"count": 1}, 'W/"e1"', last_modified=modified, date=date)
    assert gave_up(flow, answer).reason is GiveUpReason.UNUSABLE_ANSWER


def test_a_weak_etag_of_a_document_modified_within_the_second_is_read_again() -> None:
    """Apache httpd's W/ for a file modified within a second of Date: a second later, strong."""
    flow = update(increment)
    assert sent(started(flow)).header("accept-encoding") == "identity"
    just_written = document({"count": 1}, 'W/"9-661e"', date=DATE, last_modified=MODIFIED)
    assert slept(send(flow, just_written)) >= 1.0
    again = sent(send(flow, None))
    assert (again.method, again.header("accept-encoding")) == ("GET", "identity")
    write = sent(send(flow, document({"count": 1}, '"9-661e"')))
    assert (write.header("if-match"), body(write)) == ('"9-661e"', {"count": 2})


def test_a_change_must_return_a_dict_or_none() -> None:
    """A change returning something else is a programming error, raised at once."""
    flow = update(lambda doc: [doc])
    started(flow)
    with pytest.raises(TypeError, match="must return a dict or None"):
        send(flow, document({}))


def test_attempts_are_bounded() -> None:
    """With attempts=3, the third 412 ends the flow: ATTEMPTS_EXHAUSTED, with the last answer."""
    flow = update(increment, RetryPolicy(attempts=3))
    started(flow)
    for _ in range(2):
        send(flow, document({"count": 1}))
        slept(send(flow, problem(412, "precondition-failed")))
        send(flow, None)
    send(flow, document({"count": 1}))
    last = problem(412, "precondition-failed", current_etag='"e9"')
    outcome = gave_up(flow, last)
    assert (outcome.reason, outcome.attempts, outcome.received) == (
        GiveUpReason.ATTEMPTS_EXHAUSTED,
        3,
        last,
    )


def test_the_time_budget_is_bounded() -> None:
    """A wait that would end past the budget is not begun: TIME_BUDGET_SPENT."""
    flow = update(increment, RetryPolicy(budget=2.0, base=0.1))
    started(flow)
    # 1.5 s spent; the server asks for 1 s more: 2.5 > 2.
    busy = problem(503, "unavailable", at=1.5, headers={"retry-after": "1"})
    outcome = gave_up(flow, busy)
    assert (outcome.reason, outcome.attempts) == (GiveUpReason.TIME_BUDGET_SPENT, 1)
    assert "time budget of 2 s" in outcome.detail


@pytest.mark.parametrize(
    "failed",
    [
        pytest.param(problem(504, "outcome-unknown"), id="504-outcome-unknown"),
        pytest.param(problem(500, "internal-error"), id="500"),
        pytest.param(Received(503, {}, b"Service Unavailable"), id="503-not-a-problem"),
    ],
)
def test_a_write_answered_5xx_until_the_budget_is_spent_has_an_unknown_outcome(
    failed: Received,
) -> None:
    """A 5xx says nothing of whether the write was applied: when the time is up, unknown."""
    flow = update(increment, RetryPolicy(budget=2.0, base=0.1))
    started(flow)
    send(flow, document({"count": 1}))
    busy = Received(failed.status, {**failed.headers, "retry-after": "1"}, failed.body, at=1.5)
    outcome = gave_up(flow, busy)
    assert (outcome.reason, outcome.attempts) == (GiveUpReason.OUTCOME_UNKNOWN, 1)
    assert "time budget of 2 s" in outcome.detail


def test_a_write_refused_503_unavailable_was_not_applied() -> None:
    """503 `unavailable` says the request was not applied: a 412 after it is read again, and
    the budget spent on it is no unknown outcome.

    (Its resends through an idempotency-key store that restarted got 503s, then a 412 once
    another client wrote: the update ended OutcomeUnknown, though nothing had been applied.)
    """
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    slept(send(flow, problem(503, "unavailable", headers={"retry-after": "1"})))
    send(flow, None)
    slept(send(flow, problem(412, "precondition-failed")))  # a backoff, then a read
    assert sent(send(flow, None)).method == "GET"
    write = send(flow, document({"count": 5}, '"e5"'))
    assert body(write) == {"count": 6}
    assert stored(flow, document({"count": 6}, '"e6"')).document == {"count": 6}
    flow = update(increment, RetryPolicy(budget=2.0, base=0.1))
    started(flow)
    send(flow, document({"count": 1}))
    busy = problem(503, "unavailable", at=1.5, headers={"retry-after": "1"})
    assert gave_up(flow, busy).reason is GiveUpReason.TIME_BUDGET_SPENT


def test_retry_after_is_waited() -> None:
    """Retry-After is the least wait: a 2 s request beats a shorter backoff."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}))
    assert slept(send(flow, problem(503, "unavailable", headers={"retry-after": "2"}))) == 2.0


@pytest.mark.parametrize("status", [405, 415])
def test_a_lost_patch_whose_replay_says_no_patches_gets_a_put(status: int) -> None:
    """The PATCH's answer lost, its resend replayed as 405/415: nothing was applied, so a PUT.

    (The example apps take no merge patch, and record the 415 under the key:
    through a lossy proxy the update ended RequestRefused before.)
    """
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    slept(send(flow, lost()))
    assert sent(send(flow, None)).method == "PATCH"
    put = sent(send(flow, problem(status, "unsupported-media-type", headers=REPLAYED)))
    assert (put.method, put.header("if-match"), body(put)) == ("PUT", '"e1"', {"count": 2})
    assert put.header("idempotency-key") == '"key-2"'
    assert stored(flow, document({"count": 2}, '"e2"')).etag == '"e2"'


def test_a_lost_patch_refused_afresh_with_415_has_an_unknown_outcome() -> None:
    """A 415 that is not a replay says nothing of the lost try: OUTCOME_UNKNOWN, no PUT."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    slept(send(flow, lost()))
    send(flow, None)
    outcome = gave_up(flow, problem(415, "unsupported-media-type"))
    assert outcome.reason is GiveUpReason.OUTCOME_UNKNOWN


def test_a_5xx_replayed_from_the_key_ends_at_once_outcome_unknown() -> None:
    """A 504 replayed from the write's key (a write committed, then the request failed): unknown.

    Resending gets the same recorded answer: no more tries, and never a read
    and a second change.
    """
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    slept(send(flow, problem(504, "outcome-unknown", headers={"retry-after": "1"})))
    send(flow, None)
    replayed = problem(504, "outcome-unknown", headers={"idempotent-replayed": "true"})
    outcome = gave_up(flow, replayed)
    assert (outcome.reason, outcome.attempts) == (GiveUpReason.OUTCOME_UNKNOWN, 2)


def test_a_503_unavailable_replayed_from_the_key_is_no_proof_of_nothing_applied() -> None:
    """A 503 `unavailable` replayed from the key was recorded because something was applied."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    replayed = problem(503, "unavailable", headers={"idempotent-replayed": "true"})
    assert gave_up(flow, replayed).reason is GiveUpReason.OUTCOME_UNKNOWN


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param(problem(409, "merge-conflict"), id="409-merge-conflict"),
        pytest.param(problem(412, "precondition-failed"), id="412"),
    ],
)
def test_a_write_refused_503_contended_was_not_applied(refusal: Received) -> None:
    """503 `contended` (every pinned write lost its race) applied nothing: a refusal after it
    is read again and the change redone, not an unknown outcome.

    (On two PostgreSQL workers, six editors of one document's fields got 1-2 `contended`
    answers a run; a resend refused because an editor of the same field wrote meanwhile
    ended the update OutcomeUnknown, though nothing of it had been applied.)
    """
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    slept(send(flow, problem(503, "contended", headers={"retry-after": "1"})))
    send(flow, None)
    slept(send(flow, refusal))  # a backoff, then a read
    assert sent(send(flow, None)).method == "GET"
    write = send(flow, document({"count": 5}, '"e5"'))
    assert body(write) == {"count": 6}
    assert stored(flow, document({"count": 6}, '"e6"')).document == {"count": 6}


def test_a_503_contended_replayed_from_the_key_is_no_proof_of_nothing_applied() -> None:
    """A 503 `contended` replayed from the key was recorded because something was applied."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"e1"'))
    replayed = problem(503, "contended", headers={"idempotent-replayed": "true"})
    assert gave_up(flow, replayed).reason is GiveUpReason.OUTCOME_UNKNOWN


COUCH_409 = Received(
    409,
    {"content-type": "application/json"},
    b'{"error":"conflict","reason":"Document update conflict."}',
)


def test_another_servers_409_to_a_write_is_redone_on_the_moved_document() -> None:
    """CouchDB's 409 to a write from an old revision: read again; moved on, the change is redone."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"1-a"'))
    assert slept(send(flow, COUCH_409)) >= 0
    assert sent(send(flow, None)).method == "GET"
    write = sent(send(flow, document({"count": 5}, '"2-b"')))
    assert (write.header("if-match"), body(write)) == ('"2-b"', {"count": 6})
    assert stored(flow, Received(201, {"etag": '"3-c"'})).document == {"count": 6}


def test_another_servers_409_with_the_document_unmoved_is_the_answer() -> None:
    """Not moved: the 409 was not about versions; given up at once, saying so, with the 409."""
    flow = update(increment)
    started(flow)
    send(flow, document({"count": 1}, '"1-a"'))
    send(flow, COUCH_409)
    send(flow, None)
    outcome = gave_up(flow, document({"count": 1}, '"1-a"'))
    assert (outcome.reason, outcome.received, outcome.attempts) == (
        GiveUpReason.REFUSED,
        COUCH_409,
        2,
    )
    assert outcome.sent is not None
    assert outcome.sent.method == "PATCH"
    assert "not with a newer version" in outcome.describe()


def test_412s_to_the_etag_the_reads_keep_answering_end_saying_why() -> None:
    """A server whose If-Match never matches its own ETag: 3 refusals, then REFUSED, not 30 s."""
    flow = update(increment)
    started(flow)
    read = document({"count": 1}, '"e1-gzip"')
    send(flow, read)
    for _ in range(2):
        send(flow, Received(412))
        assert sent(send(flow, None)).method == "GET"
        assert sent(send(flow, read)).header("if-match") == '"e1-gzip"'
    send(flow, Received(412))
    send(flow, None)
    outcome = gave_up(flow, read)
    assert (outcome.reason, outcome.received, outcome.attempts) == (
        GiveUpReason.REFUSED,
        Received(412),
        4,
    )
    assert 'refused If-Match: "e1-gzip" 3 times' in outcome.describe()


def test_a_412_then_a_moved_document_starts_the_count_again() -> None:
    flow = update(increment)
    started(flow)
    for etag in ('"e1"', '"e1"', '"e2"', '"e2"', '"e3"'):
        assert sent(send(flow, document({"count": 1}, etag))).method == "PATCH"
        send(flow, Received(412))
        assert sent(send(flow, None)).method == "GET"
    assert sent(send(flow, document({"count": 1}, '"e4"'))).method == "PATCH"
