"""examples/django_app, started as its README says, twice on one SQLite file.

Two processes share the database and the Idempotency-Key store, so each
check below crosses processes: a note read on one is written on the
other, a key used on one is replayed by the other. Neither may log a
traceback or answer a 500.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.problems import assert_problem
from tests.servers import free_port, stop, wait_until_up
from tests.spawn import spawn

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def example(db: Path, log: Path) -> Iterator[str]:
    """``python -m examples.django_app --host 127.0.0.1 --port P --db DB`` until the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "examples.django_app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", str(db)]
    with log.open("wb") as out:
        process = spawn(
            command,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log)
        yield url
    finally:
        stop(process)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]
    assert " 500 " not in text, text[-4000:]
    assert process.returncode == 0, text[-4000:]


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Two clients, each talking to its own process of the example on one database."""
    log_dir = tmp_path_factory.mktemp("django-example")
    with ExitStack() as stack:
        # One after the other: the first one migrates.
        urls = [
            stack.enter_context(example(log_dir / "example.db", log_dir / f"{n}.log"))
            for n in (1, 2)
        ]
        one, two = (stack.enter_context(httpx.Client(base_url=u, timeout=30)) for u in urls)
        yield one, two


def test_notes(apps: tuple[httpx.Client, httpx.Client]) -> None:
    """Create, revalidate, write with If-Match, refuse stale and blind writes, delete."""
    one, two = apps
    created = one.post("/v1/notes", json={"title": "t", "count": 0, "writer": "w"})
    assert created.status_code == 201
    url, etag = created.headers["location"], created.headers["etag"]
    assert url.startswith("/v1/notes/")
    assert two.get(url, headers={"If-None-Match": etag}).status_code == 304
    body = {"title": "t", "count": 1, "writer": "w"}
    written = two.put(url, json=body, headers={"If-Match": etag})
    assert written.status_code == 200
    stale = one.put(url, json={**body, "count": 2}, headers={"If-Match": etag})
    current = written.headers["etag"]
    assert assert_problem(stale, 412, "precondition-failed")["current_etag"] == current
    assert_problem(one.put(url, json=body), 428, "precondition-required")
    assert_problem(one.delete(url), 428, "precondition-required")
    assert one.delete(url, headers={"If-Match": current}).status_code == 204
    assert_problem(two.get(url), 404, "not-found")


def test_a_duplicate_email_is_refused_by_the_index(apps: tuple[httpx.Client, httpx.Client]) -> None:
    """The serializer does not pre-check: the unique index refuses, answered 409 naming "email"."""
    one, two = apps
    email = f"{uuid.uuid4().hex}@example.com"
    created = one.post("/v1/users", json={"email": email, "name": "Ann"})
    assert created.status_code == 201
    assert created.headers["location"] == f"/v1/users/{created.json()['id']}"
    assert created.headers["etag"] == '"1"'
    answer = two.post("/v1/users", json={"email": email, "name": "Bob"})
    assert assert_problem(answer, 409, "unique-violation")["conflicts"][0]["fields"] == ["email"]
    assert email not in answer.text


def test_orders_are_created_once_per_key(apps: tuple[httpx.Client, httpx.Client]) -> None:
    """A key used on one process is replayed by the other; another body under it is a 422."""
    one, two = apps
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    order = {"item": "book", "qty": 1}
    first = one.post("/v1/orders", json=order, headers=key)
    assert first.status_code == 201
    assert first.headers["location"] == f"/v1/orders/{first.json()['id']}"
    again = two.post("/v1/orders", json=order, headers=key)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    assert (again.headers["location"], again.content) == (first.headers["location"], first.content)
    assert_problem(two.post("/v1/orders", json={**order, "qty": 2}, headers=key), 422)
    assert_problem(one.post("/v1/orders", json=order, headers={"Idempotency-Key": '"x'}), 400)


@pytest.mark.slow
def test_sixteen_clients_across_two_processes_lose_no_update(
    apps: tuple[httpx.Client, httpx.Client],
) -> None:
    """16 clients, half on each process, each incrementing 6 times with If-Match: all 96 land."""
    created = apps[0].post("/v1/notes", json={"title": "counter", "count": 0, "writer": "-"})
    url = created.headers["location"]
    failures: list[str] = []

    def client(number: int) -> None:
        with httpx.Client(base_url=apps[number % 2].base_url, timeout=30) as http:
            for _ in range(6):
                while True:
                    read = http.get(url)
                    # A pure counter: equal bodies from clients that read the same count.
                    body = {"title": "c", "count": read.json()["count"] + 1, "writer": "-"}
                    answer = http.put(url, json=body, headers={"If-Match": read.headers["etag"]})
                    if answer.status_code == 200:
                        break
                    if answer.status_code != 412:
                        failures.append(answer.text)
                        return

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:3]
    assert apps[1].get(url).json()["count"] == 96
