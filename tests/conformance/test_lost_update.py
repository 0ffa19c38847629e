"""16 clients increment one note with If-Match: not one update is lost, on every target."""

from __future__ import annotations

import threading

import httpx

from tests.conformance.targets import Target

CLIENTS = 16
INCREMENTS = 15


def test_sixteen_clients_lose_no_update(target: Target) -> None:
    with target.client() as http:
        created = http.post("/v1/notes", json={"title": "counter", "count": 0, "writer": "-"})
        assert created.status_code == 201, created.text
        url = httpx.URL(created.headers["location"]).path
    written: list[int] = []
    failures: list[str] = []

    def client(number: int) -> None:
        with target.client() as http:
            for step in range(INCREMENTS):
                while True:
                    read = http.get(url)
                    count = read.json()["count"]
                    # Each write is distinct (its writer), or identical writes
                    # from one stale ETag could all "succeed" (RFC 9110 §13.1.1).
                    body = {"title": "counter", "count": count + 1, "writer": f"{number}-{step}"}
                    answer = http.put(url, json=body, headers={"If-Match": read.headers["etag"]})
                    if answer.status_code == 200:
                        written.append(count + 1)
                        break
                    if answer.status_code != 412:
                        failures.append(f"{answer.status_code} {answer.text}")
                        return

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:3]
    with target.client() as http:
        final = http.get(url).json()["count"]
    assert len(written) == CLIENTS * INCREMENTS
    assert final == CLIENTS * INCREMENTS
    assert sorted(written) == list(range(1, CLIENTS * INCREMENTS + 1))  # no value written twice
