"""Creates racing for one unique value: the index decides, on a real server with 2 workers.

Each round, 20 clients create a document with the same email at once:
half POST (every other one with an Idempotency-Key, whose answer is
recorded in the document's transaction), half PUT If-None-Match: * on ids
of their own, so no primary key is shared and only the unique index can
refuse them. Exactly one gets 201; the other 19 get 409 unique-violation
naming the field, never a 500 and never a second document. A check before
the write (SELECT, then INSERT) would let several through.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import ServiceProcess, start_service

CLIENTS = 20
ROUNDS = 5

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgres"])
def two_workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    if request.param == "sqlite":
        db = str(tmp_path_factory.mktemp("race") / "race.db")
    else:
        db = request.getfixturevalue("postgres_schema")
    with start_service(db, tmp_path_factory.mktemp("log"), workers=2) as service:
        yield service


async def create(base: str, collection: str, client: int, email: str) -> httpx.Response:
    # No keep-alive: each request is a new connection, so the kernel spreads
    # the clients over both worker processes.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        body = {"email": email, "client": client}
        if client % 2:
            url = f"/v1/{collection}/{uuid.uuid4().hex}"
            return await http.put(url, json=body, headers={"If-None-Match": "*"})
        headers = {"Idempotency-Key": f'"{uuid.uuid4()}"'} if client % 4 == 0 else {}
        return await http.post(f"/v1/{collection}", json=body, headers=headers)


async def race(base: str, collection: str, email: str) -> list[httpx.Response]:
    return await asyncio.gather(*(create(base, collection, n, email) for n in range(CLIENTS)))


def test_one_create_wins_each_race(two_workers: ServiceProcess) -> None:
    """20 concurrent creates of one email, 5 rounds: one 201 and 19 409s each round."""
    collection = f"users-{uuid.uuid4().hex[:12]}"
    with two_workers.client() as http:
        declared = http.put(f"/v1/_collections/{collection}", json={"unique": ["email"]})
        assert declared.status_code == 200, declared.text
    for turn in range(ROUNDS):
        email = f"user-{turn}@example.com"
        responses = asyncio.run(race(two_workers.url, collection, email))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * (CLIENTS - 1), [r.text for r in responses]
        for response in responses:
            if response.status_code == 409:
                problem = response.json()
                assert problem["type"] == "https://httpconflict.dev/problems/unique-violation"
                assert problem["conflicts"][0]["fields"] == ["email"]
                assert email not in response.text
    with two_workers.client() as http:
        items = http.get(f"/v1/{collection}?limit=1000").json()["items"]
    assert sorted(item["document"]["email"] for item in items) == [
        f"user-{turn}@example.com" for turn in range(ROUNDS)
    ]
    # Both worker processes answered, so each had to learn of the index.
    assert len({r["worker"] for r in two_workers.access_log()}) == 2
