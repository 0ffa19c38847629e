"""PostgreSQL's answer to a write lost: 504 outcome-unknown, and the key tells what happened.

The service talks to PostgreSQL through a proxy (tests/pg_proxy.py) that
breaks the connection of one statement: after PostgreSQL ran and committed
it, or before it got there. The service cannot tell the two apart, so both
are answered 504 ``outcome-unknown`` (never 503, which says nothing was
applied), and the very same request sent again with its Idempotency-Key
says which: the recorded answer, replayed, when the write was applied; the
write applied now when it was not. A read's lost answer is a plain 503.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from httpconflict._problem import PROBLEM_TYPE_BASE
from tests.pg_proxy import PgProxy, pg_proxy
from tests.servers import ServiceProcess, start_service

pytestmark = pytest.mark.postgres

JSON = {"content-type": "application/json"}
#: The text of the statement a PUT with If-Match sends.
GUARDED_UPDATE = b"WITH written AS (UPDATE documents"
READ = b"SELECT collection, id, version"


@pytest.fixture
def proxied(postgres_schema: str, tmp_path: Path) -> Iterator[tuple[ServiceProcess, PgProxy]]:
    """The service on PostgreSQL through a proxy that can lose one answer."""
    with (
        pg_proxy(postgres_schema) as proxy,
        start_service(
            proxy.url(postgres_schema), tmp_path, allowed_5xx=frozenset({503, 504})
        ) as service,
    ):
        yield service, proxy


def put(http: httpx.Client, url: str, n: int, etag: str, key: str) -> httpx.Response:
    headers = {**JSON, "If-Match": etag, "Idempotency-Key": key}
    return http.put(url, content=json.dumps({"n": n}), headers=headers)


def test_a_lost_answer_to_a_write_is_told_by_its_key(
    proxied: tuple[ServiceProcess, PgProxy],
) -> None:
    """Committed or not, a write whose connection broke is a 504; its key's resend says which."""
    service, proxy = proxied
    url = f"/v1/counters/{uuid.uuid4().hex}"
    with service.client() as http:
        created = http.put(url, content=b'{"n": 0}', headers={**JSON, "If-None-Match": "*"})
        assert created.status_code == 201

        # Applied, its answer lost: the resend is answered from the key.
        key = f'"{uuid.uuid4()}"'
        proxy.cut_answer_to(GUARDED_UPDATE)
        lost = put(http, url, 1, created.headers["etag"], key)
        assert proxy.cuts == 1
        assert lost.status_code == 504, lost.text
        assert lost.headers["retry-after"] == "1"
        problem = lost.json()
        assert problem["type"] == PROBLEM_TYPE_BASE + "outcome-unknown"
        assert problem["incident"]
        assert http.get(url).json() == {"n": 1}
        resent = put(http, url, 1, created.headers["etag"], key)
        assert resent.status_code == 200, resent.text
        assert resent.headers["idempotent-replayed"] == "true"
        assert http.get(url).json() == {"n": 1}

        # Not applied, the connection broken on the way: the resend applies it, once.
        key = f'"{uuid.uuid4()}"'
        proxy.cut_request_with(GUARDED_UPDATE)
        lost = put(http, url, 2, resent.headers["etag"], key)
        assert proxy.cuts == 2
        assert lost.status_code == 504, lost.text
        assert http.get(url).json() == {"n": 1}
        resent = put(http, url, 2, resent.headers["etag"], key)
        assert resent.status_code == 200, resent.text
        assert "idempotent-replayed" not in resent.headers
        assert http.get(url).json() == {"n": 2}


def test_a_lost_answer_to_a_read_is_unavailable(
    proxied: tuple[ServiceProcess, PgProxy],
) -> None:
    """A read whose connection broke is a 503 with Retry-After; the next read is answered."""
    service, proxy = proxied
    url = f"/v1/notes/{uuid.uuid4().hex}"
    with service.client() as http:
        assert http.put(url, content=b"{}", headers={**JSON, "If-None-Match": "*"}).is_success
        proxy.cut_answer_to(READ)
        lost = http.get(url)
        assert proxy.cuts == 1
        assert lost.status_code == 503, lost.text
        assert lost.headers["retry-after"] == "1"
        assert lost.json()["type"] == PROBLEM_TYPE_BASE + "unavailable"
        assert http.get(url).status_code == 200
