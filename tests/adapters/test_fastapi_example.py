"""examples/fastapi_app as its users run it: ``python -m examples.fastapi_app ...``.

tests/conformance/ checks the whole examples/README.md contract; this checks
that the command starts the app on a fresh SQLite file, and the claim that
16 clients doing read-modify-write with If-Match lose no update.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, stop, wait_until_up

ROOT = Path(__file__).parent.parent.parent
CLIENTS = 16
INCREMENTS = 5


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("example")
    port = free_port()
    log = tmp / "server.log"
    db = str(tmp / "example.db")
    command = ["-m", "examples.fastapi_app", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
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


def test_sixteen_clients_lose_no_update(url: str) -> None:
    """Read-modify-write with If-Match, retrying on 412: every increment lands."""
    with httpx.Client(base_url=url) as client:
        created = client.post("/v1/notes", json={"title": "counter", "count": 0, "writer": ""})
        note = created.headers["location"]

    def client_loop(name: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            for _ in range(INCREMENTS):
                while True:
                    read = http.get(note)
                    body = {**read.json(), "count": read.json()["count"] + 1, "writer": name}
                    body.pop("id")
                    written = http.put(note, json=body, headers={"If-Match": read.headers["etag"]})
                    if written.status_code == 200:
                        break
                    assert written.status_code == 412, written.text

    threads = [threading.Thread(target=client_loop, args=(f"c{n}",)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with httpx.Client(base_url=url) as client:
        assert client.get(note).json()["count"] == CLIENTS * INCREMENTS
