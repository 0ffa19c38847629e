"""The service on PostgreSQL as a role that may read and write its tables, and nothing more.

A least-privilege deployment: the tables are made by their owner (the
service started once as it), and the service then runs as a role granted
SELECT, INSERT, UPDATE and DELETE on them and USAGE on their sequences, no
right to create in the schema. PostgreSQL refuses such a role even a
``CREATE TABLE IF NOT EXISTS`` of a table that exists, so the service must
find its tables there instead of failing to start; and when one is missing
it must say which, and how to make it, in one line. Declaring a unique key
builds an index, which only the table's owner may do: the role does it
through the owner's function it is granted EXECUTE on, and without the
grant it is told so (a 403 naming the grant), never a 500.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.own_database import own_database
from tests.servers import free_port, start_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DOC = "/v1/least/counter"
GRANTS = """
GRANT CONNECT ON DATABASE {database} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
GRANT EXECUTE ON FUNCTION httpconflict_unique_index(text, text, text[], boolean) TO {role};
"""


@pytest.fixture
def tables_and_role(postgres_server: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(owner's URL, the read-write role's URL): the tables made by the owner, the role granted."""
    import psycopg

    role = f"hc_rw_{uuid.uuid4().hex[:10]}"
    with own_database(postgres_server, "hc_least") as (name, owner_url):
        with start_service(owner_url, tmp_path):  # makes the tables, as their owner
            pass
        with psycopg.connect(owner_url, autocommit=True) as owner:
            owner.execute(f"CREATE ROLE {role} LOGIN")
            owner.execute(GRANTS.format(database=name, role=role))
        try:
            yield owner_url, owner_url.replace("postgres@", f"{role}@", 1)
        finally:
            with psycopg.connect(owner_url, autocommit=True) as owner:
                owner.execute(f"DROP OWNED BY {role}")
            with psycopg.connect(postgres_server, autocommit=True) as admin:
                admin.execute(
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE usename = '{role}'"
                )
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {role}")


def test_a_read_write_role_serves_on_tables_its_owner_made(
    tables_and_role: tuple[str, str], tmp_path: Path
) -> None:
    """Writes, keyed POSTs and the feed work; no 5xx (start_service fails on any)."""
    _, role_url = tables_and_role
    with (
        start_service(role_url, tmp_path) as service,
        httpx.Client(base_url=service.url, timeout=10) as http,
    ):
        created = http.put(DOC, json={"n": 0}, headers={"If-None-Match": "*"})
        assert created.status_code == 201, created.text
        for n in range(1, 6):
            read = http.get(DOC)
            written = http.put(DOC, json={"n": n}, headers={"If-Match": read.headers["etag"]})
            assert written.status_code == 200, written.text
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first, again = (http.post("/v1/least-posts", json={}, headers=key) for _ in "12")
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.headers["idempotent-replayed"] == "true"
        feed = http.get("/v1/least/_changes", params={"since": 0}).json()["results"]
        assert [c["version"] for c in feed] == [1, 2, 3, 4, 5, 6]
        assert http.get("/healthz").status_code == 200


def test_a_missing_table_is_named_when_the_role_may_not_make_it(
    tables_and_role: tuple[str, str],
) -> None:
    """One line naming what is missing and what to do; no traceback."""
    import psycopg

    owner_url, role_url = tables_and_role
    with psycopg.connect(owner_url, autocommit=True) as owner:
        owner.execute("DROP INDEX changes_by_collection")
    command = [sys.executable, "-m", "httpconflict.cli", "serve", "--db", role_url]
    ended = subprocess.run(
        [*command, "--port", str(free_port())], capture_output=True, text=True, timeout=60
    )
    assert ended.returncode != 0
    said = ended.stderr.strip().splitlines()
    assert len(said) == 1, ended.stderr
    assert "changes_by_collection is not there" in said[0]
    assert "start the service once as the tables' owner" in said[0]


def test_a_role_granted_before_history_kept_existed_serves_and_is_told(
    tables_and_role: tuple[str, str], tmp_path: Path
) -> None:
    """No right on `history_kept` (granted before it existed): it serves; the log names the
    GRANT."""
    import psycopg

    owner_url, role_url = tables_and_role
    role = role_url.split("://", 1)[1].split("@", 1)[0]
    with psycopg.connect(owner_url, autocommit=True) as owner:
        owner.execute(f"REVOKE ALL ON history_kept FROM {role}")
    with (
        start_service(role_url, tmp_path) as service,
        httpx.Client(base_url=service.url, timeout=10) as http,
    ):
        created = http.put(DOC, json={"n": 0}, headers={"If-None-Match": "*"})
        assert created.status_code == 201, created.text
        said = service.log_path.read_text()
    assert f"GRANT SELECT, INSERT, UPDATE ON history_kept TO {role}" in said, said[-2000:]


def unique_indexes(owner_url: str) -> int:
    """How many unique keys' indexes the database holds."""
    import psycopg

    with psycopg.connect(owner_url) as owner:
        (count,) = owner.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'documents_unique_%'"
        ).fetchone() or (0,)
    return int(count)


def test_the_role_declares_and_drops_unique_keys_enforced_by_their_index(
    tables_and_role: tuple[str, str], tmp_path: Path
) -> None:
    """200 for the declaration, 409 for a duplicate, 200 for the drop: the index came and went."""
    owner_url, role_url = tables_and_role
    with (
        start_service(role_url, tmp_path) as service,
        httpx.Client(base_url=service.url, timeout=10) as http,
    ):
        declared = http.put("/v1/_collections/least-users", json={"unique": ["email"]})
        assert declared.status_code == 200, declared.text
        assert declared.json()["unique"] == ["email"]
        new = {"If-None-Match": "*"}
        first = http.put("/v1/least-users/a", json={"email": "x@example.com"}, headers=new)
        assert first.status_code == 201, first.text
        again = http.put("/v1/least-users/b", json={"email": "x@example.com"}, headers=new)
        assert again.status_code == 409, again.text
        assert again.json()["conflicts"][0]["fields"] == ["email"]
        assert unique_indexes(owner_url) == 1

        dropped = http.put("/v1/_collections/least-users", json={"unique": []})
        assert dropped.status_code == 200, dropped.text
        now = http.put("/v1/least-users/b", json={"email": "x@example.com"}, headers=new)
        assert now.status_code == 201, now.text
        assert unique_indexes(owner_url) == 0


FUNCTION = "httpconflict_unique_index(text, text, text[], boolean)"


@pytest.mark.parametrize(
    ("undo", "why"),
    [
        pytest.param(
            "REVOKE EXECUTE ON FUNCTION {function} FROM {role}", "no EXECUTE", id="revoked"
        ),
        pytest.param("DROP FUNCTION {function}", "cannot find it", id="not-made-yet"),
    ],
)
def test_a_role_not_granted_the_function_is_told_what_to_grant(
    tables_and_role: tuple[str, str], tmp_path: Path, undo: str, why: str
) -> None:
    """No EXECUTE right, or no function (tables set up by an older version): 403 naming the
    grant, nothing changed."""
    import psycopg

    owner_url, role_url = tables_and_role
    role = role_url.split("://", 1)[1].split("@", 1)[0]
    with psycopg.connect(owner_url, autocommit=True) as owner:
        owner.execute(undo.format(function=FUNCTION, role=role))
    with (
        start_service(role_url, tmp_path) as service,
        httpx.Client(base_url=service.url, timeout=10) as http,
    ):
        refused = http.put("/v1/_collections/least-users", json={"unique": ["email"]})
        assert refused.status_code == 403, refused.text
        problem = refused.json()
        assert problem["type"].endswith("/problems/database-right-missing")
        assert problem["role"] == role
        assert why in problem["detail"]
        assert (
            f"GRANT EXECUTE ON FUNCTION httpconflict_unique_index(text, text, text[], boolean) "
            f"TO {role}" in problem["detail"]
        )
        assert http.get("/v1/_collections/least-users").json()["unique"] == []
        # Keyed, the refusal is the request's answer, replayed to its retries as any 4xx.
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first, again = (
            http.put("/v1/_collections/least-users", json={"unique": ["email"]}, headers=key)
            for _ in "12"
        )
        assert (first.status_code, again.status_code) == (403, 403), again.text
        assert again.headers.get("idempotent-replayed") == "true"


def test_public_may_not_build_indexes_through_the_function(
    tables_and_role: tuple[str, str], postgres_server: str
) -> None:
    """The function runs with its owner's rights: only a role granted it may call it."""
    import psycopg

    owner_url, _ = tables_and_role
    with psycopg.connect(owner_url) as owner:
        (public,) = owner.execute(
            "SELECT has_function_privilege('public', "
            "'httpconflict_unique_index(text, text, text[], boolean)', 'EXECUTE')"
        ).fetchone() or (None,)
    assert public is False
