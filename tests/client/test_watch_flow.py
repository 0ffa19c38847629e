"""The watch flow, stepped by hand: what it opens, what it delivers, where it resumes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from httpconflict._client_commands import GaveUp, Received, Send, Sleep
from httpconflict._client_retry import GiveUpReason, RetryPolicy
from httpconflict._client_watch import (
    MAX_RECONNECTION_TIME,
    QUICK_END,
    Change,
    Deliver,
    Event,
    NextEvent,
    Open,
    ReconnectionTime,
    StreamEnded,
    WatchCommand,
    WatchFlow,
    WatchReply,
    watch_flow,
)
from tests.client.replies import lost, problem

FEED = "http://api.test/v1/notes/_changes"
POLICY = RetryPolicy(attempts=50, budget=30.0, base=0.1, cap=1.0)
MODIFIED = "2026-12-02T16:00:00.123456Z"
STREAM = Received(200, {"content-type": "text/event-stream; charset=utf-8"})


def flow(**kwargs: Any) -> WatchFlow:
    return watch_flow(FEED, policy=kwargs.pop("policy", POLICY), random=lambda: 0.5, **kwargs)


def change(seq: int, doc: str = "n1", version: int = 1) -> Event:
    data = {"seq": seq, "id": doc, "version": version, "etag": f'"e{seq}"', "deleted": False}
    return Event("change", json.dumps({**data, "modified": MODIFIED}), str(seq))


def heartbeat(seq: int) -> Event:
    return Event("heartbeat", json.dumps({"seq": seq}), str(seq))


def opened(command: WatchCommand) -> Send:
    assert isinstance(command, Open), command
    assert command.send.header("accept") == "text/event-stream"
    return command.send


def step(watch: WatchFlow, reply: WatchReply) -> WatchCommand:
    return watch.send(reply)


def delivered(watch: WatchFlow, events: list[Event | ReconnectionTime]) -> list[int]:
    """Feed `events` to a flow waiting for an event; the seqs it delivered."""
    seqs = []
    for event in events:
        command = step(watch, event)
        if isinstance(command, Deliver):
            seqs.append(command.change.seq)
            command = step(watch, None)
        assert isinstance(command, NextEvent), command
    return seqs


def stream(watch: WatchFlow, at: float = 0.0) -> None:
    """Answer the pending Open with a stream."""
    assert isinstance(step(watch, Received(200, STREAM.headers, at=at)), NextEvent)


def ended(watch: WatchFlow, reply: WatchReply) -> GaveUp:
    with pytest.raises(StopIteration) as stop:
        watch.send(reply)
    outcome = stop.value.value
    assert isinstance(outcome, GaveUp)
    return outcome


def test_the_first_open_asks_for_an_event_stream_from_now() -> None:
    """No since: the feed's default (now), no Last-Event-ID, no compression."""
    request = opened(next(flow()))
    assert (request.method, request.url) == ("GET", FEED)
    assert request.header("last-event-id") is None
    assert request.header("accept-encoding") == "identity"


def test_since_and_id_and_heartbeat_are_query_parameters() -> None:
    """since=7 goes as ?since and Last-Event-ID alike; id and heartbeat as parameters."""
    request = opened(next(flow(since=7, id="doc 1", heartbeat=2)))
    assert request.url == FEED + "?since=7&id=doc+1&heartbeat=2"
    assert request.header("last-event-id") == "7"
    assert opened(next(flow(since="now"))).url == FEED + "?since=now"


@pytest.mark.parametrize("since", [-1, "later", True, 1.5, "3"])
def test_a_since_the_feed_would_refuse_is_refused_at_once(since: Any) -> None:
    """A bad since is a ValueError before any request is made."""
    with pytest.raises(ValueError, match="since"):
        next(flow(since=since))


@pytest.mark.parametrize("heartbeat", [0, 61, True, 2.5])
def test_a_heartbeat_out_of_range_is_refused(heartbeat: Any) -> None:
    """heartbeat is whole seconds, 1 to 60, as the feed takes it."""
    with pytest.raises(ValueError, match="heartbeat"):
        next(flow(heartbeat=heartbeat))


def test_changes_are_delivered_in_order_and_heartbeats_are_not() -> None:
    """Each change event becomes one Change; heartbeats only move the position."""
    watch = flow()
    next(watch)
    stream(watch)
    command = step(watch, heartbeat(3))
    assert isinstance(command, NextEvent)
    command = step(watch, change(4, "a", 2))
    assert isinstance(command, Deliver)
    assert command.change == Change(
        4, "a", 2, '"e4"', False, datetime(2026, 12, 2, 16, 0, 0, 123456, UTC)
    )
    assert isinstance(step(watch, None), NextEvent)
    assert delivered(watch, [heartbeat(9), change(12), change(15)]) == [12, 15]


def test_a_dropped_stream_resumes_from_the_last_id_seen_a_heartbeat_included() -> None:
    """After changes up to 5 and a heartbeat at 8, the reopened stream asks from 8."""
    watch = flow()
    next(watch)
    stream(watch)
    assert delivered(watch, [heartbeat(2), change(5), heartbeat(8)]) == [5]
    assert isinstance(step(watch, lost(at=10.0)), Sleep)
    request = opened(step(watch, None))
    assert request.header("last-event-id") == "8"
    assert request.url == FEED + "?since=8"


def test_a_change_sent_again_is_not_delivered_again() -> None:
    """A resumed stream that repeats seq 5 (or anything at or below the position) skips it."""
    watch = flow()
    next(watch)
    stream(watch)
    assert delivered(watch, [heartbeat(1), change(4), change(5)]) == [4, 5]
    assert isinstance(step(watch, StreamEnded(at=10.0)), Sleep)
    opened(step(watch, None))
    stream(watch, at=10.1)
    assert delivered(watch, [heartbeat(5), change(5), change(3), change(6)]) == [6]


def test_the_position_never_goes_back() -> None:
    """A heartbeat below the position (a lagging instance) does not lower the resume point."""
    watch = flow(since=10)
    next(watch)
    stream(watch)
    assert delivered(watch, [heartbeat(7), change(11)]) == [11]
    step(watch, lost(at=1.0))
    assert opened(step(watch, None)).header("last-event-id") == "11"


def test_a_503_is_retried_after_its_retry_after() -> None:
    """503 + Retry-After: 3: the flow waits at least 3 s, then opens again from where it was."""
    watch = flow(since=4)
    next(watch)
    wait = step(watch, problem(503, "unavailable", headers={"retry-after": "3"}))
    assert isinstance(wait, Sleep)
    assert wait.seconds >= 3
    assert opened(step(watch, None)).header("last-event-id") == "4"


@pytest.mark.parametrize(
    ("status", "slug", "reason"),
    [
        pytest.param(410, "changes-expired", GiveUpReason.CHANGES_EXPIRED, id="410-expired"),
        pytest.param(400, "invalid-parameter", GiveUpReason.REFUSED, id="400"),
        pytest.param(401, "unauthorized", GiveUpReason.REFUSED, id="401"),
        pytest.param(403, "forbidden", GiveUpReason.REFUSED, id="403"),
        pytest.param(404, "not-found", GiveUpReason.REFUSED, id="404"),
    ],
)
def test_a_refusal_ends_the_watch(status: int, slug: str, reason: GiveUpReason) -> None:
    """A 4xx is not retried: the watch ends with the answer (410: CHANGES_EXPIRED)."""
    watch = flow(since=1)
    next(watch)
    outcome = ended(watch, problem(status, slug, oldest=40))
    assert outcome.reason is reason
    assert outcome.received is not None
    assert outcome.received.status == status
    assert outcome.operation == "watch"


def test_a_200_that_is_not_an_event_stream_is_unusable() -> None:
    """A server without the feed that answers JSON: UNUSABLE_ANSWER, not an endless retry."""
    watch = flow()
    next(watch)
    outcome = ended(watch, Received(200, {"content-type": "application/json"}, b"{}"))
    assert outcome.reason is GiveUpReason.UNUSABLE_ANSWER


@pytest.mark.parametrize(
    "event",
    [
        Event("change", "{not json", "3"),
        Event("change", json.dumps({"seq": 3, "id": "a"}), "3"),
        Event("heartbeat", "{}", "three"),
        Event(
            "change",
            json.dumps(
                {
                    "seq": 3,
                    "id": "a",
                    "version": 2,
                    "etag": None,
                    "deleted": True,
                    "modified": "2026-12-02T16:00:00.000000Z",
                    "purged": "yes",
                }
            ),
            "3",
        ),
    ],
    ids=["not-json", "fields-missing", "id-not-a-seq", "purged-not-a-boolean"],
)
def test_an_unreadable_event_ends_the_watch(event: Event) -> None:
    """Skipping what cannot be read could skip a change: the watch says so instead."""
    watch = flow()
    next(watch)
    stream(watch)
    outcome = ended(watch, event)
    assert outcome.reason is GiveUpReason.UNUSABLE_ANSWER
    assert "unreadable" in outcome.detail


def test_failing_opens_spend_the_time_budget() -> None:
    """No server at all: backoff up to the cap, then TIME_BUDGET_SPENT within the 30 s budget."""
    policy = RetryPolicy(attempts=50, budget=30.0, base=0.1, cap=2.0)
    watch = flow(policy=policy)
    command = next(watch)
    now, waits = 0.0, []
    while True:
        assert isinstance(command, Open)
        try:
            command = watch.send(lost(at=now))
        except StopIteration as stop:
            outcome = stop.value
            break
        assert isinstance(command, Sleep)
        waits.append(command.seconds)
        now += command.seconds
        command = step(watch, None)
    assert outcome.reason is GiveUpReason.TIME_BUDGET_SPENT
    assert waits[:3] == [0.05, 0.1, 0.2]  # base 0.1 * 2**n, half of it (random is 0.5)
    assert max(waits) == policy.cap / 2
    assert 29 < now <= 30


def test_a_stream_that_works_starts_a_fresh_budget() -> None:
    """Failures 20 s apart, each after a working stream, never exhaust the 30 s budget."""
    watch = flow()
    next(watch)
    now = 0.0
    for _ in range(5):
        stream(watch, at=now)
        assert delivered(watch, [heartbeat(1), heartbeat(1)]) == []
        now += 20
        assert isinstance(step(watch, lost(at=now)), Sleep)
        assert isinstance(step(watch, None), Open)


@pytest.mark.parametrize(
    "events",
    [
        pytest.param([heartbeat(5)], id="first-heartbeat"),
        # Two events used to count as a stream that works: each wait was the first backoff.
        pytest.param(
            [ReconnectionTime(0), heartbeat(5), heartbeat(5), change(5)],
            id="retry-0-and-nothing-new",
        ),
    ],
)
def test_a_stream_dropped_at_once_is_backed_off_from(
    events: list[Event | ReconnectionTime],
) -> None:
    """A server that accepts and drops every stream after its first heartbeat (or after
    ``retry: 0`` and events that bring nothing new): the waits grow, each at least
    `QUICK_END` (a stream that ended at once with no change)."""
    watch = flow(since=5)
    next(watch)
    now, waits = 0.0, []
    for _ in range(4):
        stream(watch, at=now)
        assert delivered(watch, events) == []
        wait = step(watch, StreamEnded(at=now))
        assert isinstance(wait, Sleep)
        waits.append(wait.seconds)
        now += wait.seconds
        assert isinstance(step(watch, None), Open)
    assert waits == pytest.approx([QUICK_END + b for b in (0.05, 0.1, 0.2, 0.4)])


def test_streams_that_only_move_the_watermark_and_end_at_once_are_no_hot_loop() -> None:
    """Each stream: two heartbeats whose ids move on, then the end, at once. The moved position
    makes each one a stream that works (the budget starts afresh), but none brought a change:
    each reopening waits `QUICK_END` at least (it reconnected 36 times a second, for ever)."""
    watch = flow(since=5)
    next(watch)
    now, waits = 0.0, []
    for n in range(4):
        stream(watch, at=now)
        assert delivered(watch, [heartbeat(6 + 2 * n), heartbeat(7 + 2 * n)]) == []
        wait = step(watch, StreamEnded(at=now + 0.01))
        assert isinstance(wait, Sleep)
        waits.append(wait.seconds)
        now += 0.01 + wait.seconds
        assert isinstance(step(watch, None), Open)
    assert all(wait >= QUICK_END for wait in waits), waits


def test_a_stream_that_lasted_is_reopened_at_once() -> None:
    """A stream that worked for a while (no change in it) and dropped: no `QUICK_END` wait."""
    watch = flow(since=5)
    next(watch)
    stream(watch, at=0.0)
    assert delivered(watch, [heartbeat(5), heartbeat(6)]) == []
    wait = step(watch, StreamEnded(at=QUICK_END + 5))
    assert isinstance(wait, Sleep)
    assert wait.seconds < QUICK_END


def test_a_stream_s_reconnection_time_is_waited_before_the_backoff() -> None:
    """WHATWG HTML §9.2.3: ``retry: 1500`` then an end: 1.5 s, plus the backoff (0.05)."""
    watch = flow()
    next(watch)
    stream(watch)
    assert isinstance(step(watch, ReconnectionTime(1500)), NextEvent)
    assert delivered(watch, [heartbeat(1), change(2)]) == [2]
    wait = step(watch, StreamEnded(at=1.0))
    assert isinstance(wait, Sleep)
    assert wait.seconds == pytest.approx(1.5 + 0.05)


def test_the_reconnection_time_outlives_its_stream_and_grows_with_failures() -> None:
    """Set by the first stream, it is waited before each reopening after, connect failures
    too, and the backoff added to it grows while they fail."""
    watch = flow()
    next(watch)
    stream(watch)
    step(watch, ReconnectionTime(2000))
    waits = []
    command = step(watch, lost(at=0.0))
    for now in (2.0, 4.1, 6.3):
        assert isinstance(command, Sleep)
        waits.append(command.seconds)
        assert isinstance(step(watch, None), Open)
        command = step(watch, lost(at=now))
    assert waits == pytest.approx([2.05, 2.1, 2.2])


def test_a_huge_reconnection_time_is_capped() -> None:
    """``retry: 999999999999`` (31 years): a minute, plus the backoff."""
    watch = flow(policy=RetryPolicy(budget=1000.0, base=0.1, cap=1.0))
    next(watch)
    stream(watch)
    step(watch, ReconnectionTime(999_999_999_999))
    wait = step(watch, StreamEnded(at=0.0))
    assert isinstance(wait, Sleep)
    assert wait.seconds == pytest.approx(MAX_RECONNECTION_TIME + 0.05)


def test_a_reconnection_time_past_the_budget_is_cut_to_it() -> None:
    """A 50 s reconnection time with 30 s of budget left: the reopening is made as it ends."""
    watch = flow()
    next(watch)
    stream(watch)
    step(watch, ReconnectionTime(50_000))
    wait = step(watch, StreamEnded(at=0.0))
    assert isinstance(wait, Sleep)
    assert wait.seconds == POLICY.budget


def test_retry_after_wins_over_the_reconnection_time() -> None:
    """A 503 with Retry-After: 1 after ``retry: 10000``: 1 s, the answer's own word."""
    watch = flow()
    next(watch)
    stream(watch)
    step(watch, ReconnectionTime(10_000))
    assert isinstance(step(watch, lost(at=0.0)), Sleep)
    assert isinstance(step(watch, None), Open)
    wait = step(watch, problem(503, "unavailable", headers={"retry-after": "1"}))
    assert isinstance(wait, Sleep)
    assert wait.seconds == 1.0
