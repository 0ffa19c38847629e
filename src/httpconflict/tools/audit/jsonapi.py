"""JSON:API resources (``application/vnd.api+json``) as the checks see them.

A JSON:API answer keeps the resource in ``data``: its ``id``, its
``type``, its fields in ``attributes`` and, in ``meta``, what the server
says of it (a version, often). The checks read and write flat objects:
a resource is read as its attributes plus ``id`` and each ``meta`` member
as ``meta.NAME``, so a version the server keeps in ``meta`` is learned
like any member it changes by itself; and a flat body is written back as
``{"data": {"type", "id", "attributes", "meta"}}``, the ``meta.`` members
into ``meta``. The type is the one the ``--body`` template names: a
template given as a JSON:API document (``{"data": {"type": "notes",
"attributes": {...}}}``) is what says the API speaks JSON:API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

MEDIA_TYPE: Final = "application/vnd.api+json"
#: The prefix of a ``meta`` member in a flat resource.
META: Final = "meta."


def template_type(body: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The type and attributes of a ``--body`` given as a JSON:API document; else None."""
    data = body.get("data") if len(body) == 1 else None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return None
    attributes = data.get("attributes", {})
    if not isinstance(attributes, dict) or set(data) - {"type", "attributes"}:
        return None
    return data["type"], dict(attributes)


def flatten(value: Any, id_field: str) -> dict[str, Any] | None:
    """The resource of a JSON:API document as one flat object; None when it holds none
    (an error document is read whole by the caller)."""
    if not isinstance(value, dict):
        return None
    data = value.get("data")
    if not isinstance(data, dict) or "type" not in data:
        return None
    attributes = data.get("attributes")
    flat: dict[str, Any] = dict(attributes) if isinstance(attributes, dict) else {}
    if "id" in data:
        flat[id_field] = data["id"]
    meta = data.get("meta")
    if isinstance(meta, dict):
        flat.update({META + name: member for name, member in meta.items()})
    return flat


def document(
    body: Mapping[str, Any], kind: str, item_id: str | None, id_field: str
) -> dict[str, Any]:
    """A flat body as the JSON:API document that writes it (``id`` only for an item)."""
    attributes = {
        name: value
        for name, value in body.items()
        if name != id_field and not name.startswith(META)
    }
    data: dict[str, Any] = {"type": kind}
    if item_id is not None:
        data["id"] = item_id
    data["attributes"] = attributes
    meta = {name[len(META) :]: value for name, value in body.items() if name.startswith(META)}
    if meta:
        data["meta"] = meta
    return {"data": data}
