"""The change feed resource: ``GET /v1/{collection}/_changes``, as events or JSON pages.

Handlers only translate: `httpconflict.changes` decides the parameters, the
form and the refusals (400, 410); the worker's `ChangePump` knows the
watermark and the recent changes; a `Follower` walks one request's cursor
through them (see `change_pump` for where each change comes from).

The event stream is sse-starlette's `EventSourceResponse`, which watches
for the client leaving and for the server shutting down (it ends every
stream within about half a second of SIGTERM, where uvicorn would wait for
each open connection), and which a stream ended so then leaves
unfinished: `_Stream` finishes it (the chunked body's last chunk), so
that the client reads an end, not a broken body, and uvicorn logs no error
for it. Its own pings are off: the feed's heartbeats are events that carry
the watermark. A stream sends as fast as the client
reads and no faster (each send waits for the connection's flow control).
A JSON long-poll (``wait``) looks every half second whether its client is
gone or the server stopping, and then ends with the page as it is.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from .. import ProblemError
from ..changes import VARY, ChangesQuery, FeedForm, SinceExpired, changes_query, check_since
from ..storage import Change, ChangeBounds, DocumentStore
from .change_pump import ChangePump
from .problems import MethodNotAllowed
from .requests import check_name
from .standing import Standing
from .stopping import stopping

CHANGES: Final = "/v1/{collection}/_changes"
#: Changes read at once for a stream (each becomes one event).
STREAM_PAGE: Final = 100
#: Seqs one read of the database looks through at most: a document's changes
#: (``id=``) far behind are looked for a slice at a time, the loop free between
#: slices (one read of a million changes held a SQLite worker's loop 164 ms).
SCAN: Final = 10_000
#: Seconds a stream waits before reading again after the database failed a read.
RETRY_READ: Final = 1.0
#: Seconds a long-poll waits at most before it looks whether its client is gone or
#: the server stopping.
LOOK_AGAIN: Final = 0.5
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_HEADERS: Final = {"Cache-Control": "no-store", "Vary": VARY}


def change_json(change: Change) -> dict[str, object]:
    """A change as the feed sends it (the etag as the document's GET sends it)."""
    modified = _EPOCH + timedelta(microseconds=change.modified_us)
    sent: dict[str, object] = {
        "seq": change.seq,
        "id": change.id,
        "version": change.version,
        "etag": None if change.etag is None else f'"{change.etag}"',
        "deleted": change.etag is None,
        "modified": modified.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    if change.purged:
        sent["purged"] = True
    return sent


def starting_at(since: int | None, watermark: int, bounds: ChangeBounds) -> int:
    """The seq a feed request follows from: its `since`, or now (None).

    Now is this worker's watermark, or the horizon if above it: another
    instance's purge may have deleted changes this worker has not polled
    yet, and a request that asked for none of them is no 410.
    """
    return max(watermark, bounds.horizon) if since is None else since


class Follower:
    """One request's cursor through a collection's changes: every change up to it was sent."""

    def __init__(
        self, pump: ChangePump, store: DocumentStore, collection: str, id: str | None, cursor: int
    ) -> None:
        self.pump = pump
        self.store = store
        self.collection = collection
        self.id = id
        self.cursor = cursor

    @property
    def caught_up(self) -> bool:
        watermark = self.pump.watermark
        return watermark is None or self.cursor >= watermark

    async def next(self, limit: int) -> list[Change]:
        """The next changes after the cursor, up to the watermark (at most `limit`).

        Moves the cursor past them, and past every seq of other collections
        (or documents) up to where they were looked for: at most `SCAN` seqs
        on, so that an empty answer before the cursor is `caught_up` means
        "look again", not "nothing more". 410 (`SinceExpired`) if the
        changes after the cursor were purged meanwhile.
        """
        watermark = self.pump.watermark
        if watermark is None or self.cursor >= watermark:
            return []
        found = self.pump.from_ring(self.collection, self.id, self.cursor, limit)
        if found is None:
            upto = min(watermark, self.cursor + SCAN)
            read = await self.store.read_changes(
                self.collection, after=self.cursor, upto=upto, id=self.id, limit=limit
            )
            if read.horizon > self.cursor:
                check_since(self.cursor, oldest=read.horizon, latest=watermark)
            changes = read.changes
            found = changes, changes[-1].seq if len(changes) == limit else upto
        changes, self.cursor = found
        return changes

    async def found(self, limit: int) -> list[Change]:
        """`next`, looked for slice after slice (the loop free between) until some come or the
        cursor is caught up."""
        changes = await self.next(limit)
        while not changes and not self.caught_up:
            await asyncio.sleep(0)
            changes = await self.next(limit)
        return changes


def _store(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.store
    return store


def _pump(request: Request) -> ChangePump:
    pump: ChangePump = request.app.state.change_pump
    return pump


def _field(request: Request, name: str) -> str | None:
    """A field's value, its field lines combined (RFC 9110 §5.3); None when absent."""
    lines = request.headers.getlist(name)
    return ", ".join(lines) if lines else None


async def changes(request: Request) -> Response:
    """The collection's changes after `since`: an event stream, or one JSON page."""
    collection = check_name("collection", request.path_params["collection"])
    query = changes_query(
        request.query_params.multi_items(),
        accept=_field(request, "accept"),
        last_event_id=_field(request, "last-event-id"),
    )
    if query.id is not None:
        check_name("document", query.id)
    store, pump = _store(request), _pump(request)
    with pump.watching():
        await pump.start()
        bounds = await store.change_bounds()
        # Read your writes: every change committed before this request came
        # (its seq at most `latest`) is past where a page ends or "now" begins.
        watermark = await pump.reach(bounds.latest)
        since = starting_at(query.since, watermark, bounds)
        check_since(
            since,
            oldest=bounds.horizon,
            latest=max(bounds.latest, watermark),
            parameter="since" if query.since is None else query.since_from,
        )
        follower = Follower(pump, store, collection, query.id, since)
        standing = Standing(request.scope)
        if query.form is FeedForm.PAGE:
            return await _page(request, follower, query, standing)
    return _Stream(_events(follower, query, standing), headers=_HEADERS, ping=0, sep="\n")


class _Stream(EventSourceResponse):
    """An event stream that ends its body whatever ended it (the server stopping, above all).

    Without sse-starlette's ``Connection: keep-alive``: a connection's
    persistence is the server's to say (it added ``close`` beside it for an
    HTTP/1.0 request), and HTTP/2 forbids connection-specific fields.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.headers["connection"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = ended = False

        async def sending(message: Message) -> None:
            nonlocal started, ended
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                ended = True
            await send(message)

        await super().__call__(scope, receive, sending)
        if started and not ended:  # cut short (uvicorn drops a send to a client gone)
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _page(
    request: Request, follower: Follower, query: ChangesQuery, standing: Standing
) -> Response:
    deadline = time.monotonic() + query.wait
    results = await follower.found(query.limit)
    while not results and (left := deadline - time.monotonic()) > 0:
        if follower.caught_up:
            await follower.pump.wait(min(left, LOOK_AGAIN))
        # Stopping: the page as it is now, for the client to ask again (of
        # another instance), not a wait of up to a minute that uvicorn would
        # sit out. The client gone: nobody to answer. Its caller no longer
        # admitted (a token revoked, a right taken away while it waited):
        # nothing more, and its next request gets the refusal.
        if stopping() or await request.is_disconnected() or not await standing.holds():
            break
        results = await follower.found(query.limit)
    body = {"results": [change_json(c) for c in results], "last_seq": follower.cursor}
    return Response(
        json.dumps(body, separators=(",", ":")), media_type="application/json", headers=_HEADERS
    )


async def _events(
    follower: Follower, query: ChangesQuery, standing: Standing
) -> AsyncIterator[bytes]:
    """The stream: a heartbeat, then changes as they come, a heartbeat when nothing has come.

    Ends when the changes after the cursor were purged (the client, reconnecting
    with its Last-Event-ID, gets the 410), and when its caller is no longer
    admitted (a token revoked or expired, a right taken away: reconnecting, it
    gets the 401 or 403). A database that fails a read is waited for, with
    heartbeats; a caller's admission that cannot be told (the token store
    down) is waited for with nothing sent.
    """
    with follower.pump.watching():
        yield _heartbeat(follower.cursor)
        sent = time.monotonic()
        while True:
            try:
                if not await standing.holds():
                    return
            except ProblemError as error:
                if error.status < 500:
                    raise
                await asyncio.sleep(RETRY_READ)
                continue
            try:
                changes = await follower.next(STREAM_PAGE)
            except SinceExpired:
                return
            except ProblemError as error:
                if error.status < 500:
                    raise
                changes = []
                await follower.pump.wait(RETRY_READ)  # the database failed this read
            if changes:
                yield b"".join(_event(change) for change in changes)
                sent = time.monotonic()
                # A page from the ring or from SQLite comes without waiting, and a
                # send to a client that is gone returns at once: without a pause
                # here a stream far behind would hold the loop until it caught up,
                # its hang-up (and every other request of the worker) unheard.
                await asyncio.sleep(0)
                continue
            due = sent + query.heartbeat - time.monotonic()
            if due <= 0:
                yield _heartbeat(follower.cursor)
                sent = time.monotonic()
            elif follower.caught_up:
                await follower.pump.wait(due)
            else:
                await asyncio.sleep(0)  # a slice looked through, and more to look at


def _event(change: Change) -> bytes:
    data = json.dumps(change_json(change), separators=(",", ":"))
    return f"id: {change.seq}\nevent: change\ndata: {data}\n\n".encode()


def _heartbeat(seq: int) -> bytes:
    return f'id: {seq}\nevent: heartbeat\ndata: {{"seq":{seq}}}\n\n'.encode()


ROUTES: Final = [
    Route(CHANGES, changes, methods=["GET"]),
    Route(CHANGES, MethodNotAllowed("GET, HEAD")),
]
