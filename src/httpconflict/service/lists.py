"""The list resources, streamed: a collection's documents and a document's history.

Theory of operation: a page holds up to 1000 documents of up to a body
limit each, so its answer is never held whole. The page's members (ids, or
version numbers) are read first, without their bodies: that settles the
page's ``next``, which the ``Link`` header carries before any item is sent.
The bodies are then read in batches of about `BATCH_BYTES`, each batch a
short statement of its own that continues after the last member read, and
each written out whole as it comes (small batches gathered to
`CHUNK_BYTES`). The next batch is read only once the client has taken the
last (the server's buffer for the connection is back under its low-water
mark), so a worker holds at most a batch per list answer, whatever the page
size, and, for a client that does not take it, holds it in the connection's
buffer, where ``--max-answer-memory`` counts it (`answer_budget`). Written in
slices, the rest of a batch waited in the handler, uncounted: 200 clients
that read nothing held 1.5 MiB each. The first batch is read before the
answer starts, so a database that is down gets its 503 problem, not a 200.

A batch that fails once the answer has started cannot change its status:
the answer stops without the end of its chunked body and the server closes
the connection, so the client sees an incomplete answer, never a page that
looks whole (the closing ``]`` and ``next`` are sent only after the last
batch). One incident line goes to the log, and the access log notes the
problem. The status is sent with the first write: a batch that fails
before it (the first write gathers a page's small items, across batches)
is answered as a problem.

A member is read as its batch finds it: a document changed while its page
streams appears as changed, one deleted meanwhile is left out (the page may
then hold fewer than ``limit`` items, with a ``next``), and none appears twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Final, TypeVar
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from .. import ETag, InvalidParameter, NotFound, ProblemError, format_http_date
from ..asgi import PROBLEM_SCOPE_KEY
from ..incidents import log_incident, new_incident
from ..problem_types import INTERNAL_ERROR, PROBLEM_TYPE_BASE
from ..storage import Document, DocumentStore, Listed, ListedVersion, Version
from .answer_guard import require_room
from .caching import for_caller, not_modified
from .requests import check_name, int_parameter, query_value

MAX_PAGE: Final = 1000
#: Bytes of bodies read from the database per statement: a batch ends with
#: the body that reaches it, so it holds up to this plus one body (a document
#: of 1 MB is a batch alone; 20 KB ones come 26 at a time).
BATCH_BYTES: Final = 512 * 1024
#: How many members the first read of a page is asked for, and the fewest
#: any read is (see `_batches`).
FIRST_WINDOW: Final = 64
MIN_WINDOW: Final = 16
#: The fewest bytes handed to the server per write, but the last: the items of
#: small batches are gathered up to this (a write each would cost more than
#: the items); a larger batch is one write.
CHUNK_BYTES: Final = 64 * 1024
JSON: Final = "application/json"

Key = TypeVar("Key")
Item = TypeVar("Item")


def _store(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.store
    return store


async def list_documents(request: Request) -> Response:
    """One page of a collection's documents, ordered by id."""
    collection = check_name("collection", request.path_params["collection"])
    limit = int_parameter(request, "limit", default=100, low=1, high=MAX_PAGE)
    after = query_value(request, "after")
    if after is not None and "\x00" in after:
        # PostgreSQL's text holds no U+0000: its error was taken for a stored document's.
        raise InvalidParameter(
            "after names the document id a page starts after, and no id holds U+0000 (%00)",
            parameter="after",
        )
    store = _store(request)
    if request.method == "GET":
        require_room()
    members = await store.page_members(collection, after=after, limit=limit)
    ids = [member.id for member in members]
    next_url = None
    if len(ids) == limit:
        next_url = f"/v1/{collection}?limit={limit}&after={quote(ids[-1], safe='')}"
    fields = _page_fields(request, members, next_url)
    if (answer := not_modified(request, fields)) is not None:
        return answer

    def read(rest: Sequence[str]) -> Awaitable[list[Document]]:
        return store.documents(collection, rest, max_bytes=BATCH_BYTES)

    return await _page(request, _batches(ids, read, _document_id), _document_item, next_url, fields)


async def list_versions(request: Request) -> Response:
    """The document's history, newest first, deletions included."""
    params = request.path_params
    collection = check_name("collection", params["collection"])
    doc_id = check_name("document", params["doc_id"])
    limit = int_parameter(request, "limit", default=20, low=1, high=MAX_PAGE)
    before = int_parameter(request, "before", default=None, low=1, high=2**62)
    store = _store(request)
    if request.method == "GET":
        require_room()
    members = await store.version_members(collection, doc_id, before=before, limit=limit)
    if members is None:
        raise NotFound(f"no document {doc_id!r} in collection {collection!r}, ever")
    numbers = [member.version for member in members]
    next_url = None
    if len(numbers) == limit and numbers[-1] > 1:
        next_url = f"/v1/{collection}/{doc_id}/versions?limit={limit}&before={numbers[-1]}"
    fields = _page_fields(request, members, next_url)
    if (answer := not_modified(request, fields)) is not None:
        return answer

    def read(rest: Sequence[int]) -> Awaitable[list[Version]]:
        return store.versions_numbered(collection, doc_id, rest, max_bytes=BATCH_BYTES)

    batches = _batches(numbers, read, _version_number)
    return await _page(request, batches, _version_item, next_url, fields)


def _page_fields(
    request: Request, members: Sequence[Listed | ListedVersion], next_url: str | None
) -> dict[str, str]:
    """The header fields of a page: its validator, how caches may keep it, its next page.

    The validator is made of what the page lists, read before any body:
    each member's key, entity-tag (a document's body is the text it is
    the tag of) and time, and the next page's URL. It is weak: a member
    changed or deleted while the page streams is sent as it then is, so
    the bytes sent may be newer than the members the tag names (the next
    request's tag then differs, and it gets a 200). A weak tag still
    answers If-None-Match (a 304), never If-Match.
    """
    listed = "\n".join(f"{key} {etag or '-'} {when}" for key, etag, when in members)
    digest = ETag.from_content(f"{listed}\n{next_url or ''}".encode())
    fields = {
        "ETag": ETag(digest.opaque, weak=True).to_header(),
        "Cache-Control": for_caller(request),
    }
    if next_url:
        fields["Link"] = f'<{next_url}>; rel="next"'
    return fields


def _document_id(doc: Document) -> str:
    return doc.id


def _version_number(version: Version) -> int:
    return version.version


def _document_item(d: Document) -> tuple[bytes, bytes]:
    meta = {
        "id": d.id,
        "etag": f'"{d.etag}"',
        "last_modified": format_http_date(d.modified_us // 1_000_000),
    }
    return _item_head(meta), d.body


def _version_item(v: Version) -> tuple[bytes, bytes]:
    meta = {
        "version": v.version,
        "etag": f'"{v.etag}"' if v.etag is not None else None,
        "last_modified": format_http_date(v.modified_us // 1_000_000),
        "deleted": v.etag is None,
    }
    return _item_head(meta), v.body if v.body is not None else b"null"


def _item_head(meta: Mapping[str, object]) -> bytes:
    # The stored text is spliced in after this as is: it was validated as
    # JSON when written, and re-encoding it would cost a parse per item.
    return json.dumps(meta, separators=(",", ":"))[:-1].encode() + b',"document":'


async def _batches(
    keys: Sequence[Key],
    read: Callable[[Sequence[Key]], Awaitable[list[Item]]],
    key_of: Callable[[Item], Key],
) -> AsyncIterator[list[Item]]:
    """The members named by `keys`, a batch per `read`, each continuing after the last.

    Each read is asked for a window of the members left, twice as many as
    the last batch held: a statement that returns a few large documents
    is not handed a thousand ids to look at (PostgreSQL sizes each row it
    is given before it cuts the batch), and small ones still come many at
    a time.
    """
    position = {key: index for index, key in enumerate(keys)}
    start, window = 0, FIRST_WINDOW
    while start < len(keys):
        asked = keys[start : start + window]
        # In a list, handed on: a local would hold the batch while the client stalls.
        found = [await read(asked)]
        if not found[0]:
            start += len(asked)  # none of these is there any more
            continue
        start = position[key_of(found[0][-1])] + 1
        window = max(MIN_WINDOW, 2 * len(found[0]))
        yield found.pop()


async def _page(
    request: Request,
    batches: AsyncIterator[list[Item]],
    render: Callable[[Item], tuple[bytes, bytes]],
    next_url: str | None,
    headers: Mapping[str, str],
) -> StreamingResponse:
    """The answer ``{"items": [...], "next": ...}``, its items read from `batches` as it is sent."""
    tail = b'],"next":' + json.dumps(next_url).encode() + b"}"
    if request.method == "HEAD":
        return _StreamedPage(_nothing(), headers, media_type=JSON)
    first: list[Item] = await anext(batches, [])  # a failure here is a problem answer
    chunks = _chunks(_items(first, batches, render), head=b'{"items":[', tail=tail)
    return _StreamedPage(chunks, headers, media_type=JSON)


async def _items(
    first: list[Item],
    batches: AsyncIterator[list[Item]],
    render: Callable[[Item], tuple[bytes, bytes]],
) -> AsyncIterator[list[bytes]]:
    """Each batch's pieces: a comma before all but the first item, its head, its body, its end.

    Nothing of a batch stays in this frame while the client is sent it (and
    may not take it): each is handed on from a list, not a local.
    """
    held = [first]
    del first
    lead = b""
    while held:
        yield _rendered(held.pop(), render, lead)
        lead = b","
        # Let the loop run between batches: a fast client never makes the
        # server wait, and SQLite reads do not wait on the loop either, so
        # without this a long page would hold the loop until its end.
        await asyncio.sleep(0)
        held.append(await anext(batches, []))
        if not held[0]:
            held.clear()


def _rendered(
    batch: list[Item], render: Callable[[Item], tuple[bytes, bytes]], lead: bytes
) -> list[bytes]:
    """A batch's pieces, the first item's head after `lead`, each other's after a comma."""
    pieces: list[bytes] = []
    for item in batch:
        head, body = render(item)
        pieces += (lead + head, body, b"}")
        lead = b","
    return pieces


async def _chunks(
    batches: AsyncIterator[list[bytes]], *, head: bytes, tail: bytes
) -> AsyncIterator[bytes]:
    """`head`, the batches' pieces and `tail`, a write per batch of at least `CHUNK_BYTES`."""
    gathered: list[bytes] = [head]
    size = len(head)
    async for pieces in batches:
        gathered += pieces
        size += sum(map(len, pieces))
        del pieces
        if size >= CHUNK_BYTES:
            yield _joined(gathered)  # a local would hold it while the client stalls
            size = 0
    gathered.append(tail)
    yield _joined(gathered)


def _joined(pieces: list[bytes]) -> bytes:
    """The pieces as one, the list emptied."""
    joined = b"".join(pieces)
    pieces.clear()
    return joined


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator that yields nothing


class _StreamedPage(StreamingResponse):
    """A streamed answer that, if its body fails midway, is left incomplete.

    Starlette's own would raise, past a handler that can no longer answer
    (which then reports only that the answer had begun); here the failure
    is one incident line (`httpconflict.incidents`), the access log notes
    its problem type, and the server closes the connection of an answer
    left without its end (uvicorn: "ASGI callable returned without
    completing response"). A client that goes away still cancels the
    reading (Starlette listens for the disconnect).
    """

    def __init__(
        self,
        content: AsyncIterator[bytes],
        headers: Mapping[str, str],
        *,
        media_type: str,
    ) -> None:
        super().__init__(content, headers=headers, media_type=media_type)
        self._chunks = content
        self._scope: Scope = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._scope = scope
        await super().__call__(scope, receive, send)

    async def stream_response(self, send: Send) -> None:
        chunks = self._chunks
        # The status waits for the first write (head, items and tail gathered
        # to CHUNK_BYTES, so batches after the first may be read for it): a
        # failure until then is raised, and answered as any other (a 503
        # problem with Retry-After), not sent as a 200 cut short, nor, behind
        # gzip (which holds the start back until a body comes), as no answer
        # at all: the server's bare 500.
        chunk: bytes | None = await anext(chunks, b"")  # b"": a HEAD's, which has none
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        sent = 0
        try:
            while chunk is not None:
                sent += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                # Nothing sent, once the client has taken what was: the next
                # batch is read then, not held here while the client stalls.
                chunk = None
                await send({"type": "http.response.body", "body": b"", "more_body": True})
                chunk = await anext(chunks, None)
        except Exception as error:  # whatever failed, the answer can only be cut short
            problem = error.problem if isinstance(error, ProblemError) else INTERNAL_ERROR.problem()
            self._scope[PROBLEM_SCOPE_KEY] = problem.type.removeprefix(PROBLEM_TYPE_BASE)
            # A 503's incident was logged where it was raised: this line joins it.
            incident = getattr(error, "incident", None) or new_incident()
            method, path = self._scope.get("method"), self._scope.get("path")
            summary = f"{method} {path} answer cut after {sent} bytes"
            log_incident(incident, summary, error, level=logging.ERROR)
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
