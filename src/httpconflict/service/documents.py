"""The document resources: /v1/{collection}/{id}, its history, and collections.

Handlers only translate: they read the request, let the core decide
(`evaluate` for reads, `write_flow` for writes) with the store's primitives
doing the I/O, and render the outcome.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from .._errors import NotFound, PreconditionFailed, PreconditionRequired
from .._etag import ETag
from .._httpdate import format_http_date
from .._preconditions import Decision, evaluate
from .._problem import CONTENDED
from .._write import Guard, WriteDecision, WriteOutcome, arun_write, write_flow
from ..storage import Document, DocumentStore, Version
from . import openapi
from .config import ServiceConfig
from .problems import problem_response
from .requests import check_name, conditions, read_document

router = APIRouter(prefix="/v1", tags=["documents"])

DOCUMENT_PATH: Final = "/{collection}/{doc_id}"
MAX_PAGE: Final = 1000

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")]


def _store(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.store
    return store


def _config(request: Request) -> ServiceConfig:
    config: ServiceConfig = request.app.state.config
    return config


def _now_us() -> int:
    return time.time_ns() // 1000


def _document_headers(doc: Document) -> dict[str, str]:
    return {
        "ETag": f'"{doc.etag}"',
        "Last-Modified": format_http_date(doc.modified),
        # Caches may store a document but must revalidate it (with its ETag)
        # before each use: another writer may have changed it.
        "Cache-Control": "no-cache",
    }


@router.head(DOCUMENT_PATH, **openapi.HEAD_DOCUMENT)
@router.get(DOCUMENT_PATH, **openapi.GET_DOCUMENT)
async def get_document(request: Request, collection: str, doc_id: str) -> Response:
    """Read a document (HEAD: its headers only)."""
    check_name("collection", collection)
    check_name("document", doc_id)
    when = conditions(request)
    doc = await _store(request).get(collection, doc_id)
    if doc is None:
        raise NotFound(f"no document {doc_id!r} in collection {collection!r}")
    decision = evaluate(request.method, when, doc.validators)
    headers = _document_headers(doc)
    if decision is Decision.NOT_MODIFIED:
        # RFC 9110 §15.4.5: a 304 carries the ETag and Cache-Control a 200
        # would have, and no representation metadata besides.
        del headers["Last-Modified"]
        return Response(status_code=304, headers=headers)
    if decision is Decision.PRECONDITION_FAILED:
        raise PreconditionFailed(
            "the document's current version does not match If-Match/If-Unmodified-Since",
            current_etag=headers["ETag"],
        )
    return Response(doc.body, media_type="application/json", headers=headers)


@router.put(DOCUMENT_PATH, **openapi.PUT_DOCUMENT)
async def put_document(request: Request, collection: str, doc_id: str) -> Response:
    """Create (If-None-Match: *) or replace (If-Match) a document."""
    check_name("collection", collection)
    check_name("document", doc_id)
    when = conditions(request)
    config = _config(request)
    raw, _ = await read_document(request, config.max_body)
    etag = ETag.from_content(raw)
    body = raw.decode("utf-8")
    store = _store(request)
    decision = await arun_write(
        write_flow("PUT", when, requested=etag, require_precondition=not config.blind_writes),
        lambda: store.validators(collection, doc_id),
        lambda guard: store.put(collection, doc_id, body, etag.opaque, guard, _now_us()),
    )
    if decision.outcome in (WriteOutcome.WRITTEN, WriteOutcome.UNCHANGED):
        assert decision.current is not None
        assert decision.current.last_modified is not None
        headers = {
            # RFC 9110 §9.3.4 allows a validator on a PUT answer only when the
            # body was stored without any transformation, which it was.
            "ETag": etag.to_header(),
            "Last-Modified": format_http_date(decision.current.last_modified),
        }
        # UNCHANGED: the state asked for was already in place (a retried or
        # an equal write); nothing was written, and that is success.
        status = 201 if decision.created else 200
        return Response(raw, status_code=status, media_type="application/json", headers=headers)
    return _refusal(request, decision, creating=True)


@router.delete(DOCUMENT_PATH, status_code=204, **openapi.DELETE_DOCUMENT)
async def delete_document(request: Request, collection: str, doc_id: str) -> Response:
    """Delete a document (If-Match required)."""
    check_name("collection", collection)
    check_name("document", doc_id)
    when = conditions(request)
    store = _store(request)
    decision = await arun_write(
        write_flow(
            "DELETE",
            when,
            requested=None,
            require_precondition=not _config(request).blind_writes,
        ),
        lambda: store.validators(collection, doc_id),
        lambda guard: store.delete(collection, doc_id, guard, _now_us()),
    )
    if decision.outcome is WriteOutcome.WRITTEN:
        return Response(status_code=204)
    return _refusal(request, decision, creating=False)


def _refusal(request: Request, decision: WriteDecision, *, creating: bool) -> Response:
    """Render a write flow that ended without writing."""
    current = decision.current.etag if decision.current is not None else None
    current_etag = current.to_header() if current is not None else None
    match decision.outcome:
        case WriteOutcome.NOT_FOUND:
            raise NotFound(f"nothing exists at {request.url.path}")
        case WriteOutcome.PRECONDITION_REQUIRED:
            raise PreconditionRequired(
                "this document exists: GET it and send its ETag in If-Match, so the write "
                "applies only to the version you read"
                + (
                    "; to create a document only if absent, send If-None-Match: *"
                    if creating
                    else ""
                )
            )
        case WriteOutcome.PRECONDITION_FAILED:
            if current is None:
                detail = "the document does not exist (If-Match needs a current version)"
            elif request.headers.get("if-none-match", "").strip() == "*":
                detail = "the document already exists (If-None-Match: *)"
            else:
                detail = (
                    f"the document has changed: its current ETag is {current_etag}; "
                    "GET it, re-apply your change and retry with that ETag"
                )
            raise PreconditionFailed(detail, current_etag=current_etag)
        case _:
            return problem_response(
                request,
                CONTENDED.problem("every attempt lost a race with another writer", retry_after=1),
                {"Retry-After": "1"},
            )


@router.post("/{collection}", status_code=201, **openapi.POST_DOCUMENT)
async def post_document(request: Request, collection: str) -> Response:
    """Create a document with a new id; its URL is in Location."""
    check_name("collection", collection)
    raw, _ = await read_document(request, _config(request).max_body)
    etag = ETag.from_content(raw)
    body = raw.decode("utf-8")
    store = _store(request)
    doc_id = uuid.uuid4().hex
    result = await store.put(collection, doc_id, body, etag.opaque, Guard(exists=False), _now_us())
    # 122 random bits: a clash would mean a broken random source, not bad luck.
    assert result.written
    assert result.current is not None
    assert result.current.last_modified is not None
    return Response(
        raw,
        status_code=201,
        media_type="application/json",
        headers={
            "Location": f"/v1/{collection}/{doc_id}",
            "ETag": etag.to_header(),
            "Last-Modified": format_http_date(result.current.last_modified),
        },
    )


@router.get("/{collection}", **openapi.LIST_DOCUMENTS)
async def list_documents(
    request: Request,
    collection: str,
    limit: Limit = 100,
    after: Annotated[str | None, Query(description="The last id of the previous page.")] = None,
) -> Response:
    """One page of a collection's documents, ordered by id."""
    check_name("collection", collection)
    docs = await _store(request).page(collection, after=after, limit=limit)
    items = [
        _item(
            {"id": d.id, "etag": f'"{d.etag}"', "last_modified": format_http_date(d.modified)},
            d.body,
        )
        for d in docs
    ]
    next_url = (
        f"/v1/{collection}?limit={limit}&after={quote(docs[-1].id, safe='')}"
        if len(docs) == limit
        else None
    )
    return _page(items, next_url)


@router.get(DOCUMENT_PATH + "/versions", **openapi.LIST_VERSIONS)
async def list_versions(
    request: Request,
    collection: str,
    doc_id: str,
    limit: Limit = 20,
    before: Annotated[
        int | None, Query(ge=1, description="Versions older than this version number.")
    ] = None,
) -> Response:
    """The document's history, newest first, deletions included."""
    check_name("collection", collection)
    check_name("document", doc_id)
    versions = await _store(request).versions(collection, doc_id, before=before, limit=limit)
    if versions is None:
        raise NotFound(f"no document {doc_id!r} in collection {collection!r}, ever")
    items = [_version_item(v) for v in versions]
    next_url = (
        f"/v1/{collection}/{doc_id}/versions?limit={limit}&before={versions[-1].version}"
        if len(versions) == limit and versions[-1].version > 1
        else None
    )
    return _page(items, next_url)


def _version_item(v: Version) -> str:
    meta = {
        "version": v.version,
        "etag": f'"{v.etag}"' if v.etag is not None else None,
        "last_modified": format_http_date(v.modified),
        "deleted": v.etag is None,
    }
    return _item(meta, v.body if v.body is not None else "null")


def _item(meta: Mapping[str, object], body: str) -> str:
    # The stored text is spliced in as is: it was validated as JSON when
    # written, and re-encoding it would cost a parse per item.
    return json.dumps(meta, separators=(",", ":"))[:-1] + ',"document":' + body + "}"


def _page(items: list[str], next_url: str | None) -> Response:
    content = '{"items":[' + ",".join(items) + '],"next":' + json.dumps(next_url) + "}"
    headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else None
    return Response(content, media_type="application/json", headers=headers)
