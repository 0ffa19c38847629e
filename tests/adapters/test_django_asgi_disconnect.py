"""Django under uvicorn behind IdempotencyMiddleware: a client that leaves early, then retries.

A client that gives up on its answer (a timeout, a dropped connection)
retries with the same Idempotency-Key: that is what the key is for. Django
stops handling a request whose client disconnected, without answering,
while its view's thread goes on and makes the order.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import start_app


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_dir = tmp_path_factory.mktemp("django-asgi")
    factory = "tests.adapters.django_orders_asgi:create_app"
    with start_app(factory, log_dir, probe="/orders/count") as running:
        yield running
    logs = "".join(log.read_text() for log in Path(log_dir).glob("*.log"))
    assert "Traceback" not in logs, logs[-3000:]


def count(http: httpx.Client) -> int:
    n: int = http.get("/orders/count").json()["count"]
    return n


def test_a_client_gone_before_its_answer_gets_it_on_retry(url: str) -> None:
    """The order made for a client that left is recorded under its key: the retry is replayed."""
    key = f'"{uuid.uuid4()}"'
    body = b'{"item": "tea"}'
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"POST /orders HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Idempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with httpx.Client(base_url=url, timeout=10) as http:
        before = count(http)
        with socket.create_connection((host, int(port)), timeout=10) as gone:
            gone.sendall(head.encode() + body)
        # The view goes on in its thread: wait for the order it makes.
        deadline = time.monotonic() + 10
        while count(http) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert count(http) == before + 1
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        retry = http.post("/orders", content=body, headers=headers)
        while retry.status_code == 409 and time.monotonic() < deadline:
            # Made, not yet recorded: the key is still in flight.
            time.sleep(0.05)
            retry = http.post("/orders", content=body, headers=headers)
        assert retry.status_code == 201, retry.text
        assert retry.headers["idempotent-replayed"] == "true"
        assert count(http) == before + 1
