"""examples/flask_app as its README runs it: a real server process on a SQLite file.

50 concurrent POSTs with one Idempotency-Key must create one order (the
16-client lost-update hammer runs against this app in tests/conformance/).
The server log must show no 5xx and no traceback, and SIGINT must stop the
server at once.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, wait_until_up
from tests.spawn import spawn

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Example:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    """``python -m examples.flask_app --host --port --db`` from the repository root."""
    tmp = tmp_path_factory.mktemp("flask_app")
    port, log = free_port(), tmp / "server.log"
    command = [sys.executable, "-m", "examples.flask_app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", str(tmp / "example.db")]
    with log.open("wb") as out:
        process = spawn(
            command,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, log)
        yield Example(f"http://127.0.0.1:{port}", process, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text(errors="replace")
    assert '" 500 ' not in text, text[-4000:]
    assert "Traceback" not in text, text[-4000:]


def test_fifty_concurrent_duplicate_orders_create_one(example: Example) -> None:
    """One key, 50 POSTs at once: one order; the others are its replay or a 409 in flight."""
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    order = {"item": "tea", "qty": 2}

    def post(_: int) -> httpx.Response:
        return httpx.post(f"{example.url}/v1/orders", json=order, headers=key, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(post, range(50)))
    assert {a.status_code for a in answers} <= {201, 409}
    created = [a for a in answers if a.status_code == 201]
    assert len({a.headers["location"] for a in created}) == 1
    assert sum("idempotent-replayed" not in a.headers for a in created) == 1
    replay = post(0)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["location"] == created[0].headers["location"]


def test_a_body_past_a_mebibyte_is_413(example: Example) -> None:
    """json_body() takes at most 1 MiB when the app sets no MAX_CONTENT_LENGTH: 413, not read."""
    body = b'{"email": "big@example.com", "name": "' + b"x" * (2 << 20) + b'"}'
    with httpx.Client(base_url=example.url, timeout=30) as client:
        answer = client.post(
            "/v1/users", content=body, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 413, answer.text[:300]
    assert answer.json()["max_bytes"] == 1 << 20


def test_sigint_stops_the_server(example: Example) -> None:
    """Interrupted, it stops at once and cleanly (the key store's loop thread included)."""
    example.process.send_signal(signal.SIGINT)
    assert example.process.wait(timeout=10) == 0
