"""What the client's errors say: about the answer, in the client's words, never empty.

Each of these once said something wrong or useless: an empty GET body was
"the request body is empty; send a JSON text" (the core's words to a
server reading a request); a 5xx replayed from the key said "no resend
was answered from its key" when one was; a 1,000,000-digit event id
carried CPython's advice to call sys.set_int_max_str_digits(); the async
watch's read timeout read "ReadTimeout: " (its message is empty). And the
watch sent Accept-Encoding twice ("identity" and "gzip, deflate") though
it means identity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from httpconflict._client_commands import Received
from httpconflict._client_retry import GiveUpReason
from httpconflict.httpx import (
    AsyncConflictClient,
    Change,
    RetriesExhausted,
    RetryPolicy,
    UnusableAnswer,
)
from tests.client.replies import gave_up, problem, send, slept
from tests.client.test_create_flow import create
from tests.client.test_update_flow import increment, started, update
from tests.client.watching import WATCHES, change_event
from tests.hostile_http import Connection, HostileFeed


def test_an_empty_document_is_said_to_be_the_answers() -> None:
    """A GET answered 200 with no body: "the answer's body is empty", not advice for a
    request."""
    flow = update(increment)
    started(flow)
    empty = Received(200, {"content-type": "application/json", "etag": '"e1"'}, b"")
    outcome = gave_up(flow, empty)
    assert outcome.reason is GiveUpReason.UNUSABLE_ANSWER
    assert "the document read is not a JSON object (the answer's body is empty)" in (
        outcome.describe()
    )
    assert "request" not in outcome.describe()


def test_a_replayed_5xx_says_a_resend_was_answered_from_the_key() -> None:
    """A 503 then the key's replayed 504: the outcome is unknown because a resend *was*
    answered from the key, with a failure recorded after applying."""
    flow = create()
    next(flow)
    slept(send(flow, problem(503, "unavailable")))
    send(flow, None)
    outcome = gave_up(
        flow, problem(504, "outcome-unknown", headers={"idempotent-replayed": "true"})
    )
    said = outcome.describe()
    assert outcome.reason is GiveUpReason.OUTCOME_UNKNOWN
    assert "a resend was answered from its key with the 504" in said
    assert "no resend was answered" not in said


@pytest.mark.parametrize("watch", WATCHES)
def test_an_endless_event_id_is_unusable_without_cpython_advice(
    feed: HostileFeed, watch: Callable[..., list[Change]]
) -> None:
    """A heartbeat whose id has 1,000,000 digits: `UnusableAnswer` counting them."""

    async def script(connection: Connection) -> None:
        await connection.send(b"id: " + b"7" * 1_000_000 + b"\nevent: heartbeat\ndata: x\n\n")
        await connection.hold()

    feed.script = script
    with pytest.raises(UnusableAnswer) as unusable:
        watch(feed.url + "/v1/notes", 1, lambda c: None)
    assert "its id is not a seq: 1,000,000 digits (a seq has 100 at most)" in str(unusable.value)
    assert "set_int_max_str_digits" not in str(unusable.value)


def test_the_async_watch_timeout_is_not_an_empty_message(feed: HostileFeed) -> None:
    """A feed silent for three heartbeats, async: "GET got no answer (ReadTimeout)" (it read
    "ReadTimeout: ", with the empty message of httpx's error)."""

    async def main() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            client = AsyncConflictClient(http, policy=RetryPolicy(attempts=1))
            async for _ in client.watch(feed.url + "/v1/notes", heartbeat=1):
                pass

    with pytest.raises(RetriesExhausted) as exhausted:
        asyncio.run(main())
    assert "GET got no answer (ReadTimeout" in str(exhausted.value)
    assert "ReadTimeout: )" not in str(exhausted.value)


@pytest.mark.parametrize("watch", WATCHES)
def test_the_watch_asks_for_identity_once(
    feed: HostileFeed, watch: Callable[..., list[Change]]
) -> None:
    """The stream is asked for uncompressed: one Accept-Encoding, identity."""

    async def script(connection: Connection) -> None:
        await connection.send(change_event(1))
        await connection.hold()

    feed.script = script
    assert [c.seq for c in watch(feed.url + "/v1/notes", 1, lambda c: None)] == [1]
    assert feed.accept_encodings == ["identity"]
