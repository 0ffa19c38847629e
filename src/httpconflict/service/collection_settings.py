"""A collection's settings: /v1/_collections/{collection}, its unique keys and access rules.

``PUT`` replaces the settings as a whole (``{"unique": ["email",
["tenant", "slug"]], "access": {"read": ["role:staff"]}}``) and ``GET``
reads them. The store makes each key a unique index, so a duplicate write
is refused by the database itself and answered 409 unique-violation naming
the fields (`ConstraintViolated`). ``access`` (optional; left out, the
collection has no rules of its own) grants rights on the collection on top
of the service's grants (see `_access`). Changing either needs the admin
right; the rules are shown to admins only.

The settings have an ETag (of the JSON an admin reads), and a ``PUT`` with
If-Match or If-None-Match is checked against the settings in force inside
the store's transaction that replaces them (`replace_settings`): two admins
editing from what they read cannot both win, the later is a 412 naming the
current ETag. A ``PUT`` with no precondition replaces them as before.
"""

from __future__ import annotations

import json
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import Decision, ETag, InvalidDocument, Validators, evaluate, precondition_failed
from ..access import AccessRules, Right
from ..storage import CollectionSettings, DocumentStore, format_unique_keys, parse_unique_keys
from .authorization import held_right
from .caching import not_modified
from .config import ServiceConfig
from .problems import MethodNotAllowed
from .requests import JSON, check_name, conditions, read_document
from .unique_values import forget_keys

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
    settings = await _store(request).collection_settings(collection)
    admin = held_right(request.scope) >= Right.ADMIN
    body = _declaration(collection, settings, show_access=admin)
    headers = {"ETag": ETag.from_content(body).to_header()}
    if (answer := not_modified(request, headers)) is not None:
        return answer
    return Response(body, media_type=JSON, headers=headers)


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
    when = conditions(request)

    def check(current: CollectionSettings) -> None:
        # Under the lock every replacement holds: no other one comes between.
        validators = Validators(etag=ETag.from_content(_declaration(collection, current)))
        if evaluate("PUT", when, validators) is Decision.PRECONDITION_FAILED:
            raise precondition_failed(validators, when)

    # Rules checked before anything is written: a bad one changes nothing.
    wanted = CollectionSettings(keys, rules, purge)
    try:
        stored = await _store(request).replace_settings(
            collection, wanted, check=check if when.present else None
        )
    finally:
        # This worker holds writes to the keys in force from the next one on.
        forget_keys(request, collection)
    body = _declaration(collection, stored)
    headers = {"ETag": ETag.from_content(body).to_header()}
    return Response(body, media_type=JSON, headers=headers)


def _declaration(
    collection: str, settings: CollectionSettings, *, show_access: bool = True
) -> bytes:
    """The settings' JSON, as PUT takes it; `access` and `purge_on_delete` only when set.

    `access` is left out when there are none, or none to show.
    """
    body: dict[str, object] = {
        "collection": collection,
        "unique": format_unique_keys(settings.unique),
    }
    if settings.access is not None and show_access:
        body["access"] = settings.access.to_json()
    if settings.purge_on_delete:
        body[PURGE_ON_DELETE] = True
    return json.dumps(body, separators=(",", ":")).encode()


ROUTES: Final = [
    Route(SETTINGS, get_settings, methods=["GET"]),
    Route(SETTINGS, put_settings, methods=["PUT"]),
    # No method list: every other method of this path ends here, before the
    # document routes (whose path this one also fits) can take it.
    Route(SETTINGS, MethodNotAllowed(ALLOW)),
]
