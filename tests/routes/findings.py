"""Helpers: the rules run on an app object, findings as comparable rows, which
handler a Starlette or FastAPI app really serves a request with, and the command."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from httpconflict.tools.routes._model import Finding
from httpconflict.tools.routes._report import methods_list
from httpconflict.tools.routes._rules import find_problems
from httpconflict.tools.routes._run import routes_of
from httpconflict.tools.routes._target import identify

#: The repository, where ``tests.routes.apps`` can be imported from.
ROOT = Path(__file__).parent.parent.parent

#: kind, methods, the route never served (path, handler), the route serving instead.
Row = tuple[str, str, str, str, str, str]


def findings_of(app: object) -> list[Finding]:
    """What ``httpconflict routes`` finds in `app`."""
    return find_problems(routes_of(identify(app)))


def rows(findings: list[Finding]) -> set[Row]:
    """Findings as rows, handlers by their last name."""
    return {
        (
            finding.kind.value,
            " ".join(methods_list(finding.methods)),
            finding.route.pattern.text,
            _short(finding.route.definition.handler),
            finding.by.pattern.text,
            _short(finding.by.definition.handler),
        )
        for finding in findings
    }


def asgi_endpoint(app: Any, method: str, path: str) -> str:
    """The name of the endpoint an ASGI app routes ``method path`` to."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    asyncio.run(app(scope, receive, send))
    endpoint = scope["endpoint"]
    return _short(getattr(endpoint, "__qualname__", type(endpoint).__qualname__))


def _short(qualname: str) -> str:
    return qualname.rsplit(".", 1)[-1]


def routes_command(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m httpconflict.cli routes ARGS`` in a fresh process (Django configures once)."""
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    environ["COLUMNS"] = "200"  # a wide table, so that no cell is folded
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "httpconflict.cli", "routes", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=60,
        check=False,
    )
