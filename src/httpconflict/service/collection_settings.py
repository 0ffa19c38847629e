"""A collection's settings: /v1/_collections/{collection}, its unique keys and access rules.

``PUT`` replaces the settings as a whole (``{"unique": ["email",
["tenant", "slug"]], "access": {"read": ["role:staff"]}}``) and ``GET``
reads them. The store makes each key a unique index, so a duplicate write
is refused by the database itself and answered 409 unique-violation naming
the fields (`ConstraintViolated`). ``access`` (optional; left out, the
collection has no rules of its own) grants rights on the collection on top
of the service's grants (see `_access`). Changing either needs the admin
right; the rules are shown to admins only.
"""

from __future__ import annotations

import json
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import InvalidDocument
from ..access import AccessRules, Right
from ..storage import DocumentStore, UniqueKey, format_unique_keys, parse_unique_keys
from .authorization import held_right
from .config import ServiceConfig
from .problems import MethodNotAllowed
from .requests import check_name, read_document

SETTINGS: Final = "/v1/_collections/{collection}"
#: Every delete in the collection purges the document's history (see `erasure`).
PURGE_ON_DELETE: Final = "purge_on_delete"
ALLOW: Final = "GET, HEAD, PUT"


def _store(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.store
    return store


def _collection(request: Request) -> str:
    return check_name("collection", request.path_params["collection"])


async def get_settings(request: Request) -> Response:
    """The collection's settings; one never declared has no unique keys (and no rules)."""
    collection = _collection(request)
    store = _store(request)
    keys = await store.unique_keys(collection)
    purge = await store.purges_on_delete(collection)
    if held_right(request.scope) < Right.ADMIN:
        return _declaration(collection, keys, purge=purge)
    return _declaration(collection, keys, await store.access_rules(collection), purge=purge)


async def put_settings(request: Request) -> Response:
    """Replace the collection's settings (409 if stored documents already collide on a key)."""
    collection = _collection(request)
    config: ServiceConfig = request.app.state.config
    _, settings = await read_document(request, config.max_body)
    for member in settings:
        if member not in ("unique", "access", PURGE_ON_DELETE):
            raise InvalidDocument(
                f"unknown member {member!r}: "
                'the settings of a collection are "unique", "access" and "purge_on_delete"',
                member=member,
            )
    if "unique" not in settings:
        raise InvalidDocument(
            'the settings need "unique": a list of field names or lists of them',
            member="unique",
        )
    keys = parse_unique_keys(settings["unique"])
    rules = AccessRules.from_json(settings["access"]) if "access" in settings else None
    purge = settings.get(PURGE_ON_DELETE, False)
    if not isinstance(purge, bool):
        raise InvalidDocument(
            '"purge_on_delete" is true or false (left out: false)', member=PURGE_ON_DELETE
        )
    store = _store(request)
    # Rules checked before anything is written: a bad one changes nothing.
    declared = await store.declare_unique(collection, keys)
    await store.set_access_rules(collection, rules)
    await store.set_purge_on_delete(collection, purge)
    return _declaration(collection, declared, rules, purge=purge)


def _declaration(
    collection: str,
    keys: tuple[UniqueKey, ...],
    access: AccessRules | None = None,
    *,
    purge: bool = False,
) -> Response:
    """The settings' JSON, as PUT takes it; `access` and `purge_on_delete` only when set.

    `access` is left out when there are none, or none to show.
    """
    body: dict[str, object] = {"collection": collection, "unique": format_unique_keys(keys)}
    if access is not None:
        body["access"] = access.to_json()
    if purge:
        body[PURGE_ON_DELETE] = True
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


ROUTES: Final = [
    Route(SETTINGS, get_settings, methods=["GET"]),
    Route(SETTINGS, put_settings, methods=["PUT"]),
    # No method list: every other method of this path ends here, before the
    # document routes (whose path this one also fits) can take it.
    Route(SETTINGS, MethodNotAllowed(ALLOW)),
]
