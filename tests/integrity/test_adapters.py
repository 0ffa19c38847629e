"""The integration points, each in a real server process: a duplicate is a 409 naming the field.

FastAPI (SQLAlchemy, SQLite), Flask (psycopg, PostgreSQL) and Django
(mysqlclient, MariaDB) run the same users API (tests/apps/users*.py).
Errors that are not integrity violations stay the 500s they were.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.problems import assert_problem
from tests.servers import start_app

FRAMEWORKS = ("fastapi", "flask", "django")
_ids = itertools.count(1)


@pytest.fixture(scope="module", params=FRAMEWORKS)
def app_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    framework = request.param
    logs = tmp_path_factory.mktemp(framework)
    if framework == "fastapi":
        pytest.importorskip("fastapi")
        env = {"USERS_SQLITE": str(logs / "users.db")}
        target, wsgi = "tests.apps.users:create_fastapi", False
    elif framework == "flask":
        pytest.importorskip("flask")
        env = {"USERS_POSTGRES": request.getfixturevalue("postgres_module_schema")}
        target, wsgi = "tests.apps.users:create_flask", True
    else:
        pytest.importorskip("django")
        database: dict[str, Any] = request.getfixturevalue("mariadb_database")
        env = {"USERS_MYSQL_DB": str(database["database"])}
        target, wsgi = "tests.apps.users_django:create_app", True
    with start_app(target, logs, env=env, probe="/healthz", wsgi=wsgi) as url:
        yield url


def create(url: str, **user: Any) -> httpx.Response:
    return httpx.post(f"{url}/users", json={"id": next(_ids), **user}, timeout=10)


def test_a_duplicate_value_answers_409_naming_the_field(app_url: str) -> None:
    assert create(app_url, email="dup@example.com", handle="first").status_code == 201
    answer = create(app_url, email="dup@example.com", handle="second")
    body = assert_problem(answer, 409, "unique-violation")
    assert body["conflicts"] == [{"fields": ["email"], "constraint": "users_email_key"}]
    assert "dup@example.com" not in answer.text  # another caller's data stays out


def test_an_index_named_without_its_column_is_resolved(app_url: str) -> None:
    assert create(app_url, email="h1@example.com", handle="Zed").status_code == 201
    answer = create(app_url, email="h2@example.com", handle="ZED")
    body = assert_problem(answer, 409, "unique-violation")
    assert body["conflicts"] == [{"fields": ["handle"], "constraint": "ix_people_lookup"}]


def test_a_missing_required_field_is_a_422(app_url: str) -> None:
    body = assert_problem(create(app_url, email=None, handle="nobody"), 422, "not-null-violation")
    assert body["conflicts"][0]["fields"] == ["email"]


def test_the_refused_write_changed_nothing(app_url: str) -> None:
    assert create(app_url, email="once@example.com").status_code == 201
    assert create(app_url, email="once@example.com").status_code == 409
    assert create(app_url, email="twice@example.com").status_code == 201


@pytest.mark.parametrize("path", ["/broken", "/boom"])
def test_other_errors_are_left_alone(app_url: str, path: str) -> None:
    """Not taken for a conflict: a 500, at most the internal-error problem naming an incident."""
    answer = httpx.get(app_url + path, timeout=10)
    assert answer.status_code == 500
    if "problems/" in answer.text:  # an adapter whose install answers 500s (Flask)
        problem = answer.json()
        assert problem["type"].endswith("/internal-error"), problem
        assert problem["incident"], problem
