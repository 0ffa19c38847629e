"""A patch setting a column to a value its type does not hold: 422, on each database.

The FastAPI app (tests/adapters/fastapi_notes.py) patches gauges, rows
with a text, integer (32, 16 and 64 bits), boolean, float and timestamp
column, with `httpconflict.sqlalchemy.versioned_patch`, run as a server on
a SQLite file, a PostgreSQL schema and a MariaDB database. Before the write
was checked, PostgreSQL and MariaDB refused most of these in the driver (a
500), or stored another value than was sent (5 in the text column read
back "5", 1.5 in an integer one 2, 1 in the boolean one true), and SQLite
took any of them, or refused an ISO 8601 timestamp its driver wanted as a
`datetime` (a 500 for every patch of a row with a timestamp).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.problems import assert_problem
from tests.servers import start_app

MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "mariadb"],
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, str]]:
    """The app on each database: a client, and the database's name."""
    tmp = tmp_path_factory.mktemp(f"typed-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'gauges.db'}"
    elif request.param == "postgres":
        url = request.getfixturevalue("postgres_module_schema")
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        url = request.getfixturevalue("mariadb_module_url")
    env = {"ADAPTERS_DATABASE": url, "ADAPTERS_SQLITE": ""}
    with (
        start_app(
            "tests.adapters.fastapi_notes:create_app", tmp, env=env, probe="/healthz"
        ) as base,
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        yield client, request.param


@pytest.fixture
def http(served: tuple[httpx.Client, str]) -> httpx.Client:
    return served[0]


def gauge(http: httpx.Client) -> tuple[str, str, dict[str, Any]]:
    created = http.post("/gauges")
    assert created.status_code == 201, created.text
    body = created.json()
    return f"/gauges/{body.pop('id')}", created.headers["etag"], body


MISFITS = [
    pytest.param({"label": 5}, id="number-into-text"),
    pytest.param({"label": True}, id="boolean-into-text"),
    pytest.param({"level": "abc"}, id="word-into-integer"),
    pytest.param({"level": "1.5"}, id="fraction-string-into-integer"),
    pytest.param({"level": " 5"}, id="padded-string-into-integer"),
    pytest.param({"level": str(2**70)}, id="huge-string-into-integer"),
    pytest.param({"level": True}, id="boolean-into-integer"),
    pytest.param({"level": 1.5}, id="fraction-into-integer"),
    pytest.param({"level": 2**70}, id="huge-number-into-integer"),
    pytest.param({"big": 2**63}, id="past-64-bits-into-bigint"),
    pytest.param({"on": 1}, id="number-into-boolean"),
    pytest.param({"on": "yes"}, id="string-into-boolean"),
    pytest.param({"ratio": "abc"}, id="string-into-float"),
    pytest.param({"ratio": "1e999"}, id="infinite-string-into-float"),
    pytest.param({"ratio": True}, id="boolean-into-float"),
    pytest.param({"at": 5}, id="number-into-timestamp"),
    pytest.param({"at": "abc"}, id="word-into-timestamp"),
    pytest.param({"label": {"a": 1}}, id="object-into-text"),
    pytest.param({"level": "1" * 5000}, id="string-past-int-max-str-digits-into-integer"),
    pytest.param({"at": "2024-05-31T13:45:00+02:00"}, id="offset-into-timestamp-without-zone"),
    pytest.param({"at": "2024-05-31T13:45:00Z"}, id="utc-into-timestamp-without-zone"),
    pytest.param({"level": "\u0665"}, id="arabic-indic-digit-into-integer"),
    pytest.param({"level": "1_000"}, id="underscored-string-into-integer"),
    pytest.param({"level": "0x10"}, id="hex-string-into-integer"),
    pytest.param({"ratio": "NaN"}, id="nan-string-into-float"),
    pytest.param({"at": "2024-02-30"}, id="february-30th-into-timestamp"),
    pytest.param({"at": "2016-12-31T23:59:60"}, id="leap-second-into-timestamp"),
]


@pytest.mark.parametrize("patch", MISFITS)
def test_a_value_its_column_does_not_hold_is_422_naming_the_member(
    http: httpx.Client, patch: dict[str, Any]
) -> None:
    """422 invalid-document naming the member, never a 500; the row as it was."""
    url, etag, before = gauge(http)
    answer = http.patch(url, json=patch, headers={**MERGE, "If-Match": etag})
    problem = assert_problem(answer, 422, "invalid-document")
    (member,) = patch
    assert problem["members"] == [member], problem
    after = http.get(url)
    assert (after.headers["etag"], after.json()) == (etag, before)


def test_values_the_columns_hold_are_written_as_sent(http: httpx.Client) -> None:
    """Each kind at its edge: read back as sent (the timestamp from its ISO 8601 string)."""
    url, etag, _ = gauge(http)
    patch = {
        "label": "five",
        "level": 2**31 - 1,
        "small": -(2**15),
        "big": 2**63 - 1,
        "on": True,
        "ratio": 2.5,
        "at": "2024-05-31T13:45:00",
    }
    answer = http.patch(url, json=patch, headers={**MERGE, "If-Match": etag})
    assert answer.status_code == 200, answer.text
    assert http.get(url).json() == patch


def test_numbers_shown_as_strings_are_taken_as_numbers(http: httpx.Client) -> None:
    """An integer or number as a string (as a document may show a 64-bit id): the number."""
    url, etag, _ = gauge(http)
    patch = {"level": "-7", "big": str(2**62), "ratio": "0.25"}
    answer = http.patch(url, json=patch, headers={**MERGE, "If-Match": etag})
    assert answer.status_code == 200, answer.text
    stored = http.get(url).json()
    assert (stored["level"], stored["big"], stored["ratio"]) == (-7, 2**62, 0.25)


def test_a_32_bit_column_refuses_what_its_database_cannot_hold(
    served: tuple[httpx.Client, str],
) -> None:
    """2**31 in an Integer column: 422 where it has 32 bits (PostgreSQL, MariaDB), not SQLite."""
    http, database = served
    url, etag, _ = gauge(http)
    answer = http.patch(url, json={"level": 2**31}, headers={**MERGE, "If-Match": etag})
    if database == "sqlite":
        assert answer.status_code == 200, answer.text
        assert http.get(url).json()["level"] == 2**31
    else:
        problem = assert_problem(answer, 422, "invalid-document")
        assert "from -2147483648 to 2147483647" in problem["detail"]
