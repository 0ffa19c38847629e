"""A FastAPI app whose routes look alike but are all served: nothing to report."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, FastAPI

app = FastAPI()


# An int path convertor cannot match "me".
@app.get("/users/{user_id:int}")
def get_user(user_id: int) -> int:
    return user_id


@app.get("/users/me")
def get_me() -> str:
    return "me"


# Nor can a uuid match "latest".
@app.get("/orders/{order_id:uuid}")
def get_order(order_id: uuid.UUID) -> str:
    return str(order_id)


@app.get("/orders/latest")
def latest_order() -> str:
    return "latest"


# Different methods on one path.
@app.get("/things")
def list_things() -> list[str]:
    return []


@app.post("/things")
def create_thing() -> str:
    return "created"


# GET and HEAD declared separately: FastAPI adds no HEAD to GET.
@app.get("/notes/{note_id}")
@app.head("/notes/{note_id}")
def get_note(note_id: int) -> int:
    return note_id


# A partial overlap: ints go to the first, other names to the second.
@app.get("/tags/{tag_id:int}")
def get_tag(tag_id: int) -> int:
    return tag_id


@app.get("/tags/{name}")
def get_tag_by_name(name: str) -> str:
    return name


# The literal route first, then the parameter.
v1 = APIRouter(prefix="/v1")


@v1.get("/accounts/current")
def current_account() -> str:
    return "current"


@v1.get("/accounts/{account_id}")
def get_account(account_id: str) -> str:
    return account_id


app.include_router(v1)
