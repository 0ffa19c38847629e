"""examples/fastapi_app as its users run it: ``python -m examples.fastapi_app ...``.

tests/conformance/ checks the whole examples/README.md contract, the
16-client lost-update hammer included; this checks that the command starts
the app on a fresh SQLite file.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, stop, wait_until_up
from tests.spawn import spawn

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("example")
    port = free_port()
    log = tmp / "server.log"
    db = str(tmp / "example.db")
    command = ["-m", "examples.fastapi_app", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = spawn(
            [sys.executable, *command, "--db", db],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
    assert "Traceback" not in log.read_text()


def test_tables_are_created_and_the_api_answers(url: str) -> None:
    """A fresh database file: users, notes and keyed orders work at once."""
    with httpx.Client(base_url=url) as client:
        user = client.post("/v1/users", json={"email": "ex@example.com", "name": "Ex"})
        assert (user.status_code, user.headers["location"]) == (201, "/v1/users/1")
        again = client.post("/v1/users", json={"email": "ex@example.com", "name": "Other"})
        assert again.status_code == 409
        assert again.json()["conflicts"][0]["fields"] == ["email"]
        assert "ex@example.com" not in again.text
        key = {"Idempotency-Key": '"order-1"'}
        order = client.post("/v1/orders", json={"item": "tea", "qty": 1}, headers=key)
        replay = client.post("/v1/orders", json={"item": "tea", "qty": 1}, headers=key)
        assert (order.status_code, replay.status_code) == (201, 201)
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == order.json()
