"""Django as an ASGI app, inside httpconflict's Idempotency-Key middleware.

The middleware is plain ASGI, so it wraps Django as it wraps any app: a
retried ``POST /v1/orders``, or a retried ``PUT`` or ``DELETE`` of a note,
with the same Idempotency-Key gets the first answer again
(``Idempotent-Replayed: true``) instead of a second order or a 412 for the
write the client made itself. An order records its answer itself, in its
own transaction (a transactional policy: views.py); the other writes have
theirs recorded by the middleware, in the same ``idempotency_keys`` table.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from django.core.asgi import get_asgi_application

from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy, Scope
from httpconflict.storage.idempotency import IdempotencyStore, idempotency_store

#: POST /v1/orders records its own answer, with the order.
ORDERS = IdempotencyPolicy(transactional=True)
#: Every other unsafe method (POST, PUT, PATCH, DELETE) of the API's own routes.
WRITES = IdempotencyPolicy()


def key_policy(scope: Scope) -> IdempotencyPolicy | None:
    if scope["path"] == "/v1/orders":
        return ORDERS
    return WRITES if scope["path"].startswith("/v1/") else None


def key_store(db: str) -> IdempotencyStore:
    """The middleware's store, on the ``idempotency_keys`` table of the app's database.

    MySQL and MariaDB: `SQLAlchemyIdempotencyStore` (it speaks their SQL);
    a SQLite file or PostgreSQL: the library's own store for it.
    """
    scheme, _, rest = db.partition("://")
    if scheme.split("+")[0] == "mysql":
        from sqlalchemy import create_engine

        from httpconflict.sqlalchemy import SQLAlchemyIdempotencyStore

        return SQLAlchemyIdempotencyStore(create_engine(f"mysql+pymysql://{rest}"))
    if rest:
        return idempotency_store(f"{scheme.split('+')[0]}://{rest}")
    return idempotency_store(db)


def application(keys: IdempotencyStore) -> Any:
    return IdempotencyMiddleware(get_asgi_application(), store=keys, policy=key_policy)


async def serve(host: str, port: int, db: str) -> None:
    """Serve until interrupted; the keys live in the database's ``idempotency_keys``.

    Django speaks no ASGI lifespan; the middleware answers it for its store
    (opened at start-up, closed at shutdown).
    """
    config = uvicorn.Config(application(key_store(db)), host=host, port=port)
    await uvicorn.Server(config).serve()
