"""A naive FastAPI app, as its tutorial writes one: no ETags, no preconditions.

Items live in a dict. The collection is ``/items/`` (a POST to ``/items``
gets FastAPI's 307 to it), an item is ``/items/{item_id}`` without the
slash (a GET of ``/items/1/`` gets 307 to it). ``PUT`` replaces whatever
is there, ``DELETE`` deletes, neither asks which version the client
read; every await between the read and the write lets another request in.

Run: ``uvicorn tests.audit.naive_fastapi:create_app --factory``.
"""

from __future__ import annotations

import itertools
from typing import Any

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel


class Item(BaseModel):
    title: str
    count: int = 0
    #: A string field, as real apps' items have (a counter can live there too).
    description: str | None = None


def create_app() -> FastAPI:
    app = FastAPI()
    items: dict[int, dict[str, Any]] = {}
    serial = itertools.count(1)

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/items/", status_code=201)
    async def create_item(item: Item) -> dict[str, Any]:
        item_id = next(serial)
        items[item_id] = {"id": item_id, **item.model_dump()}
        return items[item_id]

    @app.get("/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, Any]:
        if item_id not in items:
            raise HTTPException(status_code=404, detail="Item not found")
        return items[item_id]

    @app.put("/items/{item_id}")
    async def update_item(item_id: int, item: Item) -> dict[str, Any]:
        if item_id not in items:
            raise HTTPException(status_code=404, detail="Item not found")
        items[item_id] = {"id": item_id, **item.model_dump()}
        return items[item_id]

    @app.delete("/items/{item_id}", status_code=204)
    async def delete_item(item_id: int) -> Response:
        if items.pop(item_id, None) is None:
            raise HTTPException(status_code=404, detail="Item not found")
        return Response(status_code=204)

    return app
