"""Lost updates: 16 real concurrent clients hammering one counter on a real server.

Each client does 50 read-modify-write increments: GET the counter, PUT
n + 1 with If-Match, and on 412 start over from a fresh GET. Every PUT body
names its writer and sequence number, so no two writes are equal and the
"already succeeded" rule cannot turn a lost race into a phantom 200 (see
DESIGN). The invariant is exact: final counter == successful writes.

The same clients against the blind-write path (no If-Match, the server
started with --blind-writes) lose increments: proof that the test can fail.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.servers import ServiceProcess, start_service

CLIENTS = 16
INCREMENTS = 50
URL = "/v1/counters/hits"
JSON = {"content-type": "application/json"}

pytestmark = pytest.mark.slow


@dataclass
class Tally:
    successes: int = 0
    stale: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def note(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def client_loop(base: str, writer: int, tally: Tally, *, conditional: bool) -> None:
    # No keep-alive: each request is a new connection, so the kernel spreads
    # the clients over both worker processes instead of pinning each to one.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        seq = 0
        while seq < INCREMENTS:
            current = await http.get(URL)
            assert current.status_code == 200
            n = current.json()["n"]
            body = json.dumps({"n": n + 1, "writer": writer, "seq": seq})
            headers = {**JSON, "If-Match": current.headers["etag"]} if conditional else JSON
            response = await http.put(URL, content=body, headers=headers)
            tally.note(response.status_code)
            if response.status_code == 200:
                tally.successes += 1
                seq += 1
            elif response.status_code == 412:
                assert response.json()["current_etag"] != current.headers["etag"]
                tally.stale += 1
            else:
                pytest.fail(f"unexpected {response.status_code}: {response.text}")


def hammer(base: str, *, conditional: bool) -> tuple[int, Tally]:
    """Run the clients against a fresh counter; return (final counter, tally)."""
    with httpx.Client(base_url=base) as http:
        created = http.put(URL, content=b'{"n": 0}', headers={**JSON, "If-None-Match": "*"})
        assert created.status_code == 201, created.text
    tally = Tally()

    async def run() -> None:
        await asyncio.gather(
            *(client_loop(base, w, tally, conditional=conditional) for w in range(CLIENTS))
        )

    asyncio.run(run())
    with httpx.Client(base_url=base) as http:
        final: int = http.get(URL).json()["n"]
    return final, tally


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return str(tmp_path_factory.mktemp("hammer") / "counter.db")
    url: str = request.getfixturevalue("postgres_schema")
    return url


@pytest.fixture
def two_workers(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    with start_service(database, tmp_path_factory.mktemp("log"), workers=2) as service:
        yield service


def test_if_match_loses_no_update(two_workers: ServiceProcess) -> None:
    """16 clients x 50 increments with If-Match, 2 workers: counter == successful writes == 800."""
    final, tally = hammer(two_workers.url, conditional=True)
    assert tally.successes == CLIENTS * INCREMENTS
    assert final == tally.successes
    # The clients really raced: without contention the test would prove nothing.
    assert tally.stale > 0
    assert set(tally.statuses) == {200, 412}
    # Both worker processes served the race.
    assert len({r["worker"] for r in two_workers.access_log()}) == 2
    print(f"if-match: {tally.successes} writes, {tally.stale} stale (412) retries, final {final}")


def test_blind_writes_lose_updates(database: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same clients without If-Match, against --blind-writes: increments are lost."""
    log_dir = tmp_path_factory.mktemp("log")
    with start_service(database, log_dir, workers=2, extra=("--blind-writes",)) as service:
        final, tally = hammer(service.url, conditional=False)
    assert tally.successes == CLIENTS * INCREMENTS
    assert final < tally.successes, "no increment was lost: the hammer is not concurrent enough"
    print(f"blind: {tally.successes} writes, final {final}, lost {tally.successes - final}")
