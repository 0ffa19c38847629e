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
    # What the column would store differently than sent: rounded, cut, moved or lost.
    pytest.param({"at": "2026-01-02T03:04:05.1234567"}, id="7th-fraction-digit-into-timestamp"),
    pytest.param({"clock": "13:45:00.1234567"}, id="7th-fraction-digit-into-time"),
    pytest.param({"clock": "13:45:00+02:00"}, id="offset-into-time-without-zone"),
    pytest.param({"clock": "13:45:00Z"}, id="utc-into-time-without-zone"),
    pytest.param({"weight": "1e-400"}, id="underflowing-string-into-double"),
    pytest.param({"weight": "-1e-400"}, id="negative-underflowing-string-into-double"),
    pytest.param({"ratio": "1e-400"}, id="underflowing-string-into-float"),
    pytest.param({"weight": "0.10000000000000000001"}, id="21-digit-string-into-double"),
    pytest.param({"weight": 2**53 + 1}, id="integer-past-53-bits-into-double"),
    pytest.param({"weight": 10**400}, id="integer-past-double-range-into-double"),
    pytest.param({"price": "1.234"}, id="3rd-decimal-string-into-numeric-5-2"),
    pytest.param({"price": 1.235}, id="3rd-decimal-number-into-numeric-5-2"),
    pytest.param({"price": "1e-400"}, id="tiny-string-into-numeric-5-2"),
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
    stored = http.get(url).json()
    assert {name: stored[name] for name in patch} == patch


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


# Each value and what its column gives back: the same value (written with
# other digits at most), so it is taken, on every database.
EXACT = [
    pytest.param("price", "1.230", "1.23", id="trailing-zero-into-numeric-5-2"),
    pytest.param("price", "-999.99", "-999.99", id="numeric-5-2-at-its-edge"),
    pytest.param("price", 12, "12.00", id="integer-into-numeric"),
    pytest.param("price", 0.5, "0.50", id="number-into-numeric"),
    pytest.param("price", "1.5e1", "15.00", id="exponent-string-into-numeric"),
    pytest.param("weight", "5e-324", 5e-324, id="smallest-double-string-into-double"),
    pytest.param("weight", "1e300", 1e300, id="huge-string-into-double"),
    pytest.param("weight", "0.1", 0.1, id="decimal-string-into-double"),
    pytest.param("weight", 2**53, float(2**53), id="integer-of-53-bits-into-double"),
    pytest.param("ratio", "2.5", 2.5, id="exact-string-into-float"),
    pytest.param("ratio", 0.1, 0.1, id="decimal-into-float"),
    pytest.param("clock", "13:45:00.000000000", "13:45:00", id="zero-fraction-into-time"),
    pytest.param("clock", "23:59:59", "23:59:59", id="time"),
]


@pytest.mark.parametrize(("member", "sent", "stored"), EXACT)
def test_a_value_its_column_keeps_exactly_is_taken(
    http: httpx.Client, member: str, sent: object, stored: object
) -> None:
    """No refusal for a value the column gives back (its digits as the column writes them)."""
    url, etag, _ = gauge(http)
    answer = http.patch(url, json={member: sent}, headers={**MERGE, "If-Match": etag})
    assert answer.status_code == 200, answer.text
    assert http.get(url).json()[member] == stored


def test_a_numeric_column_refuses_more_digits_than_its_database_holds(
    served: tuple[httpx.Client, str],
) -> None:
    """1234.5 and 1000 in NUMERIC(5, 2): 422 on PostgreSQL and MariaDB; SQLite keeps them."""
    http, database = served
    for sent, stored in (("1234.5", "1234.50"), (1000, "1000.00")):
        url, etag, before = gauge(http)
        answer = http.patch(url, json={"price": sent}, headers={**MERGE, "If-Match": etag})
        if database == "sqlite":
            assert answer.status_code == 200, answer.text
            assert http.get(url).json()["price"] == stored
        else:
            problem = assert_problem(answer, 422, "invalid-document")
            assert "numbers of 5 digits, 2 after the point" in problem["detail"]
            assert http.get(url).json() == before


# Kept exactly on SQLite and PostgreSQL; not by MariaDB, whose DATETIME and
# TIME keep no fraction of a second unless declared with one (DATETIME(6)),
# and whose FLOAT is single precision, read back with 6 significant digits.
NARROWER_ON_MARIADB = [
    pytest.param("at", "2024-05-31T13:45:00.5", "2024-05-31T13:45:00.500000", id="half-second"),
    pytest.param(
        "at", "2026-01-02T03:04:05.1234560", "2026-01-02T03:04:05.123456", id="7-digits-last-0"
    ),
    pytest.param("clock", "13:45:00.25", "13:45:00.250000", id="quarter-second-time"),
    pytest.param("ratio", 0.123456789, 0.123456789, id="9-digits-into-float"),
    pytest.param("ratio", 16777217, 16777217.0, id="2-to-the-24-plus-1-into-float"),
    pytest.param("ratio", "1e-40", 1e-40, id="subnormal-single-into-float"),
    pytest.param("ratio", 1e300, 1e300, id="past-single-range-into-float"),
]


@pytest.mark.parametrize(("member", "sent", "stored"), NARROWER_ON_MARIADB)
def test_what_a_mariadb_column_does_not_keep_is_refused_there(
    served: tuple[httpx.Client, str], member: str, sent: object, stored: object
) -> None:
    """Taken and kept where the column holds it; a 422 naming the member on MariaDB."""
    http, database = served
    url, etag, before = gauge(http)
    answer = http.patch(url, json={member: sent}, headers={**MERGE, "If-Match": etag})
    if database == "mariadb":
        problem = assert_problem(answer, 422, "invalid-document")
        assert problem["members"] == [member], problem
        assert http.get(url).json() == before
    else:
        assert answer.status_code == 200, answer.text
        assert http.get(url).json()[member] == stored
