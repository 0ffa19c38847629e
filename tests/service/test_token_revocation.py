"""Revocation against a real two-worker service (SQLite and PostgreSQL) whose workers keep tokens.

Each worker keeps a valid token for `KEPT_FOR`; `token revoke` waits that
long after its commit, so once it has returned no worker takes the token.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from httpconflict.storage.tokens.kept import KEPT_FOR
from tests.servers import ServiceProcess, start_service

from .auth_helpers import bearer, create_token, database, token_cli


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def two_workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServiceProcess, str]]:
    with database(request, tmp_path_factory.mktemp("db")) as db:
        # Made before the service starts: the schema exists for the workers.
        create_token(db, "first", "writer")
        extra = ("--auth", "tokens", "--grant", "write=role:writer")
        with start_service(db, tmp_path_factory.mktemp("log"), workers=2, extra=extra) as service:
            yield service, db


def _put(http: httpx.Client, token: str, n: int) -> int:
    answer = http.put(f"/v1/rev/{uuid.uuid4().hex}", json={"n": n}, headers=bearer(token))
    return answer.status_code


def _spread(url: str, token: str, n: int) -> int:
    """One PUT on a connection of its own: the requests spread over both workers."""
    with httpx.Client(base_url=url, timeout=10) as http:
        return _put(http, token, n)


def test_no_worker_takes_a_token_once_revoke_has_returned(
    two_workers: tuple[ServiceProcess, str],
) -> None:
    """Requests keep both workers' memory of the token fresh until revoke returns; then 40 x 401."""
    service, db = two_workers
    name = f"kept-{uuid.uuid4().hex[:6]}"
    token = create_token(db, name, "writer")
    assert [_spread(service.url, token, n) for n in range(20)] == [201] * 20
    revoking = threading.Event()
    during: list[int] = []

    def keep_fresh() -> None:
        n = 0
        while not revoking.is_set():
            during.append(_spread(service.url, token, n))
            n += 1

    fresh = threading.Thread(target=keep_fresh)
    fresh.start()
    began = time.monotonic()
    try:
        done = token_cli(db, "revoke", name)
    finally:
        revoking.set()
        fresh.join()
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - began >= KEPT_FOR
    assert "no worker takes it" in done.stderr
    assert 201 in during  # the workers did keep the token while the command ran
    assert [_spread(service.url, token, n) for n in range(40)] == [401] * 40
