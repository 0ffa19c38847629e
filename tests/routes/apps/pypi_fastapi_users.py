"""FastAPI Users (from PyPI): its auth, register, reset, verify and users routers.

Its users router declares ``/me`` and ``/{id}`` on one prefix: it must
put ``/me`` first, or "me" would be taken as an id (fastapi#5543's kin).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


class UserManager(UUIDIDMixin, BaseUserManager[Any, uuid.UUID]):
    reset_password_token_secret = "tests-only"  # noqa: S105  # nothing here signs anything
    verification_token_secret = "tests-only"  # noqa: S105  # likewise


async def get_user_manager() -> AsyncIterator[UserManager]:
    yield UserManager(None)  # type: ignore[arg-type]  # no database: routes only


def get_jwt_strategy() -> JWTStrategy[Any, uuid.UUID]:
    return JWTStrategy(secret="tests-only-" * 4, lifetime_seconds=3600)


backend = AuthenticationBackend(
    name="jwt", transport=BearerTransport(tokenUrl="auth/jwt/login"), get_strategy=get_jwt_strategy
)
users = FastAPIUsers[Any, uuid.UUID](get_user_manager, [backend])

app = FastAPI()
app.include_router(users.get_auth_router(backend), prefix="/auth/jwt")
app.include_router(users.get_register_router(UserRead, UserCreate), prefix="/auth")
app.include_router(users.get_reset_password_router(), prefix="/auth")
app.include_router(users.get_verify_router(UserRead), prefix="/auth")
app.include_router(users.get_users_router(UserRead, UserUpdate), prefix="/users")
