"""A feed held by an open transaction: the 503 says so, not that the database is down.

Found by an adversarial run: while a transaction outside the service held
the next change's seq, a feed request to a worker whose feed was not
running waited 5 s and got 503 "the database does not answer", while
/healthz said the database was up and documents were served.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
import pytest

from tests.servers import start_service

pytestmark = pytest.mark.postgres


def test_a_feed_held_by_an_open_transaction_says_so(postgres_schema: str, tmp_path: Path) -> None:
    """503 naming the open transaction after the start wait; the page once it has ended."""
    with start_service(postgres_schema, tmp_path, allowed_5xx=frozenset({503})) as service:
        made = httpx.put(f"{service.url}/v1/n/a", json={"n": 1}, headers={"If-None-Match": "*"})
        assert made.status_code == 201
        with psycopg.connect(postgres_schema) as outside:
            outside.execute(
                "INSERT INTO changes SELECT nextval('changes_seq'), 'n', 'outside', 1, 'e', 1"
            )
            held = httpx.get(f"{service.url}/v1/n/_changes", params={"since": 0}, timeout=20)
            assert httpx.get(f"{service.url}/healthz").status_code == 200
            outside.rollback()
        assert held.status_code == 503, held.text
        assert held.headers["retry-after"] == "1"
        detail = held.json()["detail"]
        assert "transaction" in detail
        assert "does not answer" not in detail
        page = httpx.get(f"{service.url}/v1/n/_changes", params={"since": 0}, timeout=20)
        assert page.status_code == 200, page.text
        assert [r["id"] for r in page.json()["results"]] == ["a"]
