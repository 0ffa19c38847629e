"""PATCH /v1/{collection}/{id}: apply a change, merging it when it was made from an older version.

Theory of operation. A PATCH names the version it was made from in
If-Match. When that is the current version, the patch is applied to it.
When it is not, the service does not simply refuse (as a PUT must, since a
whole-document replacement from an old version would drop what was written
since): if the old version is still in the document's history, it compares
what the patch touches with what changed since that version. A patch whose
pointers do not overlap the changes is applied to the current document (a
rebase; the answer's ``Rebased-From`` header names the version it was made
from); overlapping pointers are a 409 ``merge-conflict`` listing, for each,
the value in the base, the current value and the requested one. Overlaps
are no conflict only when the whole patch is already in place (a retry
whose first answer was lost: 200, nothing written); an overlap whose value
merely happens to equal the requested one, beside other changes, is one
(two clients that read 3 and both write 4 made two increments). A base no
longer in the history is a 412, as for a PUT.

Both patch formats are accepted: JSON Merge Patch (RFC 7396) and JSON Patch
(RFC 6902). For a JSON Patch the pointers of its ``test`` operations (and
``copy`` sources) count as touched, since the patch depends on their values.

Every write is pinned to the version the merge was computed against
(`Guard.pinned`), so a concurrent writer cannot slip in between: a write
that loses the race is computed again against the new current version,
from the same base, a bounded number of times (then 503).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from .._errors import InvalidDocument, MergeConflict, NotFound, PreconditionFailed
from .._errors import PreconditionRequired as Required
from .._etag import ETag
from .._httpdate import format_http_date
from .._json_diff import changed_pointers
from .._json_patch import (
    JsonPatchError,
    apply_json_patch,
    pointers_read_by_json_patch,
    pointers_touched_by_json_patch,
)
from .._json_pointer import JsonPointer, PointerNotFound
from .._json_value import MISSING, Json, json_equal, json_type
from .._media import parse_json, require_media_type
from .._merge3 import Conflict
from .._merge_patch import apply_merge_patch, pointers_touched_by_merge_patch
from .._preconditions import Conditions, Decision, evaluate
from .._problem import CONTENDED
from .._write import Guard
from ..storage import Document, DocumentStore
from .config import ServiceConfig
from .problems import problem_response
from .requests import check_name, conditions, read_body

MERGE_PATCH: Final = "application/merge-patch+json"
JSON_PATCH: Final = "application/json-patch+json"
PATCH_TYPES: Final = (MERGE_PATCH, JSON_PATCH)
#: The answer's header naming the version a merged patch was made from.
REBASED_FROM: Final = "Rebased-From"
ATTEMPTS: Final = 8


@dataclass(frozen=True, slots=True)
class Change:
    """A patch in one of the two formats."""

    media_type: str
    patch: Json

    @classmethod
    def read(cls, media_type: str, body: bytes) -> Change:
        """The patch of a request body; 400 for malformed JSON or a malformed JSON Patch."""
        change = cls(media_type, parse_json(body))
        if media_type == JSON_PATCH:
            pointers_touched_by_json_patch(change.patch)  # checks every operation: 400
        return change

    def apply(self, document: Json) -> Json:
        """The document after the patch: 409 for a failed test or a missing location."""
        if self.media_type == JSON_PATCH:
            return apply_json_patch(document, self.patch)
        return apply_merge_patch(document, self.patch)

    def touched(self, base: Json) -> frozenset[JsonPointer]:
        """The pointers whose values the patch sets, removes or depends on."""
        if self.media_type == JSON_PATCH:
            return pointers_touched_by_json_patch(self.patch) | pointers_read_by_json_patch(
                self.patch
            )
        return pointers_touched_by_merge_patch(self.patch, target=base)


async def patch_document(request: Request) -> Response:
    """Apply a merge patch or a JSON Patch; merge it when its If-Match is stale."""
    params = request.path_params
    collection = check_name("collection", params["collection"])
    doc_id = check_name("document", params["doc_id"])
    when = conditions(request)
    config: ServiceConfig = request.app.state.config
    store: DocumentStore = request.app.state.store
    media_type = require_media_type(request.headers.get("content-type"), PATCH_TYPES)
    change = Change.read(media_type, await read_body(request, config.max_body))
    base: tuple[str, Json] | None = None  # the stale version a merge starts from
    for _ in range(ATTEMPTS):
        doc = await store.get(collection, doc_id)
        if doc is None:
            raise NotFound(f"no document {doc_id!r} in collection {collection!r}")
        current = json.loads(doc.body)
        decision = evaluate(
            "PATCH", when, doc.validators, require_precondition=not config.blind_writes
        )
        if decision is Decision.PRECONDITION_REQUIRED:
            raise Required(
                "this document exists: GET it and send its ETag in If-Match with the patch, "
                "so the service knows which version your change was made from"
            )
        if decision is Decision.PROCEED and base is None:
            result = change.apply(current)
        else:
            base = base or await _base(store, doc, when)
            result = _rebase(change, base[1], current, doc)
        answer = await _store_result(store, doc, result, base)
        if answer is not None:
            return answer
        # Another write landed between the read and this one: merge again
        # against it, from the version the request named.
    return problem_response(
        request,
        CONTENDED.problem("every attempt lost a race with another writer", retry_after=1),
        {"Retry-After": "1"},
    )


async def _base(store: DocumentStore, doc: Document, when: Conditions) -> tuple[str, Json]:
    """The stale version If-Match names, from the history; 412 when there is none to merge from."""
    current_etag = f'"{doc.etag}"'
    tags = when.if_match.tags if when.if_match is not None else ()
    strong = [tag for tag in tags if not tag.weak]
    if when.if_none_match is not None or when.if_match is None or not strong:
        raise PreconditionFailed(
            f"the document's current ETag is {current_etag}, not the one If-Match names",
            current_etag=current_etag,
        )
    for tag in strong:
        body = await store.version_body(doc.collection, doc.id, tag.opaque)
        if body is not None:
            return tag.opaque, json.loads(body)
    raise PreconditionFailed(
        f"the version If-Match names is no longer in the document's history, so your change "
        f"cannot be merged: GET the document (its ETag is {current_etag}), re-apply your "
        "change and retry",
        current_etag=current_etag,
    )


def _rebase(change: Change, base: Json, current: Json, doc: Document) -> Json:
    """The patch made from `base` applied to `current`, or 409 where their changes overlap."""
    requested = change.apply(base)
    changed = changed_pointers(base, current)
    touched = change.touched(base)
    clashes = {
        min(t, c, key=lambda p: len(p.tokens)) for t in touched for c in changed if t.overlaps(c)
    }
    conflicts = [
        Conflict(pointer, _at(base, pointer), _at(current, pointer), _at(requested, pointer))
        for pointer in sorted(clashes)
    ]
    if conflicts and _in_place(change, current):
        # The whole change is in place (a retry whose first answer was lost):
        # nothing to write, and that is success (RFC 9110 §13.1.1). Only the
        # whole: two clients that both read 3 and both set 4 plus a field of
        # their own made two increments, and the second must hear of the first.
        return current
    if conflicts:
        listed = ", ".join(str(c.pointer) or '""' for c in conflicts)
        raise MergeConflict(
            f"since the version your change was made from, {listed} changed here too",
            conflicts=[c.to_json() for c in conflicts],
            current_etag=f'"{doc.etag}"',
        )
    return change.apply(current)


async def _store_result(
    store: DocumentStore, doc: Document, result: Json, base: tuple[str, Json] | None
) -> Response | None:
    """Write `result` if `doc` is still current; None when another write came first."""
    if not isinstance(result, dict):
        raise InvalidDocument(
            f"the patched document would be a JSON {json_type(result)}; documents are objects"
        )
    raw = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode()
    etag = ETag.from_content(raw)
    headers = {"ETag": etag.to_header(), "Cache-Control": "no-cache"}
    if base is not None:
        headers[REBASED_FROM] = f'"{base[0]}"'
    if etag.opaque == doc.etag:
        # Nothing changes: the state asked for is in place (RFC 9110 §13.1.1).
        headers["Last-Modified"] = format_http_date(doc.modified_us // 1_000_000)
        return Response(raw, media_type="application/json", headers=headers)
    now_us = time.time_ns() // 1000
    written = await store.put(
        doc.collection, doc.id, raw, etag.opaque, Guard.pinned(doc.validators), now_us
    )
    if not written.written:
        return None
    headers["Last-Modified"] = format_http_date(now_us // 1_000_000)
    return Response(raw, media_type="application/json", headers=headers)


def _in_place(change: Change, current: Json) -> bool:
    """Whether applying the change to `current` would change nothing."""
    try:
        return json_equal(change.apply(current), current)
    except JsonPatchError:  # its test fails, or a location is missing: not in place
        return False


def _at(document: Json, pointer: JsonPointer) -> Json:
    try:
        return pointer.resolve(document)
    except PointerNotFound:
        return MISSING
