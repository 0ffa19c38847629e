"""A FastAPI app with one problem of each kind (the comments say which)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def admin_home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("admin")


app = FastAPI()


# fastapi#5543: served by list_items, documented as list_items_v2.
@app.get("/items")
def list_items() -> list[str]:
    return []


@app.get("/items")
def list_items_v2(limit: int = 10) -> list[str]:
    return []


# A duplicate the OpenAPI document does not show: a plain duplicate.
@app.get("/reports")
def reports() -> str:
    return "reports"


@app.get("/reports", include_in_schema=False)
def reports_legacy() -> str:
    return "legacy"


# user_id is an int to FastAPI, but the path says {user_id}: "me" goes to get_user (422).
@app.get("/users/{user_id}")
def get_user(user_id: int) -> int:
    return user_id


@app.get("/users/me")
def get_me() -> str:
    return "me"


# A catch-all path parameter takes the literal route after it.
@app.get("/files/{file_path:path}")
def get_file(file_path: str) -> str:
    return file_path


@app.get("/files/index")
def files_index() -> str:
    return "index"


# Across include_router: the router's {order_id} comes first.
orders = APIRouter(prefix="/orders")


@orders.get("/{order_id}")
def get_order(order_id: str) -> str:
    return order_id


app.include_router(orders)


@app.get("/orders/latest")
def latest_order() -> str:
    return "latest"


# A mounted app takes every path under /admin, /admin/stats too.
app.mount("/admin", Starlette(routes=[Route("/", admin_home)]))


@app.get("/admin/stats")
def admin_stats() -> str:
    return "stats"
