"""When `watch` reconnects: the stream's ``retry:`` waited, capped, and never a hot loop.

Each feed is a hand-written server on 127.0.0.1 (tests/hostile_http.py)
that sends ``retry:`` and closes the stream; the waits are read from when
its requests came (real clock), or from what a `VirtualClock` was asked to
wait. Bounds are generous: they tell a wait from none, and a capped wait
from one of years, never a fast machine from a slow one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from httpconflict._client_watch import MAX_RECONNECTION_TIME
from httpconflict.httpx import Change, RequestRefused, RetryPolicy, SystemClock, VirtualClock
from tests.client.watching import WATCHES, change_event, heartbeat_event
from tests.hostile_http import Connection, HostileFeed

Watch = Callable[..., list[Change]]


@pytest.mark.parametrize("watch", WATCHES)
def test_the_stream_s_retry_is_waited_before_each_reconnect(
    feed: HostileFeed, watch: Watch
) -> None:
    """``retry: 700``, one change, then the stream ends, twice: each reopening comes at least
    0.7 s after the last (they came within 0.05 s), and the changes are 1, 2, 3 once each."""

    async def script(connection: Connection) -> None:
        if connection.index == 0:
            await connection.send(b"retry: 700\n\n")
        await connection.send(change_event(connection.index + 1))
        if connection.index == 2:
            await connection.hold()

    feed.script = script
    feed.streams = 3
    changes = watch(feed.url + "/v1/notes", 3, lambda c: None, clock=SystemClock())
    assert [c.seq for c in changes] == [1, 2, 3]
    assert feed.last_event_ids == ["0", "1", "2"]
    waits = [later - earlier for earlier, later in itertools.pairwise(feed.opened)]
    assert len(waits) == 2
    assert all(0.7 <= wait < 10 for wait in waits), waits


@pytest.mark.parametrize("watch", WATCHES)
def test_a_reconnection_time_of_years_is_capped(feed: HostileFeed, watch: Watch) -> None:
    """``retry: 999999999999`` (31 years), then the end: the watch waits a minute (plus its
    backoff) and reopens."""

    async def script(connection: Connection) -> None:
        if connection.index == 0:
            await connection.send(b"retry: 999999999999\n\n" + change_event(1))
            return
        await connection.send(change_event(2))
        await connection.hold()

    feed.script = script
    feed.streams = 2
    clock = VirtualClock()
    policy = RetryPolicy(budget=3600.0)
    changes = watch(feed.url + "/v1/notes", 2, lambda c: None, clock=clock, policy=policy)
    assert [c.seq for c in changes] == [1, 2]
    assert len(clock.slept) == 1
    assert MAX_RECONNECTION_TIME <= clock.slept[0] < MAX_RECONNECTION_TIME + policy.base


@pytest.mark.parametrize("watch", WATCHES)
def test_retry_zero_and_a_stream_closed_at_once_is_no_hot_loop(
    feed: HostileFeed, watch: Watch
) -> None:
    """``retry: 0``, the same heartbeat twice, and the end, on each of 20 streams: the waits
    grow past the first backoff (two events made each stream one that works, so each wait was
    under 0.05 s: a reconnect loop as fast as the server could close)."""

    async def script(connection: Connection) -> None:
        await connection.send(b"retry: 0\n\n" + heartbeat_event(0) + heartbeat_event(0))

    feed.script = script
    feed.streams = 20
    clock = VirtualClock()
    policy = RetryPolicy(attempts=50, budget=3600.0)
    with pytest.raises(RequestRefused):  # the 21st request: the feed refuses it
        watch(feed.url + "/v1/notes", 1, lambda c: None, clock=clock, policy=policy)
    assert feed.connections == 21
    assert len(clock.slept) == 20
    assert max(clock.slept) > policy.base, clock.slept
