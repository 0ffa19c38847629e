"""8 clients increment one note with If-Match: not one update is lost, on every target.

Pure counters: each client reads the note and PUTs ``count + 1``, nothing
else of its own, so two clients that read the same count send the very
same body (as real clients do). Exactly one of them may win; the
invariant is exact: the final count equals the number of 2xx answers.

8 x 5 is enough to fail: the service on PostgreSQL with a check-then-write
store (tried by hand, see tests/service/test_lost_update.py) lost 11 to 17
of the 40 increments in each of 11 runs.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.backoff import backoff
from tests.conformance.targets import Target

CLIENTS = 8
INCREMENTS = 5

pytestmark = pytest.mark.slow


def test_eight_clients_lose_no_update(target: Target) -> None:
    """8 clients x 5 read-then-PUT increments with If-Match, retrying on 412: none lost."""
    with target.client() as http:
        created = http.post("/v1/notes", json={"title": "counter", "count": 0, "writer": "-"})
        assert created.status_code == 201, created.text
        url = httpx.URL(created.headers["location"]).path
    succeeded: list[int] = []
    refused: list[int] = []
    failures: list[str] = []

    def client() -> None:
        with target.client() as http:
            for _ in range(INCREMENTS):
                in_a_row = 0
                while True:
                    began = time.monotonic()
                    read = http.get(url)
                    count = read.json()["count"]
                    body = {"title": "counter", "count": count + 1, "writer": "-"}
                    answer = http.put(url, json=body, headers={"If-Match": read.headers["etag"]})
                    if 200 <= answer.status_code < 300:
                        succeeded.append(count + 1)
                        break
                    if answer.status_code != 412:
                        failures.append(f"{answer.status_code} {answer.text}")
                        return
                    refused.append(count + 1)
                    in_a_row += 1
                    time.sleep(backoff(in_a_row, time.monotonic() - began))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:3]
    with target.client() as http:
        final = http.get(url).json()["count"]
    print(
        f"{target.name}: {len(succeeded)} increments, {len(refused)} refused (412), final {final}"
    )
    assert len(succeeded) == CLIENTS * INCREMENTS
    assert final == len(succeeded)
    assert sorted(succeeded) == list(range(1, final + 1))  # no count written twice
    assert refused, "no write was ever refused: the clients did not race"
