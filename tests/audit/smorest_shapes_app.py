"""Shapes of the flask-smorest stores tutorial, and a DRF price: decimals, immutable stores.

``/item`` has the shape of the flask-smorest stores tutorial's items
(tecladocode/rest-apis-flask-python): a POST of ``name``, ``price`` and
``store_id`` answers the item with its ``price`` as a float (``0`` sent,
``0.0`` kept: a SQLAlchemy Float dumped by marshmallow), its ``store``
nested and ``store_id`` never shown; a PUT takes ``name`` and ``price``
only and refuses any other member (marshmallow's "Unknown field.", 422).
``/recipes`` keeps the price as DRF's DecimalField shows it, a string
with two places (``"0"`` sent, ``"0.00"`` kept), and takes a PUT of any
of its members. Neither checks a version. The audit took neither for a
counter: "the API did not keep the counter 'price' (0)".

``/store`` has the tutorial's stores: a POST of ``name`` (unique; a
duplicate is a 400 "A store with that name already exists.", and any
member but ``name`` a 422), a GET and a DELETE of each, no PUT (405).
The audit sent no DELETE at all, for it could not change the store to
make a version stale, though a DELETE naming a made-up version deleted
it; and its race said only "POST /store -> 422", not that the member
refused was the counter it had added itself.

Run: ``uvicorn tests.audit.smorest_shapes_app:create_app --factory``.
"""

from __future__ import annotations

import decimal
import itertools
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.audit.envelope_app import json_object


def _unknown(body: dict[str, Any], allowed: tuple[str, ...]) -> Response | None:
    extra = {name: ["Unknown field."] for name in body if name not in allowed}
    if extra:
        return JSONResponse({"code": 422, "errors": {"json": extra}}, 422)
    return None


def create_app() -> Starlette:
    items: dict[int, dict[str, Any]] = {}
    recipes: dict[int, dict[str, Any]] = {}
    serial = itertools.count(1)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    def shown(item: dict[str, Any]) -> dict[str, Any]:
        store = {"id": item["store_id"], "name": f"store {item['store_id']}"}
        return {"id": item["id"], "name": item["name"], "price": item["price"], "store": store}

    async def item_list(request: Request) -> Response:
        body = await json_object(request) or {}
        refused = _unknown(body, ("name", "price", "store_id"))
        if refused is not None or not {"name", "price", "store_id"} <= body.keys():
            return refused or JSONResponse({"code": 422, "errors": {"json": {}}}, 422)
        number = next(serial)
        items[number] = {**body, "id": number, "price": float(body["price"])}
        return JSONResponse(shown(items[number]), 201)

    async def item(request: Request) -> Response:
        found = items.get(request.path_params["number"])
        if found is None:
            return JSONResponse({"code": 404, "status": "Not Found"}, 404)
        if request.method == "DELETE":
            del items[found["id"]]
            return JSONResponse({"message": "Item deleted."})
        if request.method == "PUT":
            body = await json_object(request) or {}
            refused = _unknown(body, ("name", "price"))
            if refused is not None:
                return refused
            found.update(body)
            found["price"] = float(found["price"])
        return JSONResponse(shown(found))

    def money(value: Any) -> str:
        return str(decimal.Decimal(str(value)).quantize(decimal.Decimal("0.01")))

    async def recipe_list(request: Request) -> Response:
        body = await json_object(request) or {}
        number = next(serial)
        recipes[number] = {"title": body.get("title", ""), "price": money(body.get("price", 0))}
        recipes[number]["id"] = number
        return JSONResponse(recipes[number], 201)

    async def recipe(request: Request) -> Response:
        found = recipes.get(request.path_params["number"])
        if found is None:
            return JSONResponse({"detail": "Not found."}, 404)
        if request.method == "DELETE":
            del recipes[found["id"]]
            return Response(status_code=204)
        if request.method == "PUT":
            body = await json_object(request) or {}
            found["title"] = body.get("title", found["title"])
            found["price"] = money(body.get("price", found["price"]))
        return JSONResponse(found)

    stores: dict[int, dict[str, Any]] = {}

    async def store_list(request: Request) -> Response:
        body = await json_object(request) or {}
        refused = _unknown(body, ("name",))
        if refused is not None:
            return refused
        if any(store["name"] == body.get("name") for store in stores.values()):
            return JSONResponse({"message": "A store with that name already exists."}, 400)
        number = next(serial)
        stores[number] = {"id": number, "name": body.get("name"), "items": [], "tags": []}
        return JSONResponse(stores[number], 201)

    async def store(request: Request) -> Response:
        found = stores.get(request.path_params["number"])
        if found is None:
            return JSONResponse({"code": 404, "status": "Not Found"}, 404)
        if request.method == "DELETE":
            del stores[found["id"]]
            return JSONResponse({"message": "Store deleted"})
        return JSONResponse(found)

    return Starlette(
        routes=[
            Route("/store", store_list, methods=["POST"]),
            Route("/store/{number:int}", store, methods=["GET", "DELETE"]),
            Route("/healthz", healthz),
            Route("/item", item_list, methods=["POST"]),
            Route("/item/{number:int}", item, methods=["GET", "PUT", "DELETE"]),
            Route("/recipes/", recipe_list, methods=["POST"]),
            Route("/recipes/{number:int}/", recipe, methods=["GET", "PUT", "DELETE"]),
        ]
    )
