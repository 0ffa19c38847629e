"""Declaring unique keys while another transaction holds the documents table: no one else waits.

A unique key is an index on the documents table: building one locks the
table in SHARE mode (no write may run meanwhile), dropping one in ACCESS
EXCLUSIVE mode (nothing may). A lock that cannot be granted at once waits,
and every later request for a lock on the table waits behind it, granted
or not. So a `PUT /v1/_collections/{c}` made while another transaction
holds the table (a long write, or a backup's read: pg_dump holds ACCESS
SHARE for the whole dump) stopped every write, or every request, of every
collection until that transaction ended, each answered 503 or 504 at the
statement deadline. Here another session holds the table (an UPDATE of
one row; a plain read, as pg_dump's) for longer than the test waits; the
declaration must give up within half a second with a 503 and Retry-After,
changing nothing, and the requests behind it must be answered then, not
at their deadline; a declaration that changes no key takes no lock.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import LiteralString

import httpx
import pytest

from tests.servers import ServiceProcess, start_service
from tests.service.held_tables import table_held

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

#: The statement deadline: a request stuck behind the lock gets its 5xx then.
DEADLINE = "3"
#: How long a declaration waits for the table (`_pg_unique.LOCK_WAIT`).
LOCK_WAIT = 0.5
#: How soon a request behind the declaration is answered: once the declaration
#: gave up, with room for a loaded machine (it was at the statement deadline).
PROMPTLY = LOCK_WAIT + 1.0
#: How long the declaration may take before its 503.
GIVES_UP_WITHIN = LOCK_WAIT + 1.5


@pytest.fixture
def service(postgres_schema: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    extra = ("--pg-statement-timeout", DEADLINE)
    with start_service(
        postgres_schema, tmp_path, extra=extra, allowed_5xx=frozenset({503})
    ) as running:
        yield running


def timed(call: httpx.Client, method: str, url: str, **how: object) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    answer = call.request(method, url, **how)  # type: ignore[arg-type]  # httpx's keyword types
    return answer, time.monotonic() - began


def in_background(
    service: ServiceProcess, method: str, url: str, body: object
) -> list[tuple[httpx.Response, float]]:
    """Send one request from a thread; the list gets (answer, seconds) when it is answered."""
    got: list[tuple[httpx.Response, float]] = []

    def send() -> None:
        with httpx.Client(base_url=service.url, timeout=30) as http:
            got.append(timed(http, method, url, json=body))

    threading.Thread(target=send, daemon=True).start()
    time.sleep(LOCK_WAIT / 4)  # it is at the database, waiting for the table
    return got


@pytest.mark.parametrize(
    ("held_by", "declared", "then"),
    [
        pytest.param(
            "UPDATE documents SET modified_us = modified_us WHERE id = 'held'",
            {"unique": [["email"], ["code"]]},
            ("POST", "/v1/others", {"n": 1}),
            id="a-build-behind-a-write-stopped-every-write",
        ),
        pytest.param(
            "SELECT count(*) FROM documents",
            {"unique": []},
            ("GET", "/v1/people/held", None),
            id="a-drop-behind-a-read-stopped-every-request",
        ),
    ],
)
def test_a_declaration_waits_for_the_table_alone(
    service: ServiceProcess,
    postgres_schema: str,
    held_by: LiteralString,
    declared: dict[str, object],
    then: tuple[str, str, object],
) -> None:
    """The declaration gives up (503, nothing changed); the request behind it is answered then."""
    with service.client() as http:
        settings = http.put("/v1/_collections/people", json={"unique": [["email"]]})
        assert settings.status_code == 200, settings.text
        made = http.put("/v1/people/held", json={"email": "a@example.com"})
        assert made.status_code == 201, made.text
        with table_held(postgres_schema, held_by):
            declaring = in_background(service, "PUT", "/v1/_collections/people", declared)
            method, url, body = then
            answer, took = timed(http, method, url, json=body)
            assert answer.status_code < 300, answer.text
            assert took < PROMPTLY, f"{method} {url} waited {took:.1f} s for the declaration"
            deadline = time.monotonic() + 10
            while not declaring and time.monotonic() < deadline:
                time.sleep(0.05)
            [(refused, waited)] = declaring
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == "1"
            assert waited < GIVES_UP_WITHIN
        assert http.get("/v1/_collections/people").json()["unique"] == ["email"]
        again = http.put("/v1/_collections/people", json=declared)
        assert again.status_code == 200, again.text


def test_a_declaration_that_changes_no_key_takes_no_lock(
    service: ServiceProcess, postgres_schema: str
) -> None:
    """Access rules changed, keys as they were: answered at once while a write holds the table."""
    collection = f"people{uuid.uuid4().hex[:6]}"
    with service.client() as http:
        unique = {"unique": [["email"]]}
        assert http.put(f"/v1/_collections/{collection}", json=unique).status_code == 200
        assert http.put(f"/v1/{collection}/held", json={"email": "a@x"}).status_code == 201
        held = "UPDATE documents SET modified_us = modified_us WHERE id = 'held'"
        with table_held(postgres_schema, held):
            access = {**unique, "access": {"read": ["authenticated"]}}
            answer, took = timed(http, "PUT", f"/v1/_collections/{collection}", json=access)
            assert answer.status_code == 200, answer.text
            assert took < PROMPTLY
