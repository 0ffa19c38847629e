"""One access-log line per request: method, path, status, problem type, duration, principal.

Operators find where conflicts come from by grouping these lines by
problem type and path.

    text: 2026-11-24T20:11:22.123Z PUT /v1/notes/a 412 precondition-failed 1.24ms token:ci
    json: {"time": "...", "method": "PUT", "path": "/v1/notes/a", "status": 412,
           "problem": "precondition-failed", "duration_ms": 1.24, "client": "127.0.0.1",
           "worker": 4242, "principal": "token:ci"}

The principal is the id authentication left in the scope ("token:<name>",
"jwt:<sub>", "anonymous"), never a credential; none (null, "-") when no
authentication ran or it refused the request. In text, a character of the
id that would split or break the line (a space, a control) is escaped.

A request the client gave up on before any answer was started (it went
away in the middle of its body, so nothing was executed and nothing
answered) is logged with status 499, nginx's "client closed request": no
status was sent, and it was no server error. A request whose body came
too slowly is logged with the 408 that its connection answered for it.

Lines go straight to a stream (stdout by default), one write and flush per
line, not through `logging`: a LogRecord per request cost more than the
conditional write itself (14 µs against 3 µs per line, measured).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TextIO

from ..access import PRINCIPAL_SCOPE_KEY, Principal
from ..asgi import PROBLEM_SCOPE_KEY
from .config import LogFormat

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: nginx's status for a request whose client closed the connection before the answer.
CLIENT_CLOSED_REQUEST: Final = 499
#: Where the connection notes the status it answered itself (a body that came too slowly).
SERVER_ANSWER_KEY: Final = "httpconflict.server_answer"


class AccessLog:
    """Pure ASGI middleware writing one line per HTTP request."""

    def __init__(
        self, app: ASGIApp, *, log_format: LogFormat = "text", stream: TextIO | None = None
    ) -> None:
        self.app = app
        self.log_format = log_format
        self.stream = stream if stream is not None else sys.stdout
        self.pid = os.getpid()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.log_format == "off":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        answered = client_gone = False

        async def receive_and_note() -> Message:
            nonlocal client_gone
            message = await receive()
            client_gone = client_gone or message["type"] == "http.disconnect"
            return message

        async def send_and_note(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
            await send(message)

        problem: str | None = "internal-error"  # unless the app answers, it failed
        try:
            await self.app(scope, receive_and_note, send_and_note)
            problem = scope.get(PROBLEM_SCOPE_KEY)
            if not answered and SERVER_ANSWER_KEY in scope:
                # The connection answered for the app (and noted why).
                status = scope[SERVER_ANSWER_KEY]
            elif not answered and client_gone:
                # The app stopped, without an answer, because the client went away.
                status, problem = CLIENT_CLOSED_REQUEST, None
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            self._write(scope, status, problem, duration_ms)

    def _write(self, scope: Scope, status: int, problem: str | None, duration_ms: float) -> None:
        found = scope.get(PRINCIPAL_SCOPE_KEY)
        principal = found.id if isinstance(found, Principal) else None
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if self.log_format == "json":
            client = scope.get("client")
            record: dict[str, Any] = {
                "time": now,
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "problem": problem,
                "duration_ms": round(duration_ms, 3),
                "client": client[0] if client else None,
                "worker": self.pid,
                "principal": principal,
            }
            line = json.dumps(record, separators=(",", ":"))
        else:
            method, path = scope["method"], scope["path"]
            who = "-" if principal is None else _one_token(principal)
            line = f"{now} {method} {path} {status} {problem or '-'} {duration_ms:.2f}ms {who}"
        self.stream.write(line + "\n")
        self.stream.flush()


def _one_token(text: str) -> str:
    """`text` with spaces and controls escaped, so it stays one field of one line."""
    return "".join(c if c.isprintable() and not c.isspace() else f"\\u{ord(c):04x}" for c in text)
