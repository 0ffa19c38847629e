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
"""

from __future__ import annotations

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

    `zoned`, for a timestamp column: whether it keeps the instant a UTC
    offset names (True: PostgreSQL's ``timestamptz``, Django with
    ``USE_TZ``), holds times without one (False), or is not known (None).
    """

    kind: ColumnKind
    low: int | None = None
    high: int | None = None
    zoned: bool | None = None


# A number as JSON writes it, and an integer (no sign but "-", no leading zero).
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INTEGER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)")
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
            number = Decimal(value) if kind is ColumnKind.DECIMAL else float(value)
            if math.isfinite(number):
                return number, None
            return value, "a number out of range, its column holds numbers"
        fits = isinstance(value, int | float) and not isinstance(value, bool)
        return value, None if fits else f"{_what(value)}, its column holds numbers"
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
    if kind is ColumnKind.DATETIME and column.zoned is not None:
        # A column without zones drops an offset (SQLite, MariaDB) or moves
        # the time to the session's zone first (PostgreSQL's timestamp);
        # one with zones reads a time without one in the session's zone:
        # each stores another time than the one meant, so neither is guessed.
        offset = isinstance(parsed, datetime.datetime) and parsed.tzinfo is not None
        if offset and not column.zoned:
            return value, (
                "a timestamp with a UTC offset, its column holds one without, "
                "such as 2024-05-31T13:45:00"
            )
        if column.zoned and not offset:
            return value, (
                "a timestamp without a UTC offset, its column holds one with, "
                "such as 2024-05-31T13:45:00+00:00"
            )
    return parsed, None


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
