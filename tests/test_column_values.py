"""A patch's value against its column's type: the cases the adapters' apps do not reach."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from httpconflict import InvalidDocument
from httpconflict._column_values import ColumnKind, ColumnType, column_values

NAIVE = ColumnType(ColumnKind.DATETIME, zoned=False)
ZONED = ColumnType(ColumnKind.DATETIME, zoned=True)
UNKNOWN = ColumnType(ColumnKind.DATETIME)
INTEGER = ColumnType(ColumnKind.INTEGER)
ZONED_TIME = ColumnType(ColumnKind.TIME, zoned=True)
NAIVE_TIME = ColumnType(ColumnKind.TIME, zoned=False)
MILLIS = ColumnType(ColumnKind.DATETIME, zoned=False, scale=3)
SINGLE = ColumnType(ColumnKind.NUMBER, precision=24)
FLOAT6 = ColumnType(ColumnKind.NUMBER, precision=24, scale=6)
DOUBLE = ColumnType(ColumnKind.NUMBER)
PRICE = ColumnType(ColumnKind.DECIMAL, precision=5, scale=2)


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        pytest.param(NAIVE, "2024-05-31T13:45:00+02:00", "with a UTC offset", id="offset-naive"),
        pytest.param(NAIVE, "2024-05-31T13:45:00Z", "with a UTC offset", id="utc-naive"),
        pytest.param(ZONED, "2024-05-31T13:45:00", "without a UTC offset", id="naive-zoned"),
        pytest.param(ZONED, "2024-05-31", "without a UTC offset", id="date-zoned"),
        pytest.param(INTEGER, "1" * 4301, "out of range", id="unbounded-integer-4301-digits"),
        pytest.param(INTEGER, "-" + "9" * 100_000, "out of range", id="integer-100000-digits"),
        pytest.param(NAIVE, "2026-01-02T03:04:05.1234567Z", "keeps (6)", id="7th-digit-utc"),
        pytest.param(NAIVE_TIME, "13:45:00,1234567", "keeps (6)", id="7th-digit-comma"),
        pytest.param(MILLIS, "2026-01-02T03:04:05.1234", "keeps (3)", id="4th-digit-millis"),
        pytest.param(NAIVE_TIME, "13:45:00-05:00", "time with a UTC offset", id="offset-time"),
        pytest.param(ZONED_TIME, "13:45:00", "time without a UTC offset", id="naive-timetz"),
        pytest.param(DOUBLE, "1e-400", "too small for a double", id="underflow"),
        pytest.param(DOUBLE, "1e400", "out of range", id="overflow"),
        pytest.param(DOUBLE, 2**53 + 1, "would store 9007199254740992.0", id="53-bits"),
        pytest.param(DOUBLE, "0." + "1" * 18, "more digits than a double keeps", id="18-digits"),
        pytest.param(
            FLOAT6, "0.1234567", "(6 significant digits), it would store 0.123457", id="7-digits"
        ),
        pytest.param(FLOAT6, 16777217, "it would store 16777200.0", id="2-to-the-24-plus-1"),
        pytest.param(SINGLE, 16777217, "(single precision), it would store 16777216.0", id="24b"),
        pytest.param(SINGLE, "0.1234567891", "it would store 0.12345679", id="10-digits"),
        pytest.param(SINGLE, 1e39, "out of range", id="past-single"),
        pytest.param(SINGLE, "1e-46", "it would store 0.0", id="under-single"),
        pytest.param(PRICE, "0.001", "after the point than its column keeps (2)", id="scale"),
        pytest.param(PRICE, "-1E+3", "numbers of 5 digits, 2 after the point", id="precision"),
        pytest.param(PRICE, "NaN", "holds numbers", id="nan-into-decimal"),
    ],
)
def test_a_value_its_column_would_store_otherwise_is_refused(
    column: ColumnType, value: object, why: str
) -> None:
    """422 naming the member and why (what the column keeps), never a 500 or another value."""
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
    found = _column_type(column, dialect)
    assert found is not None
    assert (found.kind, found.zoned) == (ColumnKind.DATETIME, zoned)


@pytest.mark.parametrize(
    ("column", "value", "taken"),
    [
        pytest.param(NAIVE, "2026-01-02T03:04:05.1234560", None, id="7-digits-last-zero"),
        pytest.param(MILLIS, "2026-01-02T03:04:05.120", None, id="millis"),
        pytest.param(ZONED_TIME, "13:45:00+02:00", None, id="offset-timetz"),
        pytest.param(DOUBLE, "5e-324", 5e-324, id="smallest-double"),
        pytest.param(DOUBLE, "-0", -0.0, id="negative-zero"),
        pytest.param(DOUBLE, 2**53, 2.0**53, id="2-to-the-53"),
        pytest.param(DOUBLE, "1.7976931348623157e308", 1.7976931348623157e308, id="largest"),
        pytest.param(FLOAT6, "0.123456", 0.123456, id="6-digits"),
        pytest.param(FLOAT6, 0.1, 0.1, id="a-tenth"),
        pytest.param(SINGLE, "0.12345679", 0.12345679, id="8-digits-single"),
        pytest.param(SINGLE, 16777216, 16777216.0, id="2-to-the-24"),
        pytest.param(SINGLE, "3.4028235e38", 3.4028235e38, id="single-max"),
        pytest.param(SINGLE, "1e-40", 1e-40, id="subnormal-single"),
        pytest.param(SINGLE, 0, 0.0, id="zero"),
        pytest.param(PRICE, "999.990", Decimal("999.990"), id="trailing-zero"),
        pytest.param(PRICE, 0.5, Decimal("0.5"), id="double-as-its-text"),
        pytest.param(PRICE, "-0.00", Decimal("-0.00"), id="negative-zero-decimal"),
        pytest.param(PRICE, "-0e4", Decimal("-0e4"), id="zero-with-an-exponent"),
        pytest.param(
            ColumnType(ColumnKind.DECIMAL, precision=5, scale=0),
            "0.000",
            Decimal("0.000"),
            id="0-scale",
        ),
    ],
)
def test_a_value_its_column_gives_back_is_taken(
    column: ColumnType, value: object, taken: object
) -> None:
    """No refusal where the column keeps the value sent (trailing zeros are no digits)."""
    got = column_values({"v": value}, {"v": column})["v"]
    if taken is not None:
        assert got == taken
        assert type(got) is type(taken)


@pytest.mark.parametrize(
    ("column_type", "dialect", "expected"),
    [
        ("Float()", "mysql", ColumnType(ColumnKind.NUMBER, precision=24, scale=6)),
        ("Float()", "postgresql", ColumnType(ColumnKind.NUMBER)),
        ("Float()", "sqlite", ColumnType(ColumnKind.NUMBER)),
        ("Float(24)", "postgresql", ColumnType(ColumnKind.NUMBER, precision=24)),
        ("Float(53)", "mysql", ColumnType(ColumnKind.NUMBER)),
        ("REAL()", "postgresql", ColumnType(ColumnKind.NUMBER, precision=24)),
        ("REAL()", "mariadb", ColumnType(ColumnKind.NUMBER)),
        ("Double()", "mysql", ColumnType(ColumnKind.NUMBER)),
        ("Numeric()", "mysql", ColumnType(ColumnKind.DECIMAL, precision=10, scale=0)),
        ("Numeric()", "postgresql", ColumnType(ColumnKind.DECIMAL)),
        ("Numeric(7)", "postgresql", ColumnType(ColumnKind.DECIMAL, precision=7, scale=0)),
        ("Numeric(5, 2)", "sqlite", ColumnType(ColumnKind.DECIMAL, scale=2)),
        ("DateTime()", "mariadb", ColumnType(ColumnKind.DATETIME, zoned=False, scale=0)),
        ("mysql.DATETIME(fsp=3)", "mysql", ColumnType(ColumnKind.DATETIME, zoned=False, scale=3)),
        (
            "postgresql.TIMESTAMP(precision=3)",
            "postgresql",
            ColumnType(ColumnKind.DATETIME, zoned=False, scale=3),
        ),
        ("Time(timezone=True)", "postgresql", ColumnType(ColumnKind.TIME, zoned=True)),
        ("Time(timezone=True)", "sqlite", ColumnType(ColumnKind.TIME, zoned=False)),
        ("Time()", "mysql", ColumnType(ColumnKind.TIME, zoned=False, scale=0)),
    ],
)
def test_a_sqlalchemy_column_is_described_as_its_database_keeps_it(
    column_type: str, dialect: str, expected: ColumnType
) -> None:
    """Precision, scale and digits of a second as each database declares the type."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from sqlalchemy.dialects import mysql, postgresql

    from httpconflict.sqlalchemy._table import _column_type

    names = {"mysql": mysql, "postgresql": postgresql}
    declared = eval(column_type, {**vars(sqlalchemy), **names})  # noqa: S307 (the table's own text)
    assert _column_type(sqlalchemy.Column("v", declared), dialect) == expected
