"""The document resources: /v1/{collection}/{id}, and collections (lists: `lists`).

Handlers only translate: they read the request, let the core decide
(`read_decision` for reads, `write_flow` for writes) with the store's primitives
doing the I/O, and render the outcome.
"""

from __future__ import annotations

import os
import time
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import (
    ETag,
    Guard,
    NotFound,
    PreconditionFailed,
    WriteDecision,
    WriteOutcome,
    WriteResult,
    arun_write,
    format_http_date,
    precondition_failed,
    precondition_required,
    write_flow,
)
from ..problem_types import CONTENDED
from ..starlette import problem_response
from ..storage import Document, DocumentStore, from_micros
from .caching import for_caller, not_modified
from .config import ServiceConfig
from .erasure import erase_deleted, purge_wanted
from .keys import KeyedWrite
from .lists import list_documents, list_versions
from .patch import patch_document
from .paths import DOCUMENT
from .requests import check_name, conditions, read_document
from .unique_values import check_unique_fields

COLLECTION: Final = "/v1/{collection}"
VERSIONS: Final = "/v1/{collection}/{doc_id}/versions"
JSON: Final = "application/json"


def _store(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.store
    return store


def _config(request: Request) -> ServiceConfig:
    config: ServiceConfig = request.app.state.config
    return config


def _names(request: Request) -> tuple[str, str]:
    params = request.path_params
    return check_name("collection", params["collection"]), check_name("document", params["doc_id"])


def _now_us() -> int:
    return time.time_ns() // 1000


def _new_id() -> str:
    """32 hex digits: milliseconds since the epoch, then 80 random bits.

    Ids that grow with time keep new rows at the right edge of the table's
    B-tree (fewer pages written per insert, no half-empty pages), and list
    pages come out in creation order.
    """
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def _document_headers(request: Request, doc: Document) -> dict[str, str]:
    return {
        "ETag": f'"{doc.etag}"',
        "Last-Modified": format_http_date(doc.modified_us // 1_000_000),
        "Cache-Control": for_caller(request),
    }


async def get_document(request: Request) -> Response:
    """GET and HEAD: the document, 304, 412, 400 or 404, as `read_decision` decides."""
    collection, doc_id = _names(request)
    doc = await _store(request).get(collection, doc_id)
    if doc is None:
        # Preconditions, even malformed ones, are ignored (RFC 9110 §13.2.1).
        raise NotFound(f"no document {doc_id!r} in collection {collection!r}")
    headers = _document_headers(request, doc)
    if (answer := not_modified(request, headers)) is not None:
        return answer
    return Response(doc.body, media_type=JSON, headers=headers)


async def put_document(request: Request) -> Response:
    """Create (If-None-Match: *) or replace (If-Match) a document."""
    collection, doc_id = _names(request)
    when = conditions(request)
    config = _config(request)
    raw, document = await read_document(request, config.max_body)
    await check_unique_fields(request, collection, document)
    etag = ETag.from_content(raw)
    store = _store(request)
    now_us = _now_us()

    def answer(result: WriteResult) -> tuple[int, dict[str, str], bytes]:
        # RFC 9110 §9.3.4 allows a validator on a PUT answer only when the
        # body was stored without any transformation, which it was.
        return 201 if result.created else 200, _written_headers(etag, now_us // 1_000_000), raw

    keyed = KeyedWrite.of(request)
    completion = keyed.completion(answer)
    decision = await arun_write(
        write_flow(
            "PUT",
            when,
            requested=etag,
            require_precondition=not config.blind_writes,
            now=from_micros(now_us),
        ),
        lambda: store.validators(collection, doc_id),
        lambda guard: keyed.run(
            store.put(collection, doc_id, raw, etag.opaque, guard, now_us, completion=completion)
        ),
    )
    if decision.outcome is WriteOutcome.WRITTEN:
        return _written(raw, 201 if decision.created else 200, etag, now_us // 1_000_000)
    if decision.outcome is WriteOutcome.UNCHANGED:
        # The precondition held and the body is the stored one: nothing was
        # written, and that is success.
        assert decision.current is not None
        assert decision.current.last_modified is not None
        modified = int(decision.current.last_modified.timestamp())
        return Response(raw, headers=_written_headers(etag, modified))
    return _refusal(request, decision, creating=True)


async def delete_document(request: Request) -> Response:
    """Delete a document (If-Match required); ``?purge=true``: with its history (`erasure`)."""
    collection, doc_id = _names(request)
    store = _store(request)
    purge = await purge_wanted(request, store, collection)
    when = conditions(request)
    if purge and (erased := await erase_deleted(store, collection, doc_id)) is not None:
        return erased
    now_us = _now_us()
    keyed = KeyedWrite.of(request)
    completion = keyed.completion(lambda _: (204, {}, b""))
    decision = await arun_write(
        write_flow(
            "DELETE",
            when,
            requested=None,
            require_precondition=not _config(request).blind_writes,
            now=from_micros(now_us),
        ),
        lambda: store.validators(collection, doc_id),
        lambda guard: keyed.run(
            store.delete(collection, doc_id, guard, now_us, completion=completion, purge=purge)
        ),
    )
    if decision.outcome is WriteOutcome.WRITTEN:
        return Response(status_code=204)
    return _refusal(request, decision, creating=False)


def _written_headers(etag: ETag, modified: int) -> dict[str, str]:
    """The header fields of a document write's answer (JSON, its ETag, when it was written)."""
    return {
        "Content-Type": JSON,
        "ETag": etag.to_header(),
        "Last-Modified": format_http_date(modified),
    }


def _written(raw: bytes, status: int, etag: ETag, modified: int) -> Response:
    """A document write's answer: the fields of `_written_headers`, each made bytes once.

    Given as a dict, Starlette lower-cases, encodes and searches them again
    on every write.
    """
    response = Response(raw, status_code=status, media_type=JSON)
    response.raw_headers += (
        (b"etag", etag.to_header().encode("latin-1")),
        (b"last-modified", format_http_date(modified).encode("latin-1")),
    )
    return response


def _refusal(request: Request, decision: WriteDecision, *, creating: bool) -> Response:
    """Render a write flow that ended without writing."""
    current = decision.current.etag if decision.current is not None else None
    current_etag = current.to_header() if current is not None else None
    match decision.outcome:
        case WriteOutcome.NOT_FOUND:
            raise NotFound(f"nothing exists at {request.url.path}")
        case WriteOutcome.PRECONDITION_REQUIRED:
            raise precondition_required(conditions(request), creating=creating)
        case WriteOutcome.PRECONDITION_FAILED:
            if current is None:
                detail = "the document does not exist (If-Match needs a current version)"
            elif request.headers.get("if-none-match", "").strip() == "*":
                detail = "the document already exists (If-None-Match: *)"
            else:
                raise precondition_failed(decision.current, conditions(request))
            raise PreconditionFailed(detail, current_etag=current_etag)
        case _:
            return problem_response(
                CONTENDED.problem("every attempt lost a race with another writer", retry_after=1),
                {"Retry-After": "1"},
            )


async def post_document(request: Request) -> Response:
    """Create a document with a new id; its URL is in Location.

    With an Idempotency-Key whose store sits beside the documents, the answer
    is recorded under the key in the transaction that creates the document.
    """
    collection = check_name("collection", request.path_params["collection"])
    raw, document = await read_document(request, _config(request).max_body)
    await check_unique_fields(request, collection, document)
    etag = ETag.from_content(raw)
    doc_id = _new_id()
    now_us = _now_us()
    location = {"Location": f"/v1/{collection}/{doc_id}"}
    headers = {**location, **_written_headers(etag, now_us // 1_000_000)}
    keyed = KeyedWrite.of(request)
    completion = keyed.completion(lambda _: (201, headers, raw))
    result = await keyed.run(
        _store(request).put(
            collection, doc_id, raw, etag.opaque, Guard(exists=False), now_us, completion=completion
        )
    )
    # 80 random bits per millisecond: a clash would mean a broken random source.
    assert result.written
    return Response(raw, status_code=201, headers=headers)


async def _by_method(request: Request) -> Response:
    """One route per path, its handler chosen by method: a route tried is a regex match.

    A route per method made a PUT match the path twice (the GET route's
    first), a DELETE four times.
    """
    return await _HANDLERS[request.method](request)


_HANDLERS: Final = {
    # Starlette answers HEAD with the GET endpoint, minus the body.
    "GET": get_document,
    "HEAD": get_document,
    "PUT": put_document,
    "PATCH": patch_document,
    "DELETE": delete_document,
}
_COLLECTION_HANDLERS: Final = {"GET": list_documents, "HEAD": list_documents, "POST": post_document}


async def _collection_by_method(request: Request) -> Response:
    return await _COLLECTION_HANDLERS[request.method](request)


ROUTES: Final = [
    Route(DOCUMENT, _by_method, methods=["GET", "PUT", "PATCH", "DELETE"]),
    Route(VERSIONS, list_versions, methods=["GET"]),
    Route(COLLECTION, _collection_by_method, methods=["GET", "POST"]),
]
