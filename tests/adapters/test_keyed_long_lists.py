"""IdempotencyMiddleware, ASGI and WSGI: a keyed write with a header list past its limit is a 431.

A key's fingerprint reads the fields that change a request's meaning
(Prefer, If-Match, Content-Encoding...) as lists; one of more than 1,000
elements is refused before a key is claimed or the app runs, as
`HeaderFieldTooLarge` (431 problem naming the field), never a 500. The same
key, sent again on a sound request, then makes its order once. Apps as in
tests/adapters/test_cut_body.py: plain ASGI and FastAPI under uvicorn,
plain WSGI and Flask under werkzeug, each counting its orders.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.adapters.test_cut_body import APPS, App, count
from tests.problems import assert_problem
from tests.servers import start_app

LONG_LISTS = {
    "Prefer": "," * 20_000,
    "If-Match": ",".join(['""'] * 5_000),
    "Content-Encoding": "identity," * 2_000,
}


@pytest.fixture(scope="module", params=APPS, ids=lambda a: a.name)
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Each app as a real server process on the memory store."""
    each: App = request.param
    with start_app(
        each.factory,
        tmp_path_factory.mktemp("app"),
        env={"ORDERS_STORE": "memory"},
        wsgi=each.wsgi,
    ) as address:
        yield address


@pytest.mark.parametrize("field", sorted(LONG_LISTS))
def test_a_keyed_write_with_a_list_past_the_limit_is_a_431(url: str, field: str) -> None:
    """431 naming the field at once, no order; the key then makes one order, once."""
    key = f'"{uuid.uuid4()}"'
    with httpx.Client(base_url=url, timeout=10) as http:
        before = count(http)
        started = time.monotonic()
        refused = http.post(
            "/orders",
            json={"item": "a"},
            headers={"Idempotency-Key": key, field: LONG_LISTS[field]},
        )
        assert time.monotonic() - started < 2
        assert assert_problem(refused, 431)["header"] == field
        assert count(http) == before
        for _ in range(2):
            made = http.post("/orders", json={"item": "a"}, headers={"Idempotency-Key": key})
            assert made.status_code == 201, made.text
        assert count(http) == before + 1
