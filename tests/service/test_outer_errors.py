"""A failure in a layer outside the service's `ServerErrors`: a 500 problem, under an incident.

The layers outside it (the Host check, CORS, compression, the answer's
fields, the access log) are the service's own code too; a bug there (a Host
port of 5,000 digits once made ``int()`` raise in the Host check) reached
Starlette's outermost layer, whose 500 is ``text/plain``, outside the
contract (every error answer is problem JSON) and with no incident to find
the log line by. The failure is made here by the compression layer raising
on every request, in process (no real input makes it fail now).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

from httpconflict.service import compression
from httpconflict.service.app import create_app
from httpconflict.service.config import ServiceConfig


def test_a_failure_outside_server_errors_is_a_500_problem_with_an_incident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(self: object, scope: object, receive: object, send: object) -> None:
        raise RuntimeError("a bug in the compression layer")

    monkeypatch.setattr(compression.Compression, "__call__", broken)
    app = create_app(ServiceConfig(db=str(tmp_path / "service.db")))

    async def get() -> httpx.Response:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
                return await http.get("/v1/notes/n1", headers={"Accept": "text/html"})

    with caplog.at_level(logging.ERROR, logger="httpconflict"):
        answer = asyncio.run(get())
    assert answer.status_code == 500
    assert answer.headers["Content-Type"] == "application/problem+json", answer.text[:200]
    problem = answer.json()
    assert problem["status"] == 500
    assert "bug" not in answer.text  # the error stays in the log
    incident = problem["incident"]
    logged = [r for r in caplog.records if incident in r.getMessage()]
    assert logged, [r.getMessage() for r in caplog.records]
    assert "RuntimeError" in logged[0].getMessage()
