"""PATCH /v1/{collection}/{id}: patch the version If-Match names, or rebase the patch when asked.

The algorithm is the core's `patch_flow`: a stale If-Match is a 412, unless
the client sent ``Prefer: rebase``; then a patch that touches nothing
changed since its base (a version still in the document's history) is
applied to the current document, the answer naming its base in
``Rebased-From`` and the preference in ``Preference-Applied``, and one that
does is a 409 ``merge-conflict`` listing each clash. This module only
translates: the store's primitives do the I/O, and documents are JSON
objects, stored as compact UTF-8 text.

Both patch formats are accepted: JSON Merge Patch (RFC 7396) and JSON Patch
(RFC 6902).
"""

from __future__ import annotations

import json
import time

from starlette.requests import Request
from starlette.responses import Response

from .. import (
    Base,
    ETag,
    InvalidDocument,
    Patch,
    PatchOutcome,
    Snapshot,
    WriteDocument,
    WriteResult,
    arun_patch,
    content_type_of,
    format_http_date,
    json_type,
    parse_stored_document,
    patch_flow,
    patch_refusal,
    prefers_rebase,
    rebase_fields,
)
from ..storage import DocumentStore, from_micros
from .config import ServiceConfig
from .keys import KeyedWrite
from .requests import check_name, conditions, read_body
from .unique_values import check_unique_fields


async def patch_document(request: Request) -> Response:
    """Apply a merge patch or a JSON Patch; rebase it when its If-Match is stale and it asks."""
    params = request.path_params
    collection = check_name("collection", params["collection"])
    doc_id = check_name("document", params["doc_id"])
    when = conditions(request)
    config: ServiceConfig = request.app.state.config
    store: DocumentStore = request.app.state.store
    # The patched document is held to the body limit too, as it is built.
    patch = Patch.parse(
        content_type_of(request.headers.getlist("content-type")),
        await read_body(request, config.max_body),
        max_bytes=config.max_body,
    )
    rebase = prefers_rebase(request.headers.getlist("prefer"))
    now_us = time.time_ns() // 1000
    # The text last read and the text last written: what an answer shows.
    seen: list[bytes] = [b""]
    written: list[bytes] = [b""]

    async def read() -> Snapshot | None:
        doc = await store.get(collection, doc_id)
        if doc is None:
            return None
        seen[0] = doc.body
        return Snapshot(doc.validators, parse_stored_document(doc.body))

    async def read_base(tags: tuple[str, ...]) -> Base | None:
        for tag in tags:
            body = await store.version_body(collection, doc_id, tag)
            if body is not None:
                return Base(tag, parse_stored_document(body))
        return None

    keyed = KeyedWrite.of(request)

    async def write(command: WriteDocument) -> WriteResult:
        raw = written[0] = _text(command.document)
        await check_unique_fields(request, collection, command.document)
        etag = ETag.from_content(raw)

        def answer(result: WriteResult) -> tuple[int, dict[str, str], bytes]:
            return 200, _headers(raw, now_us // 1_000_000, command.rebased_from), raw

        completion = keyed.completion(answer)
        return await keyed.run(
            store.put(
                collection, doc_id, raw, etag.opaque, command.guard, now_us, completion=completion
            )
        )

    decision = await arun_patch(
        patch_flow(
            when,
            patch,
            rebase=rebase,
            require_precondition=not config.blind_writes,
            now=from_micros(now_us),
        ),
        read,
        read_base,
        write,
    )
    error = patch_refusal(decision, when)
    if error is not None:
        raise error
    # UNCHANGED: the patch changes nothing, and the stored text stands.
    raw = written[0] if decision.outcome is PatchOutcome.WRITTEN else seen[0]
    assert decision.current is not None
    assert decision.current.last_modified is not None
    seconds = int(decision.current.last_modified.timestamp())
    return Response(raw, headers=_headers(raw, seconds, decision.rebased_from))


def _headers(raw: bytes, modified: int, rebased_from: str | None) -> dict[str, str]:
    """The header fields of a patch's answer (the document as patched)."""
    headers = {
        "Content-Type": "application/json",
        "ETag": ETag.from_content(raw).to_header(),
        "Last-Modified": format_http_date(modified),
        "Cache-Control": "no-cache",
    }
    return {**headers, **rebase_fields(rebased_from)}


def _text(document: object) -> bytes:
    """A patched document as stored: a JSON object, compact UTF-8 (422 for anything else)."""
    if not isinstance(document, dict):
        raise InvalidDocument(
            f"the patched document would be a JSON {json_type(document)}; documents are objects"
        )
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
