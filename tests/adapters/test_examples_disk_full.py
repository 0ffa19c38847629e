"""The three example apps (Flask, FastAPI, Django) when the disk under their SQLite file fills.

Each runs as its README runs it, on a SQLite file in a tmpfs of a few
megabytes (tests/tiny_disk.py) filled to its last byte: a keyed POST must
get a 503 problem with Retry-After saying the disk is full, never a 500;
once room is made, the same POST sent again with its key creates its
order once. The rule is the core's (`httpconflict.outage`); this checks
that each framework's adapter hands the error to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import httpx
import pytest

from tests.servers import free_port, stop, wait_until_up
from tests.spawn import spawn
from tests.tiny_disk import fill, tiny_disk

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("example", ["flask_app", "fastapi_app", "django_app"])
def test_a_full_disk_is_a_503_then_the_key_applies_once(
    example: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Full disk: 503 saying so; room made: the keyed POST creates one order, then replays."""
    pytest.importorskip(
        {"flask_app": "flask", "fastapi_app": "fastapi", "django_app": "django"}[example]
    )
    log = tmp_path_factory.mktemp(example) / "server.log"
    with tiny_disk(megabytes=8) as disk:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", f"examples.{example}", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--db", str(disk / "example.db")]
        with log.open("wb") as out:
            process = spawn(
                command,
                cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_up(url, process, log)
            key = {"Idempotency-Key": str(uuid.uuid4())}
            order = {"item": "tea", "qty": 2}
            with httpx.Client(base_url=url, timeout=30) as http:
                ballast = fill(disk)
                refused = http.post("/v1/orders", json=order, headers=key)
                assert refused.status_code == 503, refused.text
                assert refused.headers["content-type"] == "application/problem+json"
                assert refused.headers["retry-after"] == "1"
                assert "disk is full" in refused.json()["detail"], refused.text
                ballast.unlink()
                created = http.post("/v1/orders", json=order, headers=key)
                assert created.status_code == 201, created.text
                replayed = http.post("/v1/orders", json=order, headers=key)
                assert replayed.headers.get("idempotent-replayed") == "true"
                assert replayed.headers["location"] == created.headers["location"]
        finally:
            stop(process)
    assert "Traceback" not in log.read_text(errors="replace")
