"""A large GET answer starts only if the worker has room for it (``--max-answer-memory``).

Theory of operation: the answers a worker holds for clients that do not
take them are counted by `answer_budget` (the connections' transports). A
GET answer that may be large (a body over `LARGE_ANSWER`, or streamed: a
list page) is checked as it starts, when its first bytes are ready: past the
limit, once stalled readers are cut, it is answered 503 ``answer-memory-limit``
with Retry-After instead, and the handler is stopped. Nothing is lost: a GET
changes nothing, and its client asks again. Other answers are never refused:
a write's answer goes out (the write is applied: a refusal would say it was
not), and HEAD, 304 and small answers add nothing worth refusing. Nor is a
change feed's event stream: its events are small, and a browser's
EventSource gives up for good on a 503, where a stream cut for stalling
resumes from its Last-Event-ID.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import ProblemError
from ..asgi import send_error
from ..problem_types import ANSWER_MEMORY_LIMIT
from .answer_budget import WorkerAnswers

#: Answers up to this size (the transports' high-water mark) are never refused.
LARGE_ANSWER: Final = 64 * 1024
RETRY_AFTER: Final = 1


class NoAnswerRoom(ProblemError):
    """The worker holds as many answers not taken as it accepts: 503 with Retry-After."""

    problem_type = ANSWER_MEMORY_LIMIT

    def __init__(self) -> None:
        super().__init__(
            f"the server holds as many bytes of answers its clients have not taken yet as it "
            f"accepts ({WorkerAnswers.limit}); retry after Retry-After seconds",
            retry_after=RETRY_AFTER,
        )


def require_room() -> None:
    """Refuse a request whose answer will be large (a list page) before anything is read for it.

    Checked only as the answer starts, a burst of them read their first
    batches all before the first was refused, and the worker's memory grew by
    what they read at once.
    """
    if not WorkerAnswers.admits():
        raise NoAnswerRoom


class _NoRoom(Exception):
    """Raised from `send` to stop a handler whose answer was refused."""


class AnswerMemoryGuard:
    """Pure ASGI middleware refusing large GET answers while the worker holds too many."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return

        async def guarded(message: Message) -> None:
            start = message["type"] == "http.response.start"
            if start and _large(message) and not WorkerAnswers.admits():
                raise _NoRoom
            await send(message)

        try:
            await self.app(scope, receive, guarded)
        except _NoRoom:
            await send_error(scope, send, NoAnswerRoom())


def _large(start: Message) -> bool:
    """Whether an answer may hold more than `LARGE_ANSWER` bytes: told by its start."""
    status = start["status"]
    if not 200 <= status < 300 or status == 204:
        return False
    length = None
    for name, value in start.get("headers", ()):
        name = name.lower()
        if name == b"content-type" and value.startswith(b"text/event-stream"):
            return False
        if name == b"content-length":
            length = int(value)
    return length is None or length > LARGE_ANSWER
