"""The values a write may give a collection's unique fields (`httpconflict.check_unique_values`).

Every write that sets a document's body (PUT, POST, either kind of PATCH,
rebased or not) holds it to the collection's unique keys before the store
writes it: a field of a key holding an object, an array, an integer beyond
±2^53 or a number of more than 15 significant digits is a 422, because
SQLite and PostgreSQL would tell such values apart differently. The keys
are the worker's copy (`kept`): a declaration made through another worker
holds here within a second. A write in that second that gives a newly
declared field such a value is stored, but no duplicate can come of it:
every later write of such a value is refused before it reaches the index.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request

from .. import check_unique_values
from ..storage import DocumentStore, UniqueKey
from .kept import Kept

KeptKeys = Kept[tuple[UniqueKey, ...]]


def kept_keys(store: DocumentStore) -> KeptKeys:
    """A worker's copy of each collection's unique keys."""
    return Kept(store.unique_keys)


async def check_unique_fields(
    request: Request, collection: str, document: Mapping[str, object]
) -> None:
    """Raise the 422 if `document` gives a unique field of `collection` a value stores compare
    differently."""
    kept: KeptKeys = request.app.state.unique_keys
    keys = await kept.get(collection)
    if keys:
        check_unique_values(document, keys)


def forget_keys(request: Request, collection: str) -> None:
    """This worker reads the collection's keys again (they were just declared)."""
    kept: KeptKeys = request.app.state.unique_keys
    kept.forget(collection)
