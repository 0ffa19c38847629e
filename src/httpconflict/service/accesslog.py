"""One access-log line per request: method, path, status, problem type, duration.

Operators find where conflicts come from by grouping these lines by
problem type and path (`httpconflict logs` reads both formats).

    text: 2026-11-24T20:11:22.123Z PUT /v1/notes/a 412 precondition-failed 1.24ms
    json: {"time": "...", "method": "PUT", "path": "/v1/notes/a", "status": 412,
           "problem": "precondition-failed", "duration_ms": 1.24, "client": "127.0.0.1",
           "worker": 4242}
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import LogFormat
from .problems import PROBLEM_SCOPE_KEY

access_log = logging.getLogger("httpconflict.access")


class AccessLog:
    """Pure ASGI middleware writing one line per HTTP request."""

    def __init__(self, app: ASGIApp, *, log_format: LogFormat = "text") -> None:
        self.app = app
        self.log_format = log_format
        self.pid = os.getpid()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.log_format == "off":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            self._write(scope, status, scope.get(PROBLEM_SCOPE_KEY), duration_ms)

    def _write(self, scope: Scope, status: int, problem: str | None, duration_ms: float) -> None:
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
            }
            access_log.info(json.dumps(record, separators=(",", ":")))
        else:
            access_log.info(
                "%s %s %s %d %s %.2fms",
                now,
                scope["method"],
                scope["path"],
                status,
                problem or "-",
                duration_ms,
            )
