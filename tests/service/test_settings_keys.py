"""A collection's settings PUT with an Idempotency-Key: a retry is a replay, not a second write.

An admin's PUT of the settings with If-Match whose answer was lost is
retried with the same key: it gets the 200 it made, marked replayed, and
not a 412 for its own write. The same key with other settings is a 422,
and identical keyed PUTs sent at once replace the settings once. On both
stores, with two workers (one service per store for the module's tests).
"""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.problems import assert_problem
from tests.servers import TLS, ServiceProcess

AT_ONCE = 12


def _url() -> str:
    return f"/v1/_collections/c{uuid.uuid4().hex[:12]}"


def _settings(roles: list[str]) -> dict[str, object]:
    return {"unique": [], "access": {"read": roles}}


def test_a_retried_settings_put_is_replayed_not_refused(two_worker_service: ServiceProcess) -> None:
    """The retry gets the first 200 and its ETag; another key with the same ETag is a 412."""
    url = _url()
    with two_worker_service.client() as http:
        read = http.get(url).headers["etag"]
        headers = {"If-Match": read, "Idempotency-Key": '"settings-1"'}
        first = http.put(url, json=_settings(["role:a"]), headers=headers)
        again = http.put(url, json=_settings(["role:a"]), headers=headers)
        assert first.status_code == again.status_code == 200, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert again.headers["etag"] == first.headers["etag"]
        assert again.content == first.content
        other = http.put(
            url,
            json=_settings(["role:a"]),
            headers={**headers, "Idempotency-Key": '"settings-2"'},
        )
        assert_problem(other, 412, "precondition-failed")
        assert http.get(url).headers["etag"] == first.headers["etag"]


def test_the_same_key_with_other_settings_is_422(two_worker_service: ServiceProcess) -> None:
    """A key names one request: reused for other settings, it is refused and changes nothing."""
    url = _url()
    with two_worker_service.client() as http:
        headers = {"Idempotency-Key": '"settings-reused"'}
        first = http.put(url, json=_settings(["role:a"]), headers=headers)
        assert first.status_code == 200
        reused = http.put(url, json=_settings(["role:b"]), headers=headers)
        assert_problem(reused, 422, "idempotency-key-reused")
        assert http.get(url).json()["access"]["read"] == ["role:a"]


def test_identical_keyed_puts_at_once_write_once(two_worker_service: ServiceProcess) -> None:
    """AT_ONCE copies of one keyed If-Match PUT: one write; the rest replay it or wait (409)."""
    url = _url()
    with two_worker_service.client() as http:
        read = http.get(url).headers["etag"]
    headers = {"If-Match": read, "Idempotency-Key": f'"{uuid.uuid4()}"'}

    async def one() -> httpx.Response:
        async with httpx.AsyncClient(
            base_url=two_worker_service.url, timeout=30, verify=TLS
        ) as client:
            return await client.put(url, json=_settings(["role:once"]), headers=headers)

    async def all_at_once() -> list[httpx.Response]:
        return await asyncio.gather(*(one() for _ in range(AT_ONCE)))

    answers = asyncio.run(all_at_once())
    written = [a for a in answers if a.status_code == 200]
    assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
    assert sum("idempotent-replayed" not in a.headers for a in written) == 1
    assert len({a.headers["etag"] for a in written}) == 1
    for conflict in (a for a in answers if a.status_code == 409):
        assert_problem(conflict, 409, "idempotency-key-in-flight")
    with two_worker_service.client() as http:
        assert http.get(url).headers["etag"] == written[0].headers["etag"]
