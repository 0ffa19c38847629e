"""The client's watch of a change feed, as a generator of commands.

Theory of operation: `watch_flow` follows ``GET {collection}/_changes`` as
Server-Sent Events for as long as its caller wants changes, and does no
I/O. It yields `Open` (reply: `Received`, the answer's status and fields,
with the body only when it is not the stream; or `TransportFailure`),
`NextEvent` (reply: an `Event`, a `ReconnectionTime`, `StreamEnded`,
`Unreadable`, or `TransportFailure`),
`Deliver` (a change for the caller; reply None) and `Sleep` (reply None).
It returns only to give up, with a `GaveUp` saying why.

Where it is: `position`, the highest ``id:`` seen, whichever event carried
it. The feed's contract makes any id a resume point (a heartbeat's id is a
watermark: every change up to it was sent), so a stream that drops, ends,
or answers 5xx is opened again with ``Last-Event-ID: position`` (and
``since=position``, for whatever strips the header), and the feed sends
exactly the changes after it. A change is delivered only if its seq is
above the position before it came: a repeat (from a server or proxy that
sends one again) is never delivered twice, and since every resume starts
from what was seen, none is skipped.

Reconnecting spends the client's `RetryPolicy` as one operation does:
tries and a time budget that begin at the first failure, backoff with full
jitter, Retry-After honoured. A stream that proves itself (it brought a
new change, or a later event moved the position on, or it stayed open for
the policy's `cap`) ends that episode: the next failure starts a fresh
budget, so a watch outlives any number of separate restarts, while a
server that accepts and at once drops the stream (having sent nothing new)
is backed off from, never hammered in a loop.

When to reconnect: WHATWG HTML §9.2.3 "Wait a delay equal to the
reconnection time of the event source", which a ``retry:`` field sets,
then "if the previous attempt failed ... an exponential backoff delay".
So each reconnect waits the last reconnection time any stream of the
watch set (none: 0), plus the policy's backoff, which grows while
reconnects keep failing (``retry: 0`` is no licence to hammer); a
Retry-After on a 503 or 429 is the server's word on that answer and is
waited instead. The reconnection time is capped at
`MAX_RECONNECTION_TIME` (a hostile ``retry: 999999999999`` asks for 31
years), and like the backoff it is cut short to end with the time budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, TypeAlias, TypeGuard
from urllib.parse import urlencode

from ._client_commands import GaveUp, Received, Send, Sleep, TransportFailure
from ._client_retry import GiveUpReason, RetryPolicy, Tries, retry_after
from ._event_stream import Event as Event  # a reply to NextEvent
from ._event_stream import EventStreamDecoder, EventTooLarge
from ._media import parse_json

EVENT_STREAM: Final = "text/event-stream"
#: How many heartbeat periods of silence make a stream dead (the read timeout).
SILENT_HEARTBEATS: Final = 3
#: The feed's heartbeat period when none is asked for (the contract's default).
DEFAULT_HEARTBEAT: Final = 10
#: The longest reconnection time a ``retry:`` field may set, in seconds.
MAX_RECONNECTION_TIME: Final = 60.0
#: Seconds a stream that brought no change must have lasted for its end not to count as a
#: quick one, after which the watch waits at least as long before it reconnects.
QUICK_END: Final = 1.0

# The feed's event ids are seqs: 1*DIGIT.
_SEQ: Final = re.compile(r"[0-9]+", re.ASCII)
# Digits of a seq at most: far past a 64-bit counter's 20, far below what int() refuses
# (4,300 by default, CVE-2020-10735, whose error gives the reader advice about CPython).
_SEQ_DIGITS: Final = 100

Since: TypeAlias = "int | Literal['now'] | None"


@dataclass(frozen=True, slots=True)
class Change:
    """One change to a document of a collection, as the change feed sends it.

    `seq` orders every change of the database (a collection's are a
    subsequence, so gaps are normal); `etag` is the ETag the document's GET
    answers with (None once deleted); `deleted` is true for a delete and a
    purge; `modified` is when the change was committed (UTC); `purged` is
    true when the document's history went with it (a purge, also of a
    document deleted before, which changes nothing else).
    """

    seq: int
    id: str
    version: int
    etag: str | None
    deleted: bool
    modified: datetime
    purged: bool = False

    @classmethod
    def from_json(cls, data: str) -> Change:
        """The change in an event's data; ValueError if it is not one."""
        value = parse_json(data.encode())
        if not isinstance(value, dict):
            raise ValueError("a change is a JSON object")
        seq, version = value.get("seq"), value.get("version")
        etag, modified = value.get("etag"), value.get("modified")
        if not _count(seq) or not _count(version):
            raise ValueError("seq and version are non-negative integers")
        if not isinstance(value.get("id"), str) or not isinstance(value.get("deleted"), bool):
            raise ValueError("id is a string and deleted a boolean")
        if not (etag is None or isinstance(etag, str)) or not isinstance(modified, str):
            raise ValueError("etag is a string or null, modified a date-time string")
        purged = value.get("purged", False)
        if not isinstance(purged, bool):
            raise ValueError("purged is a boolean")
        return cls(seq, value["id"], version, etag, value["deleted"], _utc(modified), purged)


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _utc(text: str) -> datetime:
    """An RFC 3339 date-time with its offset (ValueError for a local one)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"modified has no UTC offset: {text!r}")
    return moment


@dataclass(frozen=True, slots=True)
class Open:
    """Command: open `send` as a stream (read timeout `read_timeout` seconds).

    Reply: `Received` with the answer's status and fields; its body too when
    it is not a 200 event stream (a refusal is read whole, and closed). Or
    `TransportFailure` when no answer came.
    """

    send: Send
    read_timeout: float


@dataclass(frozen=True, slots=True)
class NextEvent:
    """Command: the next event of the open stream.

    Reply: `Event`, `ReconnectionTime`, `StreamEnded`, `Unreadable` or
    `TransportFailure`.
    """


@dataclass(frozen=True, slots=True)
class ReconnectionTime:
    """A ``retry:`` field of the stream set the reconnection time to `milliseconds`."""

    milliseconds: int


@dataclass(frozen=True, slots=True)
class Unreadable:
    """The stream sent what is no event: one past the decoder's bound (`EventTooLarge`)."""

    detail: str


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """The server ended the stream in good order (stamped with when, as answers are)."""

    at: float = 0.0
    wall: float = 0.0


@dataclass(frozen=True, slots=True)
class Deliver:
    """Command: hand `change` to the caller; reply None."""

    change: Change


WatchCommand: TypeAlias = Open | NextEvent | Deliver | Sleep
WatchReply: TypeAlias = (
    Received | TransportFailure | Event | ReconnectionTime | StreamEnded | Unreadable | None
)
WatchFlow: TypeAlias = Generator[WatchCommand, WatchReply, GaveUp]


def check_since(since: object) -> None:
    """Refuse a `since` the feed would refuse, before any request: ValueError."""
    if since is None or since == "now" or _count(since):
        return
    raise ValueError(f"since is a seq (an integer >= 0), 'now' or None, not {since!r}")


def check_heartbeat(heartbeat: object) -> None:
    """The contract's range for ``heartbeat``: whole seconds, 1 to 60."""
    if heartbeat is None or (_count(heartbeat) and 1 <= heartbeat <= 60):
        return
    raise ValueError(f"heartbeat is a whole number of seconds from 1 to 60, not {heartbeat!r}")


def watch_flow(
    feed: str,
    *,
    since: Since = None,
    id: str | None = None,  # the feed's own parameter name
    heartbeat: int | None = None,
    policy: RetryPolicy,
    random: Callable[[], float],
) -> WatchFlow:
    """Follow the change feed at `feed` (``.../{collection}/_changes``), forever or until refused.

    `since`: a seq to start after, "now", or None (the feed's default for
    a stream: now). `id`: only that document's changes. `heartbeat`: the
    period to ask for; a stream silent for `SILENT_HEARTBEATS` of them is
    taken for dead and opened again.
    """
    check_since(since)
    check_heartbeat(heartbeat)
    position: int | None = since if isinstance(since, int) else None
    read_timeout = float(SILENT_HEARTBEATS * (heartbeat or DEFAULT_HEARTBEAT))
    tries: Tries | None = None
    last: Received | None = None
    attempts = 0
    reconnection = 0.0  # seconds; WHATWG: kept from stream to stream
    while True:
        send = _request(feed, since if position is None else position, id, heartbeat, position)
        attempts += 1
        reply = yield Open(send, read_timeout)
        assert isinstance(reply, Received | TransportFailure), "Open is answered by the answer"
        failure: Received | TransportFailure | StreamEnded = reply
        detail = ""
        if isinstance(reply, Received):
            last = reply
            verdict = _opened(reply, position)
            if verdict is not None:
                reason, detail = verdict
                return GaveUp(reason, "watch", feed, attempts, send, last, None, detail)
        quick = False
        if isinstance(reply, Received) and reply.status == 200:
            events = 0
            delivered = False
            while True:
                got = yield NextEvent()
                if isinstance(got, ReconnectionTime):
                    reconnection = min(got.milliseconds / 1000, MAX_RECONNECTION_TIME)
                    continue
                if isinstance(got, Unreadable):
                    detail = f"the feed sent what is no event: {got.detail}"
                    reason = GiveUpReason.UNUSABLE_ANSWER
                    return GaveUp(reason, "watch", feed, attempts, send, last, None, detail)
                if not isinstance(got, Event):
                    assert isinstance(got, StreamEnded | TransportFailure), "a stream event"
                    failure = got
                    break
                events += 1
                before = position
                try:
                    position, change = _read(got, position)
                except ValueError as unreadable:
                    detail = f"the feed sent an unreadable {got.event} event: {unreadable}"
                    reason = GiveUpReason.UNUSABLE_ANSWER
                    return GaveUp(reason, "watch", feed, attempts, send, last, None, detail)
                if change is not None and (before is None or change.seq > before):
                    tries = None  # the stream works: the next failure starts a fresh budget
                    delivered = True
                    yield Deliver(change)
                elif events > 1 and position != before:
                    tries = None  # a watermark moved on: the stream works
            if failure.at - reply.at >= policy.cap:
                tries = None
            # A stream that ends at once with no change (its heartbeats may have
            # moved the position on) is no licence to reconnect at once, again
            # and again: the next opening waits `QUICK_END` at least.
            quick = not delivered and failure.at - reply.at < QUICK_END
        if tries is None:
            tries = Tries(policy, started=failure.at, random=random)
        asked = None
        if isinstance(failure, Received):
            asked = retry_after(
                failure.header("retry-after"), date=failure.header("date"), wall=failure.wall
            )
        # The server's Retry-After on this answer wins over the stream's retry:.
        wait = max(reconnection, QUICK_END) if quick else reconnection
        delay = tries.pause(failure.at, asked, reconnection=0.0 if asked is not None else wait)
        if isinstance(delay, GiveUpReason):
            error = failure.error if isinstance(failure, TransportFailure) else None
            ended = "; the stream had ended" if isinstance(failure, StreamEnded) else ""
            detail = tries.detail + ended
            return GaveUp(delay, "watch", feed, attempts, send, last, error, detail)
        yield Sleep(delay)


def stream_replies(
    decoder: EventStreamDecoder, chunk: bytes
) -> list[Event | ReconnectionTime | Unreadable]:
    """The replies to `NextEvent` that `chunk` of the stream makes, in turn.

    Its events, after a `ReconnectionTime` if it set one: the time only
    matters once the stream has failed, so its place among them does not.
    An event past the decoder's bound ends them with `Unreadable`.
    """
    before = decoder.retry
    events: list[Event | ReconnectionTime | Unreadable] = []
    try:
        events.extend(decoder.feed(chunk))
    except EventTooLarge as error:
        return [Unreadable(str(error))]
    if decoder.retry is not None and decoder.retry != before:
        events.insert(0, ReconnectionTime(decoder.retry))
    return events


def _request(
    feed: str, since: Since, id: str | None, heartbeat: int | None, position: int | None
) -> Send:
    params: list[tuple[str, str]] = []
    if since is not None:
        params.append(("since", str(since)))
    if id is not None:
        params.append(("id", id))
    if heartbeat is not None:
        params.append(("heartbeat", str(heartbeat)))
    # Compressing a stream would hold its events back until a block fills.
    headers = [("Accept", EVENT_STREAM), ("Accept-Encoding", "identity")]
    if position is not None:
        # WHATWG HTML §9.2.4: a reconnecting EventSource sends `Last-Event-ID`
        # with the last event ID; the feed takes it over ?since.
        headers.append(("Last-Event-ID", str(position)))
    url = f"{feed}?{urlencode(params)}" if params else feed
    return Send("GET", url, tuple(headers))


def _opened(answer: Received, position: int | None) -> tuple[GiveUpReason, str] | None:
    """Why to give up on this answer to opening the stream; None to read it or retry."""
    if answer.status == 200:
        media = (answer.header("content-type") or "").partition(";")[0].strip().lower()
        if media != EVENT_STREAM:
            return GiveUpReason.UNUSABLE_ANSWER, f"the feed answered {media or 'no content type'}"
        return None
    if answer.status >= 500 or answer.status == 429:
        return None  # the server could not answer now: try again after its Retry-After
    if answer.status == 410:
        after = "the position" if position is None else str(position)
        return GiveUpReason.CHANGES_EXPIRED, (
            f"the changes after {after} are no longer all kept: read the collection again, "
            'then watch from since="now" (or from a feed page\'s last_seq read before it)'
        )
    return GiveUpReason.REFUSED, ""


def _read(event: Event, position: int | None) -> tuple[int | None, Change | None]:
    """The position after `event`, and the change it carries if it is one."""
    if event.id:
        if _SEQ.fullmatch(event.id) is None:
            raise ValueError(f"its id {event.id[:40]!r} is not a seq")
        if len(event.id) > _SEQ_DIGITS:
            raise ValueError(
                f"its id is not a seq: {len(event.id):,} digits (a seq has {_SEQ_DIGITS} at most)"
            )
        position = int(event.id) if position is None else max(position, int(event.id))
    if event.event != "change":
        return position, None  # a heartbeat, or an event type this client does not know
    change = Change.from_json(event.data)
    return (change.seq if position is None else max(position, change.seq)), change
