"""The idempotency middleware's part in the ASGI lifespan: its store opened, drained, closed.

Theory of operation: the store opens itself on its first call, so none of
this is needed for a request to work; under a server that runs the
lifespan (uvicorn), it moves the opening to the start-up, where a wrong
store URL stops the server instead of failing every keyed request, and
closes the store at shutdown. The app's own lifespan runs first, since it
may open what the store sits beside (the documents whose connections it
shares): the store opens when the app says it has started, and closes when
the app says it has stopped, after the backlog of owed writes was given
`grace` seconds before the app heard of the shutdown.

An app that runs no lifespan (Django's ASGI handler raises on its scope,
the ASGI way of saying so) is not an error here: the middleware then
answers the lifespan alone, for its store.
"""

from __future__ import annotations

import logging

from .._errors import Unavailable
from ..storage.idempotency import IdempotencyStore
from ..storage.idempotency.backlog import Backlog
from .types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("httpconflict.idempotency")


class StoreLifespan:
    """Runs an app's lifespan, `store` opened after its start-up and closed after its shutdown."""

    def __init__(self, store: IdempotencyStore, backlog: Backlog, *, grace: float) -> None:
        self.store = store
        self.backlog = backlog
        self.grace = grace

    async def __call__(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        talked = False

        async def app_receive() -> Message:
            nonlocal talked
            talked = True
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self._drain()
            return message

        async def app_send(message: Message) -> None:
            nonlocal talked
            talked = True
            if message["type"] == "lifespan.startup.complete":
                message = await self._open(message)
            elif message["type"] == "lifespan.shutdown.complete":
                await self.store.close()
            await send(message)

        try:
            await app(scope, app_receive, app_send)
        except Exception:
            if talked:
                raise
            await self._alone(receive, send)

    async def _alone(self, receive: Receive, send: Send) -> None:
        """The lifespan of an app that runs none: the store's part is all there is."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                answer = await self._open({"type": "lifespan.startup.complete"})
                await send(answer)
                if answer["type"] == "lifespan.startup.failed":
                    return
            elif message["type"] == "lifespan.shutdown":
                await self._drain()
                await self.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _open(self, complete: Message) -> Message:
        """`complete` once the store is open (or not answering yet); else the start-up's failure."""
        try:
            await self.store.open()
        except Unavailable as error:
            log.warning(
                "the idempotency-key store does not answer yet (%s); the first request "
                "with a key tries again",
                error.problem.detail,
            )
        except Exception as error:  # a wrong URL, an unusable file: the start-up fails
            return {
                "type": "lifespan.startup.failed",
                "message": f"the idempotency-key store could not be opened: {error}",
            }
        return complete

    async def _drain(self) -> None:
        await self.backlog.drain(self.grace)
        self.backlog.cancel()
