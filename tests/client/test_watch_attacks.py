"""`watch` attacked by hand-written feeds: endless comments, ids that go back, a 410 mid-run,
redirects, a 200 that is no event stream.

Each feed is a raw server on 127.0.0.1 (tests/hostile_http.py). Whatever it
does, a watch yields each change at most once, ends when its caller closes
its client, and when it gives up says why and what to do.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from httpconflict._problem import PROBLEM_TYPE_BASE as PROBLEMS
from httpconflict.httpx import (
    AsyncConflictClient,
    Change,
    ChangesExpired,
    ConflictClient,
    UnusableAnswer,
    VirtualClock,
)
from tests.client.watching import POLICY, WATCHES, change_event, heartbeat_event
from tests.hostile_http import Connection, HostileFeed

#: Longer than any wait a closed watch may still make: a bound that detects a hang only.
HANG = 10.0


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.01)


async def comments_forever(connection: Connection) -> None:
    """A stream of comments only, every 20 ms, until the client hangs up (or HOLD passed)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        await connection.send(b": keep-alive\n\n")
        await asyncio.sleep(0.02)


def watching_thread(
    http: httpx.Client, url: str
) -> tuple[threading.Thread, list[BaseException | list[Change]]]:
    """A thread started watching `url`; what ended the watch, once it has."""
    outcome: list[BaseException | list[Change]] = []

    def watch() -> None:
        try:
            outcome.append(list(ConflictClient(http, policy=POLICY).watch(url)))
        except BaseException as error:  # the test reports whatever ended the watch
            outcome.append(error)

    watcher = threading.Thread(target=watch)
    watcher.start()
    return watcher, outcome


def test_closing_the_client_ends_a_blocking_watch_of_comments(feed: HostileFeed) -> None:
    """A watcher thread on a stream of comments only: closing its httpx client from another
    thread ends the watch, quietly, without opening another stream (it waited, then raised
    httpx's RuntimeError "the client has been closed")."""
    feed.script = comments_forever
    feed.streams = 5
    http = httpx.Client(timeout=10)
    watcher, outcome = watching_thread(http, feed.url + "/v1/notes")
    until(lambda: feed.events_sent >= 5)
    http.close()
    watcher.join(HANG)
    assert not watcher.is_alive()
    assert outcome == [[]]
    assert feed.connections == 1


def test_closing_the_client_ends_an_async_watch_of_comments(feed: HostileFeed) -> None:
    """The same with the async client closed by another task; cancelling the watching task
    ends it too, and closes its stream."""
    feed.script = comments_forever
    feed.streams = 5

    async def main() -> list[Change]:
        http = httpx.AsyncClient(timeout=10)

        async def watch() -> list[Change]:
            client = AsyncConflictClient(http, policy=POLICY, clock=VirtualClock())
            return [change async for change in client.watch(feed.url + "/v1/notes")]

        task = asyncio.create_task(watch())
        await asyncio.to_thread(until, lambda: feed.events_sent >= 5)
        await http.aclose()
        seen = await asyncio.wait_for(task, HANG)
        # A watch of another stream of comments, cancelled: the stream is closed.
        async with httpx.AsyncClient(timeout=10) as other:
            client = AsyncConflictClient(other, policy=POLICY, clock=VirtualClock())

            async def first() -> Change:
                return await anext(aiter(client.watch(feed.url + "/v1/notes")))

            watching = asyncio.create_task(first())
            await asyncio.to_thread(until, lambda: feed.connections >= 2)
            watching.cancel()
            with pytest.raises(asyncio.CancelledError):
                await watching
        return seen

    assert asyncio.run(main()) == []
    assert feed.connections == 2


async def retry_twenty_seconds(connection: Connection) -> None:
    """The stream asks for 20 s before a reconnection, sends a heartbeat, and ends."""
    await connection.send(b"retry: 20000\n\n" + heartbeat_event(0))


def test_closing_the_client_ends_a_blocking_watch_waiting_to_reconnect(feed: HostileFeed) -> None:
    """Its stream ended with ``retry: 20000``: closing the client while the watch waits ends it
    within a second (it slept the 20 s through, then returned)."""
    feed.script = retry_twenty_seconds
    http = httpx.Client(timeout=10)
    watcher, outcome = watching_thread(http, feed.url + "/v1/notes")
    until(lambda: feed.connections == 1)
    time.sleep(0.5)  # the stream has ended: the watch waits to reconnect
    closed = time.monotonic()
    http.close()
    watcher.join(HANG)
    assert not watcher.is_alive()
    assert time.monotonic() - closed < 1.0
    assert outcome == [[]]
    assert feed.connections == 1


def test_closing_the_client_ends_an_async_watch_waiting_to_reconnect(feed: HostileFeed) -> None:
    feed.script = retry_twenty_seconds

    async def main() -> float:
        http = httpx.AsyncClient(timeout=10)

        async def watch() -> list[Change]:
            client = AsyncConflictClient(http, policy=POLICY)
            return [change async for change in client.watch(feed.url + "/v1/notes")]

        task = asyncio.create_task(watch())
        await asyncio.to_thread(until, lambda: feed.connections == 1)
        await asyncio.sleep(0.5)
        closed = time.monotonic()
        await http.aclose()
        assert await asyncio.wait_for(task, HANG) == []
        return time.monotonic() - closed

    assert asyncio.run(main()) < 1.0
    assert feed.connections == 1


@pytest.mark.parametrize("watch", WATCHES)
def test_a_410_mid_run_says_where_the_watch_was_and_what_to_do(
    feed: HostileFeed, watch: Callable[..., list[Change]]
) -> None:
    """Changes 1 and 2, the stream ends, and reopening from 2 is 410 with a bare problem:
    `ChangesExpired` after 2 attempts, naming the position and what to do (it said only
    "410 changes-expired"), with `oldest` from the problem."""

    async def script(connection: Connection) -> None:
        await connection.send(change_event(1) + change_event(2))

    feed.script = script
    feed.beyond = (410, {"type": f"{PROBLEMS}changes-expired", "status": 410, "oldest": 7})
    seen: list[int] = []
    with pytest.raises(ChangesExpired) as expired:
        watch(feed.url + "/v1/notes", 3, lambda change: seen.append(change.seq))
    assert seen == [1, 2]
    assert feed.last_event_ids == ["0", "2"]
    assert (expired.value.attempts, expired.value.oldest) == (2, 7)
    message = str(expired.value)
    assert "the changes after 2 are no longer all kept" in message
    assert 'read the collection again, then watch from since="now"' in message


@pytest.mark.parametrize("watch", WATCHES)
def test_ids_that_repeat_or_go_back_deliver_no_change_twice(
    feed: HostileFeed, watch: Callable[..., list[Change]]
) -> None:
    """Stream 1: changes 1, 2, 3, 3 again, then 2; it ends. Stream 2 (asked from 3): 1, 2, 3
    again, then 4: each change is yielded once, and the position never goes back."""

    async def script(connection: Connection) -> None:
        if connection.index == 0:
            await connection.send(b"".join(change_event(seq) for seq in (1, 2, 3, 3, 2)))
            return
        await connection.send(b"".join(change_event(seq) for seq in (1, 2, 3, 4)))
        await connection.hold()

    feed.script = script
    feed.streams = 2
    assert [c.seq for c in watch(feed.url + "/v1/notes", 4, lambda c: None)] == [1, 2, 3, 4]
    assert feed.last_event_ids == ["0", "3"]


@pytest.mark.parametrize("watch", WATCHES)
def test_a_200_that_is_no_event_stream_ends_the_watch_at_once(
    feed: HostileFeed, watch: Callable[..., list[Change]]
) -> None:
    """200 application/json whose body never ends: `UnusableAnswer` naming the type, after one
    attempt, without reading the body."""
    feed.content_type = "application/json"
    feed.script = comments_forever
    with pytest.raises(UnusableAnswer, match="the feed answered application/json") as unusable:
        watch(feed.url + "/v1/notes", 1, lambda c: None)
    assert unusable.value.attempts == 1


def test_a_followed_redirect_keeps_the_position(feed: HostileFeed) -> None:
    """The feed moved (307 to another path), the client follows redirects: each reopening is
    redirected with its Last-Event-ID, and no change comes twice (the Location's since=0
    is stale; the header wins, and a feed that took the query would resend what is skipped)."""

    async def script(connection: Connection) -> None:
        first = int(connection.last_event_id or 0) + 1
        await connection.send(b"".join(change_event(seq) for seq in range(1, first + 2)))
        if connection.index == 1:
            await connection.hold()

    feed.script = script
    feed.streams = 2
    feed.redirect = ("/old/", "/v1/notes/_changes?since=0")
    seen: list[int] = []
    with httpx.Client(timeout=10, follow_redirects=True) as http:
        client = ConflictClient(http, policy=POLICY, clock=VirtualClock())
        for change in client.watch(feed.url + "/old/notes", since=0):
            seen.append(change.seq)
            if len(seen) == 3:
                break
    assert seen == [1, 2, 3]
    assert feed.last_event_ids == ["0", "2"]
    assert [target.partition("?")[0] for target in feed.targets] == [
        "/old/notes/_changes",
        "/v1/notes/_changes",
    ] * 2
