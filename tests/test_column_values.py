"""A patch's value against its column's type: the cases the adapters' apps do not reach."""

from __future__ import annotations

import datetime

import pytest

from httpconflict import InvalidDocument
from httpconflict._column_values import ColumnKind, ColumnType, column_values

NAIVE = ColumnType(ColumnKind.DATETIME, zoned=False)
ZONED = ColumnType(ColumnKind.DATETIME, zoned=True)
UNKNOWN = ColumnType(ColumnKind.DATETIME)
INTEGER = ColumnType(ColumnKind.INTEGER)


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        pytest.param(NAIVE, "2024-05-31T13:45:00+02:00", "with a UTC offset", id="offset-naive"),
        pytest.param(NAIVE, "2024-05-31T13:45:00Z", "with a UTC offset", id="utc-naive"),
        pytest.param(ZONED, "2024-05-31T13:45:00", "without a UTC offset", id="naive-zoned"),
        pytest.param(ZONED, "2024-05-31", "without a UTC offset", id="date-zoned"),
        pytest.param(INTEGER, "1" * 4301, "out of range", id="unbounded-integer-4301-digits"),
        pytest.param(INTEGER, "-" + "9" * 100_000, "out of range", id="integer-100000-digits"),
    ],
)
def test_a_value_its_column_would_store_otherwise_is_refused(
    column: ColumnType, value: str, why: str
) -> None:
    """422 naming the member and why, never a ValueError (a 500) or a guessed time."""
    with pytest.raises(InvalidDocument) as refused:
        column_values({"v": value}, {"v": column})
    assert why in str(refused.value)
    assert refused.value.problem.extensions["members"] == ["v"]


def test_a_timestamp_as_its_column_holds_it_is_taken() -> None:
    """With the offset in a zoned column, without in another; either where it is not known."""
    utc = datetime.UTC
    assert column_values({"v": "2024-05-31T13:45:00Z"}, {"v": ZONED}) == {
        "v": datetime.datetime(2024, 5, 31, 13, 45, tzinfo=utc)
    }
    assert column_values({"v": "2024-05-31T13:45:00"}, {"v": NAIVE}) == {
        "v": datetime.datetime(2024, 5, 31, 13, 45)
    }
    taken = column_values({"v": "2024-05-31T13:45:00Z"}, {"v": UNKNOWN})["v"]
    assert isinstance(taken, datetime.datetime)
    assert taken.tzinfo is utc
    assert column_values({"v": "1" * 4300}, {"v": INTEGER}) == {"v": int("1" * 4300)}


@pytest.mark.parametrize(
    ("dialect", "timezone", "zoned"),
    [
        ("postgresql", True, True),
        ("postgresql", False, False),
        ("sqlite", True, False),
        ("mysql", True, False),
        ("mariadb", True, False),
    ],
)
def test_a_sqlalchemy_timestamp_is_zoned_where_its_database_keeps_zones(
    dialect: str, timezone: bool, zoned: bool
) -> None:
    """DateTime(timezone=True) keeps the zone on PostgreSQL only; SQLite and MySQL drop it."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from httpconflict.sqlalchemy._table import _column_type

    column = sqlalchemy.Column("at", sqlalchemy.DateTime(timezone=timezone))
    assert _column_type(column, dialect) == ColumnType(ColumnKind.DATETIME, zoned=zoned)
