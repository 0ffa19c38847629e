"""`watch` against change feeds written by hand: line ends, byte order marks, cuts, refusals.

Each feed is a raw asyncio server on 127.0.0.1 that writes the bytes a test
gives it (tests/hostile_http.py), the way a server other than the reference
one may: lines ended by a lone CR, a byte order mark, a charset that is not
UTF-8, blocks without data, a stream cut in the middle of an event. Every
watch must deliver each change once, in order, as soon as its event is
whole; and a feed that refuses must say why, at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from httpconflict.httpx import (
    AsyncConflictClient,
    Change,
    ChangesExpired,
    ConflictClient,
    ConflictError,
    RetryPolicy,
    UnusableAnswer,
)
from tests.client.watching import WATCHES, change_data, change_event
from tests.hostile_http import Connection, HostileFeed


@pytest.mark.parametrize("watch", WATCHES)
@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_each_change_comes_before_the_next_event_is_sent(
    feed: HostileFeed, watch: Callable[..., list[Change]], end: str
) -> None:
    """Lines ended by LF, CRLF or a lone CR: each change is yielded while it is the last event
    sent (the feed sends the next only once the watcher has it, or after 10 s)."""

    async def script(connection: Connection) -> None:
        for seq in (1, 2, 3):
            await connection.send(change_event(seq, end))
            await connection.wait_for_ack(seq)
        await connection.hold()

    feed.script = script
    sent_when_seen: list[tuple[int, int]] = []

    def seen(change: Change) -> None:
        sent_when_seen.append((change.seq, feed.events_sent))
        feed.ack(change.seq)

    changes = watch(feed.url + "/v1/notes", 3, seen)
    assert [c.seq for c in changes] == [1, 2, 3]
    assert sent_when_seen == [(1, 1), (2, 2), (3, 3)]


@pytest.mark.parametrize("watch", WATCHES)
def test_a_byte_order_mark_hides_no_change(
    feed: HostileFeed, watch: Callable[..., list[Change]]
) -> None:
    """A stream that begins with U+FEFF, then ``event: change``: its first change is yielded."""

    async def script(connection: Connection) -> None:
        await connection.send(b"\xef\xbb\xbf" + change_event(1) + change_event(2))
        await connection.hold()

    feed.script = script
    assert [c.seq for c in watch(feed.url + "/v1/notes", 2, lambda c: None)] == [1, 2]


@pytest.mark.parametrize("watch", WATCHES)
def test_the_stream_is_utf8_whatever_its_charset_says(
    feed: HostileFeed, watch: Callable[..., list[Change]]
) -> None:
    """``charset=iso-8859-1`` on a UTF-8 stream: the document id "é" is read as "é"."""
    feed.content_type = "text/event-stream; charset=iso-8859-1"

    async def script(connection: Connection) -> None:
        await connection.send(change_event(1, doc="é"))
        await connection.hold()

    feed.script = script
    assert [c.id for c in watch(feed.url + "/v1/notes", 1, lambda c: None)] == ["é"]


@pytest.mark.parametrize("watch", WATCHES)
def test_blocks_without_data_comments_retry_and_nul_ids_are_no_changes(
    feed: HostileFeed, watch: Callable[..., list[Change]]
) -> None:
    """A ``change`` block without data, comments, ``retry``, an id holding NUL and a change
    whose JSON spans three data lines: only the real changes, and the stream goes on."""
    multi_line = change_data(3).replace(", ", ",\ndata: ").encode()

    async def script(connection: Connection) -> None:
        await connection.send(
            b": hello\nretry: 5000\n\n"
            b"event: change\nid: 1\n\n"
            + change_event(2)
            + b"id: 9\x00\nevent: change\ndata: "
            + multi_line
            + b"\n\n"
        )
        await connection.hold()

    feed.script = script
    changes = watch(feed.url + "/v1/notes", 2, lambda c: None)
    assert [c.seq for c in changes] == [2, 3]
    assert feed.connections == 1


@pytest.mark.parametrize("watch", WATCHES)
def test_a_retry_of_thousands_of_digits_ends_no_watch(
    feed: HostileFeed, watch: Callable[..., list[Change]]
) -> None:
    """``retry:`` with 5000 digits, then a change: the change is yielded (a ValueError from
    int() ended the watch)."""

    async def script(connection: Connection) -> None:
        await connection.send(b"retry: " + b"9" * 5000 + b"\n\n" + change_event(1))
        await connection.hold()

    feed.script = script
    assert [c.seq for c in watch(feed.url + "/v1/notes", 1, lambda c: None)] == [1]


@pytest.mark.parametrize("watch", WATCHES)
def test_a_stream_cut_mid_event_resumes_from_the_last_whole_one(
    feed: HostileFeed, watch: Callable[..., list[Change]]
) -> None:
    """The first stream ends in the middle of change 2: the second opens with Last-Event-ID 1,
    and 1, 2, 3 are yielded once each, in order."""

    async def script(connection: Connection) -> None:
        if connection.index == 0:
            await connection.send(change_event(1) + change_event(2)[:30])
            return  # the connection closes, half an event sent
        first = int(connection.last_event_id or 0) + 1
        for seq in range(first, 4):
            await connection.send(change_event(seq))
        await connection.hold()

    feed.script = script
    feed.streams = 2
    assert [c.seq for c in watch(feed.url + "/v1/notes", 3, lambda c: None)] == [1, 2, 3]
    assert feed.last_event_ids == ["0", "1"]


@pytest.mark.parametrize("watch", WATCHES)
def test_a_gone_position_raises_changes_expired_at_once(
    feed: HostileFeed, watch: Callable[..., list[Change]]
) -> None:
    """410 with a problem naming `oldest`: `ChangesExpired` after one attempt, saying so."""
    feed.refusal = (
        410,
        {
            "type": "https://httpconflict.dev/problems/changes-expired",
            "title": "The changes after that position are gone",
            "status": 410,
            "oldest": 40,
        },
    )
    with pytest.raises(ChangesExpired) as expired:
        watch(feed.url + "/v1/notes", 1, lambda c: None)
    assert (expired.value.attempts, expired.value.oldest) == (1, 40)
    assert "changes-expired" in str(expired.value)
    assert feed.connections == 1


@pytest.mark.parametrize("watch", WATCHES)
def test_a_change_nested_past_the_json_domain_is_an_unusable_answer(
    feed: HostileFeed, watch: Callable[..., list[Change]]
) -> None:
    """A change event whose data nests 100,000 arrays: `UnusableAnswer` saying so (it raised
    RecursionError out of the watch)."""

    async def script(connection: Connection) -> None:
        deep = b"[" * 100_000 + b"]" * 100_000
        await connection.send(b"event: change\nid: 1\ndata: " + deep + b"\n\n")
        await connection.hold()

    feed.script = script
    with pytest.raises(UnusableAnswer) as unusable:
        watch(feed.url + "/v1/notes", 1, lambda c: None)
    assert "nested more than 128" in str(unusable.value)


@pytest.mark.parametrize("watch", WATCHES)
@pytest.mark.parametrize(
    "piece",
    [b"x" * 65536, b"data: " + b"x" * 65530 + b"\n"],
    ids=["a-line-that-never-ends", "data-lines-no-blank-line-ends"],
)
def test_an_event_that_never_ends_is_an_unusable_answer(
    feed: HostileFeed, watch: Callable[..., list[Change]], piece: bytes
) -> None:
    """1.25 MiB of one unfinished event: `UnusableAnswer` past the decoder's bound (the watch
    held every byte: 35 to 592 MiB in 12 s, and yielded nothing, ever)."""

    async def script(connection: Connection) -> None:
        await connection.send(b"event: change\nid: 1\ndata: ")
        for _ in range(20):
            await connection.send(piece)
        await connection.hold()

    feed.script = script
    with pytest.raises(UnusableAnswer) as unusable:
        watch(feed.url + "/v1/notes", 1, lambda c: None)
    assert "no event" in str(unusable.value)
    assert feed.connections == 1


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_stream_that_completes_no_event_is_dead(feed: HostileFeed, asynchronous: bool) -> None:
    """A byte every 0.2 s and never a whole event: reconnected after 3 heartbeats (3 s), as a
    silent stream is (each byte reset the read timeout: the watch waited for ever)."""

    async def script(connection: Connection) -> None:
        await connection.send(b"data: ")
        for _ in range(100):
            await connection.send(b"x")
            await asyncio.sleep(0.2)

    feed.script = script  # the second request is refused (400): the watch ends
    began = time.monotonic()
    with pytest.raises(ConflictError):
        watch_real_clock(feed.url + "/v1/notes", asynchronous, heartbeat=1)
    assert feed.connections == 2
    assert 3.0 <= feed.opened[1] - began < 10.0  # the feed trickles on for 20 s


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_refusal_that_never_ends_is_read_in_part(feed: HostileFeed, asynchronous: bool) -> None:
    """A 503 whose body goes on for ever: 256 KiB of it are read, and the watch goes on (it read
    the whole body: 35 to 571 MiB in 12 s)."""
    feed.endless_refusal = 503
    with pytest.raises(ConflictError) as refused:
        watch_real_clock(feed.url + "/v1/notes", asynchronous, attempts=2)
    assert feed.connections == 2  # the first refusal was read in part, then waited out
    response = refused.value.response
    assert response is not None
    assert response.status_code == 503
    assert 0 < len(response.content) <= 256 * 1024


def watch_real_clock(
    url: str, asynchronous: bool, heartbeat: int | None = None, attempts: int = 5
) -> None:
    """Watch `url` on the real clock (the driver's own deadlines run on it) until it raises."""
    policy = RetryPolicy(attempts=attempts, budget=20.0)
    if not asynchronous:
        with httpx.Client(timeout=10) as http:
            for _ in ConflictClient(http, policy=policy).watch(url, since=0, heartbeat=heartbeat):
                pass
        return

    async def main() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            client = AsyncConflictClient(http, policy=policy)
            async for _ in client.watch(url, since=0, heartbeat=heartbeat):
                pass

    asyncio.run(main())
