"""Long and pathological header lists against the service, beside a pure counter.

Each hostile request is a 4xx problem at once and changes nothing, keyed
or not; meanwhile a counter (read n, PUT n + 1 with If-Match) keeps
writing, its final value is its number of 200s, and /healthz answers
quickly. Before, one If-Match of 60,000 commas and a letter held the
worker for some 30 s, one Content-Type of 30,000 escaped quotes some
26 s, and a list of 20,000 entity-tags or preferences 85-300 ms.
"""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest

from tests.hostile.support import JSON, MERGE, Watched, assert_refused, create, snapshot

TAGS = ",".join(['""'] * 20_000)


def hostile(etag: str, keyed: bool) -> list[tuple[str, dict[str, str], int]]:
    """(method, header fields, status) of each hostile write or read.

    A keyed write's fingerprint reads its If-Match as a list first: past
    its 1,000 elements, that is the 431.
    """
    commas = 431 if keyed else 400
    return [
        ("PUT", {"content-type": JSON, "If-Match": "," * 60_000 + "x"}, commas),
        ("GET", {"If-None-Match": '"a"' + " ," * 30_000 + "x"}, 400),
        ("PUT", {"content-type": JSON, "If-Match": TAGS}, 431),
        ("GET", {"If-None-Match": TAGS}, 431),
        ("PATCH", {"content-type": MERGE, "If-Match": etag, "Prefer": "," * 60_000}, 431),
        ("PUT", {"content-type": '\\"' * 30_000 + ", x/y", "If-Match": etag}, 400),
    ]


def counter(http: httpx.Client, url: str, stop: threading.Event, wins: list[int]) -> None:
    """Read n, write n + 1 with If-Match until `stop`; count the 200s."""
    while not stop.is_set():
        read = http.get(url)
        n = read.json()["n"]
        written = http.put(
            url,
            content=b'{"n": %d}' % (n + 1),
            headers={"content-type": JSON, "If-Match": read.headers["etag"]},
        )
        assert written.status_code in (200, 412), written.text
        wins[0] += written.status_code == 200


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "keyed"])
def test_hostile_lists_are_refused_at_once_beside_a_counter(
    watched: Watched, http: httpx.Client, keyed: bool
) -> None:
    """Every hostile list is its 4xx in under 2 s; the counter adds up; /healthz stays quick."""
    collection = f"l{uuid.uuid4().hex[:12]}"
    target, target_etag = create(http, collection)
    counted, _ = create(http, collection, b'{"n": 0}')
    stop, wins = threading.Event(), [0]
    with watched.service.client() as writer:
        thread = threading.Thread(target=counter, args=(writer, counted, stop, wins))
        thread.start()
        try:
            before = snapshot(http, target)
            health = []
            for method, fields, status in hostile(target_etag, keyed):
                if keyed and method != "GET":
                    fields = {**fields, "Idempotency-Key": uuid.uuid4().hex}
                started = time.monotonic()
                answer = http.request(
                    method, target, content=b'{"n": 9}', headers=fields, timeout=10
                )
                took = time.monotonic() - started
                assert assert_refused(answer)["status"] == status, (method, answer.text[:300])
                assert took < 2, f"{method} {list(fields)} took {took:.1f} s"
                started = time.monotonic()
                assert http.get("/healthz", timeout=10).status_code == 200
                health.append(time.monotonic() - started)
            assert snapshot(http, target) == before
            assert max(health) < 1, health
        finally:
            stop.set()
            thread.join()
    assert http.get(counted).json()["n"] == wins[0]
