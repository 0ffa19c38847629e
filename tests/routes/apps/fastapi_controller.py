"""A FastAPI router in mealie's shape: one class of handlers per kind of organizer, under a
long prefix, its item route declared before a literal one.

mealie showed that an 80-column report (a CI log, a pipe) cut the paths, the handlers and
their file:line with an ellipsis: where the route that is never served lives was written
nowhere in the text.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, FastAPI

router = APIRouter(prefix="/api/organizers/categories")


class RecipeCategoryController:
    """The handlers of one organizer, as methods (mealie binds them to a class-based router)."""

    @staticmethod
    def get_all() -> list[str]:
        return []

    @staticmethod
    def get_one(item_id: UUID) -> str:
        return str(item_id)

    @staticmethod
    def get_all_empty() -> list[str]:
        return []


# In declaration order: "/empty" comes after the item route, whose str path
# parameter takes it (the UUID is checked after routing: a 422).
router.add_api_route("", RecipeCategoryController.get_all, methods=["GET"])
router.add_api_route("/{item_id}", RecipeCategoryController.get_one, methods=["GET"])
router.add_api_route("/empty", RecipeCategoryController.get_all_empty, methods=["GET"])

app = FastAPI()
app.include_router(router)
