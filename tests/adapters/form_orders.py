"""An ASGI app taking orders from HTML forms, behind IdempotencyMiddleware with form keys.

``POST /orders`` (a form, urlencoded or multipart) makes an order a
moment later (so that a double click's second request comes while the
first runs) and answers 303 to it; ``GET /orders/count`` says how many
were made. The middleware reads the key from the form's
``idempotency_key`` field (`IdempotencyPolicy(form_field=...)`), and takes
bodies up to 64 KiB.
"""

from __future__ import annotations

import asyncio
from typing import Any

from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy, Receive, Scope, Send
from httpconflict.storage.idempotency.memory import MemoryIdempotencyStore

MAX_BODY = 64 * 1024


def create_app() -> Any:
    made = [0]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        if scope["method"] == "POST":
            await asyncio.sleep(0.3)
            made[0] += 1
            status, headers, body = 303, [(b"location", f"/orders/{made[0]}".encode())], b""
        else:
            status, headers, body = 200, [(b"content-type", b"text/plain")], b"%d" % made[0]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    policy = IdempotencyPolicy(form_field="idempotency_key", max_body=MAX_BODY)
    return IdempotencyMiddleware(app, store=MemoryIdempotencyStore(), policy=policy)
