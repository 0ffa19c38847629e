"""Whether a patched row's values fit its columns, decided from each column's type.

A patch may set a member of a row's document to any JSON value, but a
column holds one kind of value. Written there as it is, a misfit reaches
the driver, which refuses it (a 500: "type 'dict' is not supported" on
SQLite, "integer out of range" on PostgreSQL, "Incorrect integer value"
on MariaDB) or, worse, stores something else than was sent (the number 5
in a text column comes back as the string "5", 1.5 in an integer column
as 2, 1 in a boolean column as true). The adapters know each column's
type (SQLAlchemy's ``column.type``, Django's ``get_internal_type()``) and
its database's range of integers, and describe it as a `ColumnType`; the
refusal, a 422 naming the members and what their columns hold, is decided
here, before the write. A date, time or timestamp column takes an ISO
8601 string, which is handed on as the Python value it names (the JSON
form of a date is a string; SQLite's driver takes no string there); a
number column a string that is a JSON number, and an integer column one
that is an integer, as a document may show a decimal or a 64-bit id
(each database took those before, and a patch carries the whole row).

A value is taken only when its column gives it back: a column that would
round it, cut it or move it refuses it instead, naming what it keeps. A
number in a column of doubles must be the double's own (``"1e-400"`` would
be 0, ``"0.10000000000000000001"`` 0.1, 2**53 + 1 2**53); in a single
precision one (MariaDB's FLOAT, PostgreSQL's real) have at most 6
significant digits, within its range; in a NUMERIC(p, s) at most s digits
after the point and p - s before. A time or timestamp has at most as many
digits of a second as its column keeps (6 at most, Python's microsecond;
none in MariaDB's plain DATETIME and TIME); a time's UTC offset follows its
column as a timestamp's does. Trailing zeros are no digits kept: 1.230 fits
NUMERIC(5, 2), 05.1234560 a microsecond.
"""

from __future__ import annotations

import ctypes
import datetime
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from ._errors import InvalidDocument

_SHOWN: Final = 10
# Digits of the longest integer string taken (with its "-"): Python's
# default int_max_str_digits, far past 64 bits.
_MAX_DIGITS: Final = 4300


class ColumnKind(StrEnum):
    """What a column holds, as far as a JSON value can fit it."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    #: A number kept in decimal (SQL NUMERIC): a string of digits is taken as a `Decimal`.
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    #: Another scalar (bytes, a UUID, an interval...): only an object or an array is refused.
    SCALAR = "scalar"


@dataclass(frozen=True, slots=True)
class ColumnType:
    """A column's kind and, for integers, the range its database holds (None: unbounded).

    `zoned`, for a timestamp or time column: whether it keeps the instant
    (the offset) a UTC offset names (True: PostgreSQL's ``timestamptz`` and
    ``timetz``, Django's timestamps with ``USE_TZ``), holds times without
    one (False), or is not known (None).

    `precision`: for a decimal column, the digits it holds (None: any); for
    a number column, the bits of its mantissa as SQL's FLOAT(p) counts them
    (up to 24: single precision; None: a double). `scale`: for a decimal
    column, the digits it keeps after the point (None: any); for a single
    precision column, the significant digits it gives back when it gives
    back fewer than tell its values apart (MariaDB's FLOAT: 6); for a time
    or timestamp column, the digits of a second (None: 6, Python's microsecond).
    """

    kind: ColumnKind
    low: int | None = None
    high: int | None = None
    zoned: bool | None = None
    precision: int | None = None
    scale: int | None = None


# A number as JSON writes it, and an integer (no sign but "-", no leading zero).
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INTEGER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FRACTION: Final = re.compile(r"[.,]([0-9]+)")
_EXAMPLE: Final = {
    ColumnKind.DATETIME: "such as 2024-05-31T13:45:00",
    ColumnKind.TIME: "such as 13:45:00",
}
_DOUBLE_MAX: Final = Decimal("1.7976931348623157e308")
_TEMPORAL: Final[dict[ColumnKind, tuple[type[datetime.date | datetime.time], str]]] = {
    ColumnKind.DATE: (datetime.date, "a date such as 2024-05-31"),
    ColumnKind.TIME: (datetime.time, "a time such as 13:45:00"),
    ColumnKind.DATETIME: (datetime.datetime, "a timestamp such as 2024-05-31T13:45:00"),
}


def column_values(
    values: Mapping[str, object], columns: Mapping[str, ColumnType]
) -> dict[str, object]:
    """`values` as their columns take them; `InvalidDocument` (422) naming each misfit.

    A value whose name is not in `columns`, and a null, are left to the
    database (a column of the app's own type; NOT NULL is its constraint).
    """
    taken = dict(values)
    misfits: dict[str, str] = {}
    for name, value in values.items():
        column = columns.get(name)
        if column is None or value is None:
            continue
        if isinstance(value, dict | list):
            misfits[name] = f"a JSON {'object' if isinstance(value, dict) else 'array'}"
            continue
        fitted, why = _fit(value, column)
        if why is not None:
            misfits[name] = why
        else:
            taken[name] = fitted
    if misfits:
        names = sorted(misfits)
        shown = ", ".join(f"{name!r} ({misfits[name]})" for name in names[:_SHOWN])
        more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
        raise InvalidDocument(
            f"the patch sets {shown}{more}: each column holds one kind of value; "
            "send a value it holds (or null)",
            members=names[:_SHOWN],
        )
    return taken


def _fit(value: object, column: ColumnType) -> tuple[object, str | None]:
    """The value to write and None, or the value and why its column cannot hold it."""
    kind = column.kind
    if kind is ColumnKind.SCALAR:
        return value, None
    if kind is ColumnKind.TEXT:
        return value, None if isinstance(value, str) else f"{_what(value)}, its column holds text"
    if kind is ColumnKind.BOOLEAN:
        fits = isinstance(value, bool)
        return value, None if fits else f"{_what(value)}, its column holds true or false"
    if kind in (ColumnKind.NUMBER, ColumnKind.DECIMAL):
        if isinstance(value, str) and _NUMBER.fullmatch(value):
            # A number shown as a string (as a document may show a decimal), as it was read.
            sent = Decimal(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            # A JSON number other than an integer is a double that gives back its
            # text (`httpconflict._json_domain`): its shortest text is the number sent.
            sent = Decimal(value if isinstance(value, int) else repr(value))
        else:
            return value, f"{_what(value)}, its column holds numbers"
        if kind is ColumnKind.DECIMAL:
            return sent, _decimal_misfit(sent, column)
        return _double(value, sent, column)
    if kind is ColumnKind.INTEGER:
        if isinstance(value, str) and _INTEGER.fullmatch(value):
            # An integer shown as a string (as a document may show a 64-bit id).
            # Past sys.get_int_max_str_digits() (4300) int() refuses it, and
            # it is past any column's range.
            if len(value) > _MAX_DIGITS:
                return value, f"a number out of range, {_holds_integers(column)}"
            value = int(value)
        return value, _integer_misfit(value, column)
    python_type, example = _TEMPORAL[kind]
    holds = f"its column holds {example}"
    if isinstance(value, python_type) and (
        kind is not ColumnKind.DATE or not isinstance(value, datetime.datetime)
    ):
        return value, None
    if not isinstance(value, str):
        return value, f"{_what(value)}, {holds}"
    try:
        parsed = python_type.fromisoformat(value)
    except ValueError:
        return value, f"a string that is no ISO 8601 {kind.value}, {holds}"
    # Python keeps a microsecond and cuts the rest; a column may keep less
    # (PostgreSQL's timestamp(p) rounds, MariaDB's DATETIME(p) cuts).
    fraction = _FRACTION.search(value)
    kept = 6 if column.scale is None else min(column.scale, 6)
    if fraction is not None and len(fraction.group(1).rstrip("0")) > kept:
        return value, f"more digits of a second than its column keeps ({kept}), {holds}"
    if kind is not ColumnKind.DATE and column.zoned is not None:
        # A column without zones drops an offset (SQLite, MariaDB, PostgreSQL's
        # time) or moves the time to the session's zone first (PostgreSQL's
        # timestamp); one with zones reads a time without one in the session's
        # zone: each stores another time than the one meant, so neither is guessed.
        what = "timestamp" if kind is ColumnKind.DATETIME else "time"
        offset = isinstance(parsed, datetime.datetime | datetime.time) and (
            parsed.tzinfo is not None
        )
        if offset and not column.zoned:
            return (
                value,
                f"a {what} with a UTC offset, its column holds one without, {_EXAMPLE[kind]}",
            )
        if column.zoned and not offset:
            return value, (
                f"a {what} without a UTC offset, its column holds one with, {_EXAMPLE[kind]}+00:00"
            )
    return parsed, None


def _decimal_misfit(sent: Decimal, column: ColumnType) -> str | None:
    """Why a NUMERIC(precision, scale) column would not keep `sent`, or None."""
    if not sent.is_finite():
        return "a number out of range, its column holds numbers"
    _, digits, exponent = sent.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return None  # a zero (0e4, 0.000) is 0 in any column
    # Trailing zeros after the point are kept by any scale (1.230 is 1.23).
    shown = "".join(map(str, digits))
    while exponent < 0 and shown.endswith("0"):
        shown, exponent = shown[:-1], exponent + 1
    after = max(-exponent, 0)
    before = max(len(shown.lstrip("0")) + exponent, 0)
    if column.scale is not None and after > column.scale:
        return (
            f"more digits after the point than its column keeps ({column.scale}), "
            f"{_holds_decimals(column)}"
        )
    if column.precision is not None and before > column.precision - (column.scale or 0):
        return f"a number out of range, {_holds_decimals(column)}"
    return None


def _holds_decimals(column: ColumnType) -> str:
    if column.precision is None:
        return "its column holds numbers"
    scale = column.scale or 0
    return f"its column holds numbers of {column.precision} digits, {scale} after the point"


def _double(value: object, sent: Decimal, column: ColumnType) -> tuple[object, str | None]:
    """The double `sent` is and None, or `value` and why its column would store another."""
    if not sent.is_finite() or abs(sent) > _DOUBLE_MAX:
        return value, "a number out of range, its column holds numbers"
    number = float(sent)
    if column.precision is not None and column.precision <= 24:
        return number, _single_misfit(number, sent, column.scale)
    if Decimal(repr(number)) != sent:
        lost = "a number too small for" if number == 0 else "more digits than"
        return value, f"{lost} a double keeps, its column would store {number!r}"
    return number, None


def _single_misfit(number: float, sent: Decimal, shown: int | None) -> str | None:
    """Why a single precision column would not give `sent` back, or None.

    It gives back the shortest text that tells its value apart (PostgreSQL's
    real), or `shown` significant digits (MariaDB's FLOAT: 6).
    """
    # C's cast rounds as the database does (struct refuses what rounds to FLT_MAX).
    single = ctypes.c_float(number).value
    if math.isinf(single):
        return "a number out of range, its column holds single precision numbers"
    if shown is not None:
        given = f"{single:.{shown}g}"
    else:
        given = next(
            text
            for digits in range(1, 10)  # 9 digits tell any two singles apart
            if ctypes.c_float(float(text := f"{single:.{digits}g}")).value == single
        )
    if Decimal(given) == sent:
        return None
    keeps = "single precision" if shown is None else f"{shown} significant digits"
    return f"more digits than its column keeps ({keeps}), it would store {float(given)!r}"


def _holds_integers(column: ColumnType) -> str:
    holds = "its column holds integers"
    if column.low is not None and column.high is not None:
        holds += f" from {column.low} to {column.high}"
    return holds


def _integer_misfit(value: object, column: ColumnType) -> str | None:
    holds = _holds_integers(column)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{_what(value)}, {holds}"
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return f"a number with a fraction, {holds}"
    if (column.low is not None and value < column.low) or (
        column.high is not None and value > column.high
    ):
        return f"a number out of range, {holds}"
    return None


def _what(value: object) -> str:
    if isinstance(value, bool):
        return "a JSON boolean"
    if isinstance(value, int | float):
        return "a JSON number"
    if isinstance(value, str):
        return "a JSON string"
    return f"a {type(value).__name__}"
