"""The Idempotency-Key core: grammar, fingerprint, lifecycle table, and the flow stepped by hand."""

from __future__ import annotations

import json

import pytest

from httpconflict import MalformedHeader, Unavailable
from httpconflict._fingerprint import fingerprint
from httpconflict._idempotency import (
    ANSWERS,
    ON_UNAVAILABLE,
    TRANSITIONS,
    Action,
    Answer,
    Check,
    Claim,
    Complete,
    Defer,
    Event,
    Execute,
    IdempotencyFlow,
    Recall,
    Record,
    Recovery,
    Release,
    Remember,
    Sleep,
    State,
    StoredResponse,
    Taken,
    Wrote,
    decide,
    failed_after_writing,
    idempotency_flow,
    may_be_applied,
    parse_idempotency_key,
    renewal_period,
    transition,
)
from httpconflict._outage import RESEND_TO_LEARN
from httpconflict._problem import OUTCOME_UNKNOWN

VALID_KEYS = [
    pytest.param(
        ['"8e03978e-40d5-43e8-bc93-6894a57f9324"'],
        "8e03978e-40d5-43e8-bc93-6894a57f9324",
        id="draft-2.1-sf-string",
    ),
    pytest.param(['  "abc"  '], "abc", id="rfc8941-ows-trimmed"),
    pytest.param([r'"a\"b\\c"'], 'a"b\\c', id="rfc8941-3.3.3-escapes"),
    pytest.param(['"with space"'], "with space", id="rfc8941-3.3.3-space-allowed-in-string"),
    pytest.param(['"k";a=1;b'], "k", id="rfc8941-3.1.2-parameters-ignored"),
    pytest.param(["8e03978e-40d5-43e8"], "8e03978e-40d5-43e8", id="lenient-bare-token"),
    pytest.param(["key_123.ABC~:/+="], "key_123.ABC~:/+=", id="lenient-bare-token-punctuation"),
    pytest.param(['"' + "k" * 255 + '"'], "k" * 255, id="255-characters"),
]


@pytest.mark.parametrize(("lines", "key"), VALID_KEYS)
def test_valid_keys(lines: list[str], key: str) -> None:
    """Quoted structured-field strings, and bare tokens leniently, give the key."""
    assert parse_idempotency_key(lines) == key


def test_no_header_is_no_key() -> None:
    """Without the field there is no key (whether one is required is policy)."""
    assert parse_idempotency_key([]) is None


INVALID_KEYS = [
    pytest.param(['""'], id="empty-string"),
    pytest.param([""], id="empty-field"),
    pytest.param(['"' + "k" * 256 + '"'], id="over-255"),
    pytest.param(["k" * 256], id="bare-over-255"),
    pytest.param(['"a"', '"b"'], id="two-fields"),
    pytest.param(['"clé"'], id="non-ascii"),
    pytest.param(["clé"], id="non-ascii-bare"),
    pytest.param(['"unterminated'], id="unterminated-string"),
    pytest.param(['"a" "b"'], id="text-after-string"),
    pytest.param(["a, b"], id="a-list"),
    pytest.param(["a b"], id="space-in-token"),
    pytest.param(['"tab\there"'], id="control-character"),
]


@pytest.mark.parametrize("lines", INVALID_KEYS)
def test_invalid_keys(lines: list[str]) -> None:
    """Anything else is a 400 problem naming the header."""
    with pytest.raises(MalformedHeader) as info:
        parse_idempotency_key(lines)
    assert info.value.problem.status == 400
    assert info.value.problem.extensions["header"] == "Idempotency-Key"


def test_fingerprint_covers_method_target_principal_and_body() -> None:
    """Changing any part changes the fingerprint; nothing else does."""
    base = fingerprint("POST", "/v1/orders", "alice", b'{"a": 1}')
    assert base == fingerprint("post", "/v1/orders", "alice", b'{"a": 1}')
    others = [
        fingerprint("PUT", "/v1/orders", "alice", b'{"a": 1}'),
        fingerprint("POST", "/v1/orders?x=1", "alice", b'{"a": 1}'),
        fingerprint("POST", "/v1/orders", "bob", b'{"a": 1}'),
        fingerprint("POST", "/v1/orders", "alice", b'{"a": 2}'),
        fingerprint("POST", "/v1/order", "salice", b'{"a": 1}'),
    ]
    assert base not in others
    assert len(set(others)) == len(others)


def test_lifecycle_table() -> None:
    """Exactly the transitions the lifecycle allows; every other pair is refused."""
    allowed = {
        (State.ABSENT, Event.CLAIM): State.IN_FLIGHT,
        (State.IN_FLIGHT, Event.COMPLETE): State.COMPLETED,
        (State.IN_FLIGHT, Event.RENEW): State.IN_FLIGHT,
        (State.IN_FLIGHT, Event.RELEASE): State.ABSENT,
        (State.IN_FLIGHT, Event.LEASE_EXPIRED): State.ABSENT,
        (State.COMPLETED, Event.RETENTION_EXPIRED): State.ABSENT,
    }
    assert allowed == TRANSITIONS
    for state in State:
        for event in Event:
            if (state, event) in allowed:
                assert transition(state, event) is allowed[state, event]
            else:
                with pytest.raises(ValueError, match="not allowed"):
                    transition(state, event)


def test_answers_table() -> None:
    """A duplicate is replayed, waited for, or refused, by state and sameness."""
    assert ANSWERS == {
        (State.IN_FLIGHT, True): Action.WAIT,
        (State.IN_FLIGHT, False): Action.REJECT,
        (State.COMPLETED, True): Action.REPLAY,
        (State.COMPLETED, False): Action.REJECT,
    }


CREATED = StoredResponse(201, (("location", "/v1/orders/1"),), b'{"id": 1}')
FP = "f" * 64


def end(flow: IdempotencyFlow, reply: object) -> object:
    with pytest.raises(StopIteration) as stop:
        flow.send(reply)  # type: ignore[arg-type]
    return stop.value.value


def test_first_request_claims_executes_completes() -> None:
    """The first request claims, runs, records its answer, then answers."""
    flow = idempotency_flow("k", FP)
    assert isinstance(next(flow), Claim)
    assert isinstance(flow.send(None), Execute)
    assert flow.send(CREATED) == Complete(CREATED)
    answer = end(flow, True)
    assert answer.response == CREATED  # type: ignore[attr-defined]
    assert not answer.replayed  # type: ignore[attr-defined]


def test_retry_of_completed_request_is_replayed() -> None:
    """A completed key with the same fingerprint: the stored answer, marked replayed."""
    flow = idempotency_flow("k", FP)
    next(flow)
    answer = end(flow, Record(FP, State.COMPLETED, CREATED))
    assert answer.response == CREATED  # type: ignore[attr-defined]
    assert answer.replayed  # type: ignore[attr-defined]


@pytest.mark.parametrize("state", [State.COMPLETED, State.IN_FLIGHT])
def test_other_request_under_same_key_is_422(state: State) -> None:
    """draft-2.6: a key reused with another payload is 422, in flight or done."""
    flow = idempotency_flow("k", FP)
    next(flow)
    answer = end(flow, Record("0" * 64, state, CREATED if state is State.COMPLETED else None))
    assert answer.problem.status == 422  # type: ignore[attr-defined]


def test_duplicate_in_flight_is_409_with_retry_after() -> None:
    """draft-2.6: a retry while the first is processed gets 409, and when to retry."""
    flow = idempotency_flow("k", FP)
    next(flow)
    answer = end(flow, Record(FP, State.IN_FLIGHT))
    assert answer.problem.status == 409  # type: ignore[attr-defined]
    assert answer.retry_after == 1  # type: ignore[attr-defined]


def test_duplicate_waits_then_replays() -> None:
    """With wait, a duplicate polls (bounded) and gets the first request's answer."""
    flow = idempotency_flow("k", FP, wait=0.1)
    next(flow)
    assert flow.send(Record(FP, State.IN_FLIGHT)) == Sleep(0.05)
    assert isinstance(flow.send(None), Claim)
    assert flow.send(Record(FP, State.IN_FLIGHT)) == Sleep(0.05)
    assert isinstance(flow.send(None), Claim)
    answer = end(flow, Record(FP, State.COMPLETED, CREATED))
    assert answer.replayed  # type: ignore[attr-defined]


def test_waiting_is_bounded() -> None:
    """After its polls run out a waiting duplicate gets the 409."""
    flow = idempotency_flow("k", FP, wait=0.1)
    next(flow)
    for _ in range(2):
        assert isinstance(flow.send(Record(FP, State.IN_FLIGHT)), Sleep)
        assert isinstance(flow.send(None), Claim)
    assert end(flow, Record(FP, State.IN_FLIGHT)).problem.status == 409  # type: ignore[attr-defined]


def test_waiting_duplicate_runs_if_the_first_released() -> None:
    """If the first request failed and released the key, the waiting one runs."""
    flow = idempotency_flow("k", FP, wait=1)
    next(flow)
    flow.send(Record(FP, State.IN_FLIGHT))
    flow.send(None)
    assert isinstance(flow.send(None), Execute)


def test_failure_releases_the_key() -> None:
    """When the app raises, the claim is released and the error handed back."""
    flow = idempotency_flow("k", FP)
    next(flow)
    flow.send(None)
    error = RuntimeError("boom")
    assert isinstance(flow.send(error), Release)
    assert end(flow, None).error is error  # type: ignore[attr-defined]


def test_server_errors_are_released_by_default() -> None:
    """A 5xx is not recorded (a retry runs again) unless store_server_errors."""
    broken = StoredResponse(503, (), b"")
    flow = idempotency_flow("k", FP)
    next(flow)
    flow.send(None)
    assert isinstance(flow.send(broken), Release)
    assert end(flow, None).response == broken  # type: ignore[attr-defined]
    stored = idempotency_flow("k", FP, store_server_errors=True)
    next(stored)
    stored.send(None)
    assert stored.send(broken) == Complete(broken)


#: The 504 an outage answers when a write may have been applied.
UNKNOWN = StoredResponse(
    504,
    (("Content-Type", "application/problem+json"),),
    b'{"type":"https://httpconflict.dev/problems/outcome-unknown","status":504}',
)


@pytest.mark.parametrize(
    ("response", "applied"),
    [
        pytest.param(UNKNOWN, True, id="504-outcome-unknown"),
        pytest.param(StoredResponse(504, (), b""), False, id="504-of-a-gateway"),
        pytest.param(StoredResponse(503, UNKNOWN.headers, UNKNOWN.body), False, id="not-504"),
        pytest.param(StoredResponse(504, UNKNOWN.headers, b"{"), False, id="unreadable"),
    ],
)
def test_may_be_applied(response: StoredResponse, applied: bool) -> None:
    """Only a 504 outcome-unknown problem says its request may have been applied."""
    assert may_be_applied(response) is applied


def test_a_5xx_after_a_commit_is_recorded_not_released() -> None:
    """A 503 answered after the app committed a write is recorded: a retry must not run it again."""
    flow = idempotency_flow("k", FP)
    next(flow)
    flow.send(None)
    failed = StoredResponse(503, (), b"")
    assert flow.send(Wrote(failed)) == Complete(failed)
    assert end(flow, True).response == failed  # type: ignore[attr-defined]


def test_an_outcome_unknown_is_recorded_not_released() -> None:
    """A 504 outcome-unknown is recorded (its write may be in): the retry is replayed it.

    Recorded, it no longer tells the client to resend to learn which, nor when
    (Retry-After): every resend gets it again (two real apps' clients resent
    about 190 times each, every one answered the same).
    """
    said = (
        "the database connection was lost during the request: it may have been applied; "
        f"{RESEND_TO_LEARN}"
    )
    body = json.dumps({"type": OUTCOME_UNKNOWN.uri, "status": 504, "detail": said,
                       "incident": "0123456789ab"}).encode()  # fmt: skip
    headers = (
        ("Content-Type", "application/problem+json"),
        ("Content-Length", str(len(body))),
        ("Retry-After", "1"),
    )
    flow = idempotency_flow("k", FP)
    next(flow)
    flow.send(None)
    recorded = flow.send(StoredResponse(504, headers, body))
    assert isinstance(recorded, Complete)
    kept = recorded.response
    problem = json.loads(kept.body)
    assert problem["detail"] == (
        "the database connection was lost during the request: it may have been applied; its "
        "Idempotency-Key records this answer, which a resend gets again: read the resource to "
        "learn whether it was applied"
    )
    assert problem["incident"] == "0123456789ab"
    assert may_be_applied(kept)
    assert dict(kept.headers) == {
        "Content-Type": "application/problem+json",
        "Content-Length": str(len(kept.body)),
    }
    assert end(flow, True).response == kept  # type: ignore[attr-defined]  # the client's too


def test_an_error_after_a_commit_records_a_500() -> None:
    """The app raised after committing a write: a 500 problem is recorded, and answered.

    The client gets what every retry is replayed (naming the incident its
    error is logged under), not the framework's 500.
    """
    flow = idempotency_flow("k", FP)
    next(flow)
    flow.send(None)
    error = RuntimeError("boom")
    recorded = flow.send(Wrote(error, incident="0123456789ab"))
    assert recorded == Complete(failed_after_writing("0123456789ab"))
    assert recorded.response.status == 500
    assert json.loads(recorded.response.body)["incident"] == "0123456789ab"
    assert flow.send(DOWN) == Defer(recorded)
    answer = end(flow, None)
    assert answer == Answer(response=recorded.response, error=error, incident="0123456789ab")


def test_an_error_before_any_commit_releases_and_raises() -> None:
    """The app raised and committed nothing: the key is released, the error goes on alone."""
    flow = idempotency_flow("k", FP)
    next(flow)
    flow.send(None)
    error = RuntimeError("boom")
    assert flow.send(error) == Release()
    assert end(flow, None) == Answer(error=error)


def test_transactional_an_error_after_an_unrecorded_commit_is_answered_as_recorded() -> None:
    """Transactional: a commit no record covers, then a raise: the 500 recorded is the answer."""
    flow = idempotency_flow("k", FP, transactional=True)
    next(flow)
    error = RuntimeError("boom")
    recorded = flow.send(Wrote(error, incident="ba9876543210"))
    assert recorded == Complete(failed_after_writing("ba9876543210"))
    assert end(flow, True) == Answer(
        response=recorded.response, error=error, incident="ba9876543210"
    )


def test_transactional_a_raise_after_a_commit_whose_look_up_fails_is_no_503() -> None:
    """A record was there, and looking it up failed (the store down): the answer is the
    request's own failure, not the look-up's 503, which says nothing was applied."""
    flow = idempotency_flow("k", FP, transactional=True)
    next(flow)
    error = RuntimeError("boom")
    recorded = flow.send(Wrote(error, incident="0a1b2c3d4e5f"))
    assert isinstance(recorded, Complete)
    assert isinstance(flow.send(False), Check)  # a record was there: look it up
    answer = end(flow, Unavailable("the key store does not answer", retry_after=1))
    assert answer == Answer(response=recorded.response, error=error, incident="0a1b2c3d4e5f")


def test_transactional_a_raise_after_its_own_record_answers_the_record() -> None:
    """The app recorded its answer with its write, then raised: the record is the answer."""
    flow = idempotency_flow("k", FP, transactional=True)
    next(flow)
    error = RuntimeError("boom")
    assert isinstance(flow.send(Wrote(error, incident="5f4e3d2c1b0a")), Complete)
    assert isinstance(flow.send(False), Check)
    mine = StoredResponse(201, (("content-type", "application/json"),), b'{"id": 7}')
    live = Record(FP, State.COMPLETED, mine)
    answer = end(flow, live)
    assert answer.response == mine  # type: ignore[attr-defined]
    assert answer.error is error  # type: ignore[attr-defined]


def test_transactional_a_5xx_after_an_unrecorded_commit_is_recorded() -> None:
    """Transactional: a commit the app's record does not cover, then a 5xx: the 5xx is recorded.

    Once the store is back (Defer): a retry, which looks nothing up first,
    then has its own attempt undone and is replayed the 5xx.
    """
    flow = idempotency_flow("k", FP, transactional=True)
    next(flow)
    assert flow.send(Wrote(UNKNOWN)) == Complete(UNKNOWN)
    assert flow.send(DOWN) == Defer(Complete(UNKNOWN))
    assert end(flow, None).response == UNKNOWN  # type: ignore[attr-defined]


def test_transactional_an_outcome_unknown_whose_record_committed_replays_it() -> None:
    """Transactional: the 5xx finds the app's record (its COMMIT went through): that answer."""
    flow = idempotency_flow("k", FP, transactional=True)
    next(flow)
    assert flow.send(Wrote(UNKNOWN)) == Complete(UNKNOWN)
    assert isinstance(flow.send(False), Check)
    answer = end(flow, Record(FP, State.COMPLETED, CREATED))
    assert answer.replayed  # type: ignore[attr-defined]
    assert answer.response == CREATED  # type: ignore[attr-defined]


UNRECORDED = "https://httpconflict.dev/problems/idempotency-key-unrecorded"


def test_transactional_a_success_after_a_commit_never_recorded_is_a_500_recorded() -> None:
    """Transactional: the app committed, recorded nothing and answered 201: refused, recorded."""
    flow = idempotency_flow("k", FP, transactional=True)
    next(flow)
    complete = flow.send(Wrote(CREATED, unrecorded=True))
    assert isinstance(complete, Complete)
    assert complete.response.status == 500
    assert UNRECORDED.encode() in complete.response.body
    problem = end(flow, True).problem  # type: ignore[attr-defined]
    assert (problem.status, problem.type) == (500, UNRECORDED)
    assert "record_answer" in problem.detail
    assert complete.response.body == problem.to_json()  # replays answer as it was sent


def test_transactional_a_duplicate_never_recorded_replays_the_refusal_recorded_first() -> None:
    """Two at once, neither recording: the one that records second is replayed the first's 500."""
    flow = idempotency_flow("k", FP, transactional=True)
    next(flow)
    refusal = flow.send(Wrote(CREATED, unrecorded=True))
    assert isinstance(refusal, Complete)
    assert isinstance(flow.send(False), Check)
    answer = end(flow, Record(FP, State.COMPLETED, refusal.response))
    assert answer.replayed  # type: ignore[attr-defined]
    assert answer.response == refusal.response  # type: ignore[attr-defined]


def test_transactional_a_failure_never_recorded_keeps_its_own_answer() -> None:
    """The app's own 5xx already says something failed: it is recorded as it is."""
    flow = idempotency_flow("k", FP, transactional=True)
    next(flow)
    assert flow.send(Wrote(UNKNOWN, unrecorded=True)) == Complete(UNKNOWN)
    assert end(flow, True).response == UNKNOWN  # type: ignore[attr-defined]


def test_client_errors_are_recorded() -> None:
    """A 4xx is the request's deterministic answer: recorded like a 2xx."""
    refused = StoredResponse(422, (), b"{}")
    flow = idempotency_flow("k", FP)
    next(flow)
    flow.send(None)
    assert flow.send(refused) == Complete(refused)


def test_no_key() -> None:
    """Without a key: executed as is, or refused with 400 if a key is required."""
    flow = idempotency_flow(None, FP)
    assert isinstance(next(flow), Execute)
    assert end(flow, CREATED).response == CREATED  # type: ignore[attr-defined]
    required = idempotency_flow(None, FP, required=True)
    with pytest.raises(StopIteration) as stop:
        next(required)
    assert stop.value.value.problem.status == 400
    assert stop.value.value.problem.type.endswith("/idempotency-key-missing")


def test_transactional_first_request_executes_then_completes() -> None:
    """Transactional: no claim, no look-up first; execute, then complete (the app may have)."""
    flow = idempotency_flow("k", FP, transactional=True)
    assert isinstance(next(flow), Execute)
    assert flow.send(CREATED) == Complete(CREATED)
    answer = end(flow, True)
    assert answer.response == CREATED  # type: ignore[attr-defined]


def test_transactional_refusal_recorded_after_a_duplicates_write_replays_that() -> None:
    """Transactional: a refusal (412) whose key another request recorded meanwhile replays that.

    A duplicate that ran at the same time wrote, and that is why this one
    was refused; the client must hear of the write, not of the refusal.
    """
    refused = StoredResponse(412, (), b"{}")
    flow = idempotency_flow("k", FP, transactional=True)
    next(flow)
    assert flow.send(refused) == Complete(refused)
    assert isinstance(flow.send(False), Check)
    answer = end(flow, Record(FP, State.COMPLETED, CREATED))
    assert answer.replayed  # type: ignore[attr-defined]
    assert answer.response == CREATED  # type: ignore[attr-defined]


def test_transactional_server_errors_are_not_recorded() -> None:
    """Transactional: a 5xx ends the flow with no record, so a retry runs again."""
    flow = idempotency_flow("k", FP, transactional=True)
    next(flow)
    failed = StoredResponse(503, (), b"")
    assert end(flow, failed).response == failed  # type: ignore[attr-defined]


def test_transactional_retry_is_undone_and_replays_the_record() -> None:
    """Transactional: a retry (or a duplicate that lost the race) finds the key taken when it
    records: its attempt was rolled back, and the record is looked up and replayed."""
    flow = idempotency_flow("k", FP, transactional=True)
    next(flow)
    assert isinstance(flow.send(Taken()), Check)
    answer = end(flow, Record(FP, State.COMPLETED, CREATED))
    assert answer.replayed  # type: ignore[attr-defined]


def test_transactional_key_reused_for_another_request_is_422() -> None:
    """Transactional: the key recorded another request's answer: 422, this attempt undone."""
    flow = idempotency_flow("k", FP, transactional=True)
    next(flow)
    flow.send(Taken())
    answer = end(flow, Record("another", State.COMPLETED, CREATED))
    assert answer.problem.status == 422  # type: ignore[attr-defined]


def test_transactional_races_are_bounded() -> None:
    """Transactional: losing every race (the record gone each time it is looked up) ends in a
    409, not a loop."""
    flow = idempotency_flow("k", FP, transactional=True)
    assert isinstance(next(flow), Execute)
    for _ in range(2):
        assert isinstance(flow.send(Taken()), Check)
        assert isinstance(flow.send(None), Execute)
    assert isinstance(flow.send(Taken()), Check)
    assert end(flow, None).problem.status == 409  # type: ignore[attr-defined]


# -- the store fails ---------------------------------------------------------------------------

DOWN = Unavailable("Redis is unreachable", retry_after=3)


def test_on_unavailable_table() -> None:
    """Before the request ran, a failed store refuses it; after, the store call is deferred;
    a failed replay cache is one that had nothing."""
    assert {
        Claim: Recovery.REFUSE,
        Check: Recovery.REFUSE,
        Complete: Recovery.DEFER,
        Release: Recovery.DEFER,
        Recall: Recovery.IGNORE,
        Remember: Recovery.IGNORE,
    } == ON_UNAVAILABLE


def test_a_claim_is_renewed_three_times_a_lease() -> None:
    """Two renewals in a row may fail before the claim of a running request lapses."""
    assert renewal_period(30.0) == 10.0
    assert 2 * renewal_period(1.0) < 1.0


# -- a replay cache in front of a transactional store -----------------------------------------


def test_cached_answer_is_replayed_without_running() -> None:
    """A completed answer in the replay cache is replayed; nothing runs, the store is not asked."""
    flow = idempotency_flow("k", FP, transactional=True, cached=True)
    assert isinstance(next(flow), Recall)
    answer = end(flow, Record(FP, State.COMPLETED, CREATED))
    assert answer.replayed  # type: ignore[attr-defined]
    assert answer.response == CREATED  # type: ignore[attr-defined]


def test_cached_answer_of_another_request_is_422() -> None:
    """The cache holds another request's answer under the key: 422, nothing runs."""
    flow = idempotency_flow("k", FP, transactional=True, cached=True)
    next(flow)
    assert end(flow, Record("0" * 64, State.COMPLETED, CREATED)).problem.status == 422  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "cached",
    [None, DOWN, Record(FP, State.IN_FLIGHT)],
    ids=["absent", "cache-down", "not-an-answer"],
)
def test_what_the_cache_lacks_the_store_decides(cached: object) -> None:
    """Absent, down, or no recorded answer there: the request runs, the store's record decides,
    and the answer recorded is copied to the cache."""
    flow = idempotency_flow("k", FP, transactional=True, cached=True)
    next(flow)
    assert isinstance(flow.send(cached), Execute)  # type: ignore[arg-type]
    assert flow.send(CREATED) == Complete(CREATED)
    assert flow.send(True) == Remember(CREATED)
    answer = end(flow, DOWN)  # the copy failed: the answer is the same
    assert answer.response == CREATED  # type: ignore[attr-defined]
    assert not answer.replayed  # type: ignore[attr-defined]


def test_a_record_found_in_the_store_is_copied_to_the_cache_and_replayed() -> None:
    """Missing from the cache (flushed), refused by the store's record: replayed, and copied."""
    flow = idempotency_flow("k", FP, transactional=True, cached=True)
    next(flow)
    flow.send(None)
    assert isinstance(flow.send(Taken()), Check)
    found = Record(FP, State.COMPLETED, CREATED, expires_at=1e9)
    assert flow.send(found) == Remember(CREATED, found)
    answer = end(flow, True)
    assert answer.replayed  # type: ignore[attr-defined]
    assert answer.response == CREATED  # type: ignore[attr-defined]


def test_a_record_without_its_end_is_not_copied() -> None:
    """A record whose expiry the store did not say is replayed but not copied (it could outlive)."""
    flow = idempotency_flow("k", FP, transactional=True, cached=True)
    next(flow)
    flow.send(None)
    flow.send(Taken())
    answer = end(flow, Record(FP, State.COMPLETED, CREATED))
    assert answer.replayed  # type: ignore[attr-defined]


def test_an_answer_not_recorded_is_not_copied() -> None:
    """A refusal the store did not record (it was down): answered, not copied to the cache."""
    refused = StoredResponse(412, (), b"{}")
    flow = idempotency_flow("k", FP, transactional=True, cached=True)
    next(flow)
    flow.send(None)
    assert flow.send(refused) == Complete(refused)
    assert end(flow, DOWN).response == refused  # type: ignore[attr-defined]


@pytest.mark.parametrize("transactional", [False, True], ids=["claim", "check"])
def test_store_down_before_running_is_503(transactional: bool) -> None:
    """A claim (or a look-up after an attempt undone) the store could not make: 503 with its
    Retry-After; nothing ran, or what ran was rolled back."""
    flow = idempotency_flow("k", FP, transactional=transactional)
    if transactional:
        assert isinstance(next(flow), Execute)
        assert isinstance(flow.send(Taken()), Check)
    else:
        assert isinstance(next(flow), Claim)
    answer = end(flow, DOWN)
    assert answer.problem is DOWN.problem  # type: ignore[attr-defined]
    assert answer.problem.status == 503  # type: ignore[attr-defined]
    assert answer.retry_after == 3  # type: ignore[attr-defined]


def test_store_down_while_waiting_is_503() -> None:
    """A duplicate polling a key in flight gets the 503 if the store fails meanwhile."""
    flow = idempotency_flow("k", FP, wait=1)
    next(flow)
    flow.send(Record(FP, State.IN_FLIGHT))
    assert isinstance(flow.send(None), Claim)
    assert end(flow, DOWN).problem.status == 503  # type: ignore[attr-defined]


def test_store_down_after_running_sends_the_answer_and_defers_completing() -> None:
    """The request ran: its own answer goes out, never a 503 (a retry would run it again)."""
    flow = idempotency_flow("k", FP)
    next(flow)
    flow.send(None)
    assert flow.send(CREATED) == Complete(CREATED)
    assert flow.send(DOWN) == Defer(Complete(CREATED))
    answer = end(flow, None)
    assert answer.response == CREATED  # type: ignore[attr-defined]
    assert answer.problem is None  # type: ignore[attr-defined]


def test_store_down_after_a_failure_defers_the_release() -> None:
    """The app raised and the store is down: the release is deferred, the error handed back."""
    flow = idempotency_flow("k", FP)
    next(flow)
    flow.send(None)
    error = RuntimeError("boom")
    assert isinstance(flow.send(error), Release)
    assert flow.send(DOWN) == Defer(Release())
    assert end(flow, None).error is error  # type: ignore[attr-defined]


def test_store_down_after_a_5xx_defers_the_release() -> None:
    """A 5xx not stored, the store down: the 5xx goes out, its release is deferred."""
    broken = StoredResponse(502, (), b"")
    flow = idempotency_flow("k", FP)
    next(flow)
    flow.send(None)
    assert isinstance(flow.send(broken), Release)
    assert flow.send(DOWN) == Defer(Release())
    assert end(flow, None).response == broken  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("key", "live", "required", "action", "status"),
    [
        pytest.param(None, None, False, Action.EXECUTE, None, id="no-key-optional-executes"),
        pytest.param(None, None, True, Action.REJECT, 400, id="draft-2.7-no-key-required-400"),
        pytest.param("k", None, False, Action.EXECUTE, None, id="first-request-executes"),
        pytest.param(
            "k",
            Record(FP, State.COMPLETED, CREATED),
            False,
            Action.REPLAY,
            None,
            id="completed-same-replays",
        ),
        pytest.param(
            "k",
            Record("0" * 64, State.COMPLETED, CREATED),
            False,
            Action.REJECT,
            422,
            id="draft-2.6-completed-other-422",
        ),
        pytest.param(
            "k",
            Record(FP, State.IN_FLIGHT),
            False,
            Action.WAIT,
            409,
            id="draft-2.6-in-flight-same-409",
        ),
        pytest.param(
            "k",
            Record("0" * 64, State.IN_FLIGHT),
            False,
            Action.REJECT,
            422,
            id="in-flight-other-422",
        ),
    ],
)
def test_decide_table(
    key: str | None, live: Record | None, required: bool, action: Action, status: int | None
) -> None:
    """decide() returns execute, replay, wait (then 409) or reject (400, 422)."""
    verdict = decide(key, FP, live, required=required)
    assert verdict.action is action
    assert (verdict.problem.status if verdict.problem else None) == status
    if action is Action.REPLAY:
        assert verdict.response == CREATED
