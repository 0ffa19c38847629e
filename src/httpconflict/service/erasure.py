"""Purging deletes: ``DELETE /v1/{c}/{id}?purge=true`` erases a document's history with it.

A plain delete leaves the document's history readable at /versions (its
bodies included) until the history or the tombstone's retention runs out.
A purging delete removes the history in the same transaction as the
delete: from then on every endpoint answers as for a document never
created (GET 404, /versions 404, list pages without it). The tombstone
row alone stays, with no body and no entity-tag, so that version numbers
never repeat. The same request on a document already deleted erases the
history its tombstone kept (no precondition: there is no current version
to name), and 404 once nothing is left.

Erasing is the admin right's: a writer may delete, but only an admin
may make the past unreadable. An admin may also make it the collection's
rule (``{"purge_on_delete": true}`` in its settings): then every delete
there purges, whoever sends it (a plain DELETE is enough: ``?purge=true``
still needs admin), and ``?purge=false`` keeps nothing.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from .. import InvalidParameter, NotFound
from ..storage import DocumentStore
from .requests import query_value

#: The query parameter that asks a DELETE to purge.
PURGE: Final = "purge"
_VALUES: Final = {"true": True, "false": False}


async def purge_wanted(request: Request, store: DocumentStore, collection: str) -> bool:
    """Whether this DELETE purges: asked for, or the collection's rule.

    The admin right a purge asked for needs is checked before the handler
    runs (`authorization.needed_right`).
    """
    asked = purge_requested(request)
    return asked or await store.purges_on_delete(collection)


def purge_requested(request: Request) -> bool:
    """Whether the request asks for a purge (``?purge=true``); 400 for another value."""
    raw = query_value(request, PURGE)
    if raw is None:
        return False
    asked = _VALUES.get(raw)
    if asked is None:
        raise InvalidParameter(f"{PURGE} must be true or false, not {raw[:40]!r}", parameter=PURGE)
    return asked


async def erase_deleted(store: DocumentStore, collection: str, doc_id: str) -> Response | None:
    """Erase the history of a document already deleted: 204, 404 if none is kept.

    None if the document is current: the purging delete proper handles it.
    """
    if await store.validators(collection, doc_id) is not None:
        return None
    if await store.erase(collection, doc_id):
        return Response(status_code=204)
    raise NotFound(f"no document {doc_id!r} in collection {collection!r}")
