"""Each adapter's whole app, copied from its docs page and served by two workers, works.

An app is written and prepared (its run-once commands) once per module: the Django
project's WSGI and ASGI servers serve the same prepared project, one after the other.
"""

from __future__ import annotations

import socket
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.served_docs import Recipe, client, environment, prepare, recipe, serve

PROBLEM = "application/problem+json"
JSON = "application/json"
TYPES = "https://httpconflict.dev/problems/"

pytestmark = pytest.mark.slow
#: The headings of the sections that hold a whole app.
APP = "A whole app, served by two workers"
STARLETTE = "a whole app, served by two workers"
DJANGO = "A whole project, served by two workers"
CASES = [
    pytest.param("fastapi.md", APP, "uvicorn", "orders", id="fastapi"),
    pytest.param("fastapi.md", f"Starlette: {STARLETTE}", "uvicorn", "orders", id="starlette"),
    pytest.param("flask.md", APP, "gunicorn", "orders", id="flask"),
    pytest.param("django.md", DJANGO, "gunicorn", "notes_order", id="django-wsgi"),
    pytest.param("django.md", DJANGO, "uvicorn", "notes_order", id="django-asgi"),
]


Prepared = tuple[Recipe, Path, Mapping[str, str]]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Prepared]:
    """The app of a page's section, written and prepared in a directory the first time asked."""
    made: dict[tuple[str, str], Prepared] = {}

    def prepared_once(page: str, heading: str) -> Prepared:
        if (page, heading) not in made:
            directory = tmp_path_factory.mktemp("app")
            found, env = recipe(page, heading), environment(directory)
            prepare(found, directory, env)
            made[page, heading] = (found, directory, env)
        return made[page, heading]

    return prepared_once


@pytest.mark.parametrize(("page", "heading", "server", "orders_table"), CASES)
def test_the_docs_app_served_with_two_workers(
    page: str,
    heading: str,
    server: str,
    orders_table: str,
    prepared: Callable[[str, str], Prepared],
) -> None:
    """If-Match (428, 200, 412), a unique email (409 naming it), a keyed POST replayed once."""
    found, directory, env = prepared(page, heading)
    command = next(c for c in found.servers if c.split()[0] == server)
    with serve(command, directory, env) as (url, log):
        exercise_conditional_update(url)
        exercise_unique_field(url)
        exercise_keyed_post(
            url, lambda item: count(directory / "notes.sqlite3", orders_table, item)
        )
        exercise_chunked_create(url)
        exercise_bad_bodies(url)
        exercise_bad_ids(url)
        if server == "gunicorn":  # uvicorn refuses a broken chunk itself, before the app
            exercise_broken_chunks(url)
    assert "Traceback" not in log.read_text(), log.read_text()


def exercise_conditional_update(url: str) -> None:
    with client(url) as http:
        created = http.post("/notes", json={"title": "groceries"})
        assert created.status_code == 201, created.text
        note, etag = created.headers["Location"], created.headers["ETag"]
        blind = http.put(note, json={"title": "milk"})
        assert (blind.status_code, blind.headers["Content-Type"]) == (428, PROBLEM), blind.text
        fresh = http.put(note, json={"title": "milk"}, headers={"If-Match": etag})
        assert fresh.status_code == 200, fresh.text
        assert fresh.headers["ETag"] != etag
        stale = http.put(note, json={"title": "eggs"}, headers={"If-Match": etag})
        assert (stale.status_code, stale.headers["Content-Type"]) == (412, PROBLEM), stale.text
        assert stale.json()["current_etag"] == fresh.headers["ETag"]


def exercise_unique_field(url: str) -> None:
    email = f"{uuid.uuid4().hex}@example.com"
    with client(url) as http:
        assert http.post("/users", json={"email": email}).status_code == 201
        taken = http.post("/users", json={"email": email})
    assert (taken.status_code, taken.headers["Content-Type"]) == (409, PROBLEM), taken.text
    problem = taken.json()
    assert problem["type"] == TYPES + "unique-violation"
    assert problem["conflicts"][0]["fields"] == ["email"]
    assert email not in taken.text  # another caller's value is never shown


def exercise_keyed_post(url: str, orders: Callable[[str], int]) -> None:
    item = f"tea-{uuid.uuid4().hex}"
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}

    def post(body: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{url}/orders", json=body, headers=key, timeout=20)

    with ThreadPoolExecutor(8) as pool:  # a double submit, eight times over, to both workers
        answers = list(pool.map(post, [{"item": item}] * 8))
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    created = [a for a in answers if a.status_code == 201]
    assert created
    assert all(a.status_code != 409 or a.headers["Retry-After"] for a in answers)
    again = post({"item": item})  # a retry once every request has its answer
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert {a.content for a in [*created, again]} == {created[0].content}
    assert again.headers["Location"] == created[0].headers["Location"]
    assert orders(item) == 1  # one row, however many times it was sent
    reused = post({"item": "cake"})
    assert (reused.status_code, reused.json()["type"]) == (422, TYPES + "idempotency-key-reused")


def count(database: Path, table: str, item: str) -> int:
    with sqlite3.connect(database) as db:
        row = db.execute(f"SELECT count(*) FROM {table} WHERE item = ?", (item,)).fetchone()
    return int(row[0])


def exercise_broken_chunks(url: str) -> None:
    """A chunked body whose chunk size is no number, keyed and not: a 400 problem, nothing made
    (gunicorn's parse error went past the body reader: a 500, or its own HTML 400)."""
    address = httpx.URL(url)
    for key in ("", f'Idempotency-Key: "{uuid.uuid4()}"\r\n'):
        head = (
            f"POST /orders HTTP/1.1\r\nHost: {address.host}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n{key}\r\n"
        )
        with socket.create_connection((address.host, address.port), timeout=10) as sock:
            sock.sendall(head.encode() + b'zz\r\n{"item": "x"}\r\n0\r\n\r\n')
            answer = b""
            while data := sock.recv(65536):
                answer += data
        status, _, rest = answer.partition(b"\r\n")
        assert status.split()[1:2] == [b"400"], answer[:400]
        assert b"content-type: application/problem+json" in rest.lower(), answer[:400]


def exercise_chunked_create(url: str) -> None:
    """A note created with a chunked body, no key: 201 (Django under gunicorn read no body
    without a Content-Length: 400 "the request body is empty")."""
    with client(url) as http:
        made = http.post(
            "/notes", content=iter([b'{"title": ', b'"chunked"}']), headers={"Content-Type": JSON}
        )
    assert made.status_code == 201, made.text
    assert made.json()["title"] == "chunked"


BAD_BODIES = [
    b"{}",
    b"[]",
    b'{"title": 5}',
    b'{"title": NaN}',
    b"not json",
    b"",
    b"\xff\xfe",
    b"[" * 100_000 + b"]" * 100_000,
]


#: Ids no note has: past int()'s 4,300 digits, past a 64-bit column, zero, not a number.
BAD_IDS = ("9" * 5000, "9" * 20, "0", "x1", "1.5")


def exercise_bad_ids(url: str) -> None:
    """A PUT to a note no id can name: a 4xx each, never a 500 (Starlette's `{id:int}` took
    5,000 digits to int(), a ValueError)."""
    with client(url) as http:
        for note_id in BAD_IDS:
            answer = http.put(
                f"/notes/{note_id}", json={"title": "milk"}, headers={"If-Match": '"1"'}
            )
            assert 400 <= answer.status_code < 500, (note_id[:20], answer.status_code, answer.text)


def exercise_bad_bodies(url: str) -> None:
    """What no note can be made of: a 400 or 422 problem each, never a 500 (the apps read
    `body["title"]`: {} was a KeyError; Starlette's `request.json()` took NaN, and stored it)."""
    with client(url) as http:
        for body in BAD_BODIES:
            answer = http.post("/notes", content=body, headers={"Content-Type": JSON})
            assert answer.status_code in (400, 422), (body[:40], answer.status_code, answer.text)
            assert answer.headers["Content-Type"] == PROBLEM, answer.text
