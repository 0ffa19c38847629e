"""The create flow, stepped by hand: one Idempotency-Key for every try of one create."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict._client_commands import Received, TransportFailure
from httpconflict._client_flow import create_flow, sf_string
from httpconflict._client_retry import GiveUpReason, RetryPolicy
from httpconflict._idempotency import parse_idempotency_key
from tests.client.replies import COLLECTION, Flow, gave_up, lost, problem, send, sent, slept, stored

KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"


def create(document: Any = None, policy: RetryPolicy | None = None) -> Flow:
    return create_flow(
        COLLECTION,
        {"item": "tea"} if document is None else document,
        key=KEY,
        policy=policy or RetryPolicy(base=0.1, cap=1.0),
        started=0.0,
        random=lambda: 0.5,
    )


def created(replayed: bool = False) -> Received:
    headers = {
        "content-type": "application/json",
        "etag": '"c1"',
        "location": "/v1/notes/n7",
    }
    if replayed:
        headers["idempotent-replayed"] = "true"
    return Received(201, headers, b'{"item":"tea"}')


def test_a_create_is_a_post_with_an_idempotency_key() -> None:
    """POST the JSON body with Idempotency-Key as an RFC 8941 sf-string (quoted)."""
    flow = create()
    post = sent(next(flow))
    assert (post.method, post.url, post.header("content-type")) == (
        "POST",
        COLLECTION,
        "application/json",
    )
    assert post.header("idempotency-key") == f'"{KEY}"'
    assert post.body is not None
    assert json.loads(post.body) == {"item": "tea"}
    result = stored(flow, created())
    assert (result.url, result.document, result.etag) == (
        "http://api.test/v1/notes/n7",
        {"item": "tea"},
        '"c1"',
    )
    assert (result.attempts, result.replayed) == (1, False)


def test_every_retry_sends_the_same_key_and_body() -> None:
    """Lost answers, 5xx, 429 and 409 in-flight: the identical request again, key unchanged."""
    flow = create()
    first = sent(next(flow))
    answers: list[Received | TransportFailure] = [
        lost(),
        problem(500, "internal-error"),
        problem(502, "bad-gateway"),
        problem(503, "unavailable"),
        problem(429, "too-many-requests"),
        problem(409, "idempotency-key-in-flight", headers={"retry-after": "1"}),
    ]
    for answer in answers:
        slept(send(flow, answer))
        assert send(flow, None) == first
    result = stored(flow, created(replayed=True))
    assert (result.attempts, result.replayed) == (7, True)


def test_in_flight_waits_as_long_as_asked() -> None:
    """409 idempotency-key-in-flight with Retry-After: 1 waits a second before asking again."""
    flow = create()
    next(flow)
    answer = problem(409, "idempotency-key-in-flight", headers={"retry-after": "1"})
    assert slept(send(flow, answer)) == 1.0


@pytest.mark.parametrize(
    ("status", "slug"),
    [
        pytest.param(422, "idempotency-key-reused", id="422-key-reused"),
        pytest.param(409, "unique-violation", id="409-unique"),
        pytest.param(400, "malformed-json", id="400"),
        pytest.param(415, "unsupported-media-type", id="415"),
    ],
)
def test_refusals_are_not_retried(status: int, slug: str) -> None:
    """A create the server refuses for what it is ends at once, with the problem."""
    flow = create()
    next(flow)
    outcome = gave_up(flow, problem(status, slug))
    assert (outcome.reason, outcome.attempts) == (GiveUpReason.REFUSED, 1)
    assert outcome.problem is not None
    assert outcome.problem.status == status


def test_lost_answers_until_the_attempts_run_out() -> None:
    """No answer ever: the create may have happened, so OUTCOME_UNKNOWN, with the transport
    error, no answer received, and why the retries stopped."""
    flow = create(policy=RetryPolicy(attempts=3))
    next(flow)
    for _ in range(2):
        slept(send(flow, lost()))
        send(flow, None)
    outcome = gave_up(flow, lost())
    assert (outcome.reason, outcome.attempts, outcome.received) == (
        GiveUpReason.OUTCOME_UNKNOWN,
        3,
        None,
    )
    assert "attempts-exhausted" in outcome.detail
    assert isinstance(outcome.error, ConnectionResetError)


def test_connections_never_made_until_the_attempts_run_out() -> None:
    """Nothing was ever sent: ATTEMPTS_EXHAUSTED, no doubt about a create that cannot have run."""
    flow = create(policy=RetryPolicy(attempts=2))
    next(flow)
    unsent = TransportFailure(ConnectionRefusedError("refused"), sent=False)
    slept(send(flow, unsent))
    send(flow, None)
    assert gave_up(flow, unsent).reason is GiveUpReason.ATTEMPTS_EXHAUSTED


def test_a_create_without_a_body_in_its_answer_keeps_what_was_sent() -> None:
    """A 201 with no body: the document is the one sent."""
    flow = create({"item": "milk"})
    next(flow)
    result = stored(flow, Received(201, {"location": "/v1/notes/n8"}))
    assert (result.url, result.document, result.etag) == (
        "http://api.test/v1/notes/n8",
        {"item": "milk"},
        None,
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'[{"id": 1, "item": "milk"}]', id="a-list-of-rows"),
        pytest.param(b"Created", id="a-word"),
        pytest.param(b'{"item": ', id="cut-off-json"),
    ],
)
def test_a_create_answered_2xx_with_no_json_object_was_made(body: bytes) -> None:
    """A 201 whose body shows no document still says it was made: never given up as not made.

    (Given up, the caller would take the documented "not made" at its word and
    create again: a second document.)
    """
    flow = create({"item": "milk"})
    next(flow)
    result = stored(flow, Received(201, {"location": "/v1/notes/n9"}, body))
    assert (result.url, result.document, result.attempts) == (
        "http://api.test/v1/notes/n9",
        {"item": "milk"},
        1,
    )


def test_a_create_whose_location_is_no_url_was_made() -> None:
    """A 201 with ``Location: http://[oops/c1`` (urljoin's ValueError escaped the flow, after
    the document was made): the result keeps the Location as it came."""
    flow = create()
    next(flow)
    result = stored(flow, Received(201, {"location": "http://[oops/c1"}, b'{"item":"tea"}'))
    assert (result.url, result.document) == ("http://[oops/c1", {"item": "tea"})


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1))
def test_sf_string_round_trips_through_the_servers_parser(key: str) -> None:
    """Any printable ASCII key, quoted and escaped, parses back to itself."""
    assert parse_idempotency_key([sf_string(key)]) == key


@pytest.mark.parametrize(
    ("key", "field"),
    [
        pytest.param("abc", '"abc"', id="plain"),
        pytest.param('a"b', '"a\\"b"', id="quote-escaped"),
        pytest.param("a\\b", '"a\\\\b"', id="backslash-escaped"),
    ],
)
def test_sf_string_escapes(key: str, field: str) -> None:
    """RFC 8941 §3.3.3: DQUOTE and backslash are escaped with a backslash."""
    assert sf_string(key) == field


@pytest.mark.parametrize("key", ["café", "tab\there", "new\nline"])
def test_sf_string_refuses_what_it_cannot_hold(key: str) -> None:
    """RFC 8941 §3.3.3: an sf-string holds printable ASCII only."""
    with pytest.raises(ValueError, match="printable ASCII"):
        sf_string(key)


def test_a_5xx_replayed_from_the_key_ends_the_create_outcome_unknown() -> None:
    """A create whose first try was recorded as a 5xx (it failed after a commit): unknown."""
    flow = create()
    next(flow)
    slept(send(flow, problem(503, "unavailable")))
    send(flow, None)
    replayed = problem(504, "outcome-unknown", headers={"idempotent-replayed": "true"})
    outcome = gave_up(flow, replayed)
    assert (outcome.reason, outcome.attempts) == (GiveUpReason.OUTCOME_UNKNOWN, 2)
