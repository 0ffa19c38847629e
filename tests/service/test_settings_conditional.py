"""A collection's settings are written under their ETag: concurrent admins lose no edit.

``PUT /v1/_collections/{c}`` replaces the settings as a whole, so two
admins who each read them and add a rule would, unchecked, leave only the
later one's. The settings answer with an ETag, and If-Match is checked in
the transaction that replaces them. The hammer is a pure counter: each
client reads the settings, adds the next role (``role:n{count}``, named by
the count read, not by the client) to the read rule, and writes with
If-Match, again after a 412; at the end the rule holds exactly as many
roles as writes were answered 200. Without the check it holds fewer.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.problems import assert_problem
from tests.servers import TLS, ServiceProcess

CLIENTS = 8
EDITS = 4


def _settings(roles: list[str]) -> dict[str, object]:
    return {"unique": [], "access": {"read": roles}}


def test_settings_answer_with_an_etag_and_304(two_worker_service: ServiceProcess) -> None:
    """GET and PUT answer the settings' ETag; a GET naming it is 304."""
    url = f"/v1/_collections/c{uuid.uuid4().hex[:12]}"
    with two_worker_service.client() as http:
        first = http.get(url)
        assert first.status_code == 200
        again = http.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        written = http.put(url, json=_settings(["role:a"]))
        assert written.status_code == 200
        assert written.headers["etag"] != first.headers["etag"]
        assert http.get(url).headers["etag"] == written.headers["etag"]


def test_a_stale_if_match_is_412_and_changes_nothing(two_worker_service: ServiceProcess) -> None:
    """A PUT from settings read before another admin's write is refused naming the current ETag."""
    url = f"/v1/_collections/c{uuid.uuid4().hex[:12]}"
    with two_worker_service.client() as http:
        read = http.get(url).headers["etag"]
        current = http.put(url, json=_settings(["role:a"]), headers={"If-Match": read})
        assert current.status_code == 200
        stale = http.put(url, json=_settings(["role:b"]), headers={"If-Match": read})
        problem = assert_problem(stale, 412, "precondition-failed")
        assert problem["current_etag"] == current.headers["etag"]
        exists = http.put(url, json=_settings(["role:b"]), headers={"If-None-Match": "*"})
        assert "exists" in assert_problem(exists, 412, "precondition-failed")["detail"]
        assert http.get(url).json()["access"]["read"] == ["role:a"]


async def _edit(base: str, url: str) -> int:
    """Add EDITS roles, each read-then-write with If-Match, again after a 412; the 200s."""
    written = 0
    async with httpx.AsyncClient(base_url=base, timeout=30, verify=TLS) as http:
        while written < EDITS:
            read = await http.get(url)
            assert read.status_code == 200
            roles = read.json().get("access", {}).get("read", [])
            answer = await http.put(
                url,
                json=_settings([*roles, f"role:n{len(roles)}"]),
                headers={"If-Match": read.headers["etag"]},
            )
            assert answer.status_code in (200, 412), answer.text
            written += answer.status_code == 200
    return written


def test_concurrent_admins_lose_no_edit(two_worker_service: ServiceProcess) -> None:
    """8 clients x 4 read-modify-writes on 2 workers: the rule holds one role per 200."""
    url = f"/v1/_collections/c{uuid.uuid4().hex[:12]}"

    async def hammer() -> list[int]:
        return await asyncio.gather(*(_edit(two_worker_service.url, url) for _ in range(CLIENTS)))

    successes = sum(asyncio.run(hammer()))
    with two_worker_service.client() as http:
        roles = http.get(url).json()["access"]["read"]
    assert successes == CLIENTS * EDITS
    assert len(roles) == successes, f"{successes} writes answered 200, {len(roles)} kept"
    # Kept as a set (sorted): each count once.
    assert set(roles) == {f"role:n{n}" for n in range(successes)}
