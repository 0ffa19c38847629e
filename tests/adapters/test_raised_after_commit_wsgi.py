"""A WSGI app that raised after it committed a write: its first answer is what its key replays.

The same rule as tests/adapters/test_two_step_writes.py's for ASGI, through
the WSGI middleware, under werkzeug's threaded server: the app
(two_step_wsgi.py) commits an order and raises. The key records "failed
after applying part of this request"; the client gets that answer too,
not the server's HTML 500, and the error is logged on the line of the
incident the answer names.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.own_database import own_database
from tests.servers import start_app

pytest.importorskip("sqlalchemy")
pytest.importorskip("psycopg")


@pytest.fixture(scope="module")
def served(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    with (
        own_database(postgres_server, "hc_raised_wsgi_app") as (_, database),
        own_database(postgres_server, "hc_raised_wsgi_keys") as (_, keys),
    ):
        env = {
            "TWO_STEP_DATABASE": database.replace("postgresql://", "postgresql+psycopg://"),
            "TWO_STEP_KEYS": keys,
        }
        log_dir = tmp_path_factory.mktemp("raised-wsgi")
        factory = "tests.adapters.two_step_wsgi:create"
        with start_app(factory, log_dir, env=env, wsgi=True) as url:
            yield url, log_dir


def _log(log_dir: Path) -> str:
    return "".join(path.read_text() for path in log_dir.glob("app-*.log"))


def test_a_raise_after_a_commit_answers_what_its_key_replays(served: tuple[str, Path]) -> None:
    from tests.adapters.two_step_wsgi import FAILED_AFTER_COMMIT

    url, log_dir = served
    key = str(uuid.uuid4())
    with httpx.Client(base_url=url, timeout=10) as http:
        before = http.get("/orders/count").json()["orders"]
        first, replay = (
            http.post("/orders/failing", json={"item": "tea"}, headers={"Idempotency-Key": key})
            for _ in range(2)
        )
        assert http.get("/orders/count").json()["orders"] - before == 1
    assert replay.headers.get("idempotent-replayed") == "true"
    assert first.headers.get("idempotent-replayed") is None
    assert first.status_code == replay.status_code == 500
    assert first.headers["content-type"] == replay.headers["content-type"]
    assert first.json() == replay.json()
    assert "after applying part of this request" in first.json()["detail"]
    incident = first.json()["incident"]
    deadline = time.monotonic() + 5
    while incident not in _log(log_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    said = [line for line in _log(log_dir).splitlines() if incident in line]
    assert len(said) == 1, "the error never reached the log under the answer's incident"
    assert FAILED_AFTER_COMMIT in said[0]
