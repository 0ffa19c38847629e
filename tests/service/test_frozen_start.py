"""What a worker made to start is kept out of the cycle collector's passes while it serves."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
import pytest

from httpconflict.service.app import create_app
from httpconflict.service.config import ServiceConfig

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_start_is_frozen_while_serving_and_given_back_at_the_end(tmp_path: Path) -> None:
    gc.unfreeze()  # whatever froze before is not this app's doing
    app = create_app(ServiceConfig(db=str(tmp_path / "docs.db"), log_format="off"))
    async with app.router.lifespan_context(app):
        # The app, its routes and the interpreter's modules: out of every generation.
        assert gc.get_freeze_count() > 10_000
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            made = await http.put("/v1/c/counter", json={"n": 0}, headers={"If-None-Match": "*"})
            assert made.status_code == 201
            written = await http.put(
                "/v1/c/counter", json={"n": 1}, headers={"If-Match": made.headers["ETag"]}
            )
            assert written.status_code == 200
    assert gc.get_freeze_count() == 0
