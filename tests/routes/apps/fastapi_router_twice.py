"""A FastAPI app including one router twice under the same prefix.

An app's main module includes the items router, and so does the module
that gathers its API routers: every route of the router is registered
twice, one handler, file and line on both sides. The second copy is
never served, and the OpenAPI document describes the same handler the
requests reach: a duplicate, not a document that misleads.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

items = APIRouter()


@items.get("/items/{item_id}")
def read_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


@items.put("/items/{item_id}")
def replace_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


app = FastAPI()
app.include_router(items, prefix="/v1")
app.include_router(items, prefix="/v1")
