"""Values a unique field may hold: those every document store compares alike.

Theory of operation: a unique key is enforced by the database's own index,
and the two document stores read a field differently. SQLite's index reads
it with json_extract: a number as a 64-bit integer or else a double, an
object or an array as its text (so ``{"a":1,"b":2}`` and ``{"b":2,"a":1}``
differ there, and ``[1,2]`` and ``[1.0,2]``). PostgreSQL's reads it as
jsonb: numbers exactly, objects and arrays by value. A value the two would
tell apart differently makes the same writes succeed on one and fail on
the other, and on SQLite lets in a duplicate that PostgreSQL refuses; so a
unique field holds only values both compare alike, and any other is
refused (422 ``unique-value-unsupported``), on every store:

- strings (compared code point by code point on both: NFC and NFD forms
  differ), booleans and null (which, like an absent field, conflicts with
  nothing) are compared alike;
- integers (a number written without fraction or exponent) within ±2^53:
  exact on both, and every one is a double;
- any other number of at most 15 significant digits (``0.10`` has one):
  two different decimals of at most 15 digits are two different doubles
  (a double holds 15 decimal digits), so SQLite's comparison of doubles
  and PostgreSQL's of decimals agree; ``1``, ``1.0``, ``1e0`` and
  ``10E-1`` are one value on both;
- objects and arrays, and all other numbers, are refused.

The rule is decided here, once: the service holds each body written to a
collection to it (`check_unique_values`) and the stores hold stored
documents to it when a key is declared.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from ._errors import InvalidDocument
from ._json_value import Json
from ._problem import UNIQUE_VALUE_UNSUPPORTED

#: The largest magnitude of an integer a unique field may hold: 2^53.
MAX_EXACT_INTEGER: Final = 2**53
#: The most significant digits of any other number a unique field may hold.
MAX_SIGNIFICANT_DIGITS: Final = 15


class UniqueValueReason(enum.Enum):
    """Why a unique field's value is refused."""

    OBJECT = "object"
    ARRAY = "array"
    INTEGER_RANGE = "integer-range"
    NUMBER_PRECISION = "number-precision"


_WHY: Final = {
    UniqueValueReason.OBJECT: "an object, which SQLite compares as its text (member order "
    "and number spelling count) and PostgreSQL by value",
    UniqueValueReason.ARRAY: "an array, which SQLite compares as its text (number spelling "
    "counts) and PostgreSQL by value",
    UniqueValueReason.INTEGER_RANGE: "an integer beyond ±2^53 (9007199254740992), which "
    "SQLite may compare as a rounded double and PostgreSQL exactly",
    UniqueValueReason.NUMBER_PRECISION: f"a number of more than {MAX_SIGNIFICANT_DIGITS} "
    "significant digits, which SQLite compares as a rounded double and PostgreSQL exactly",
}


@dataclass(frozen=True, slots=True)
class UnsupportedUniqueValue:
    """A value of a unique key's field that the stores would compare differently."""

    #: The unique key's fields.
    key: tuple[str, ...]
    #: The field of the key holding the value.
    field: str
    reason: UniqueValueReason


class UniqueValueUnsupported(InvalidDocument):
    """A unique field holds a value the document stores would compare differently (422).

    The problem names the key's fields (``fields``), the field's JSON
    pointer (``pointer``) and why (``reason``: ``object``, ``array``,
    ``integer-range`` or ``number-precision``); never the value. A refused
    declaration also names stored documents holding such values
    (``documents``, at most ten ids).
    """

    problem_type = UNIQUE_VALUE_UNSUPPORTED

    def __init__(
        self, found: UnsupportedUniqueValue, *, documents: Sequence[str] | None = None
    ) -> None:
        where = f'the unique field "{found.field}"'
        if documents is None:
            detail = f"{where} holds {_WHY[found.reason]}"
        else:
            shown = ", ".join(repr(id) for id in documents)
            detail = f"stored documents ({shown}) hold in {where} {_WHY[found.reason]}"
        detail += (
            "; a unique field holds a string, a boolean, null, an integer within ±2^53 or a "
            f"number of at most {MAX_SIGNIFICANT_DIGITS} significant digits (send anything "
            "else as a string)"
        )
        extensions: dict[str, object] = {
            "fields": list(found.key),
            "pointer": "/" + found.field,
            "reason": found.reason.value,
        }
        if documents is not None:
            extensions["documents"] = list(documents)
        super().__init__(detail, **extensions)
        self.found = found
        self.documents = documents


def unsupported_unique_value(
    document: Mapping[str, Json], keys: Iterable[Sequence[str]]
) -> UnsupportedUniqueValue | None:
    """The first value of one of `keys`' fields in `document` the stores compare differently.

    Numbers may be ints, floats (as the JSON domain reads them: each is the
    shortest text of its double) or Decimals (as written).
    """
    for key in keys:
        for field in key:
            reason = _reason(document.get(field))
            if reason is not None:
                return UnsupportedUniqueValue(tuple(key), field, reason)
    return None


def check_unique_values(document: Mapping[str, Json], keys: Iterable[Sequence[str]]) -> None:
    """Raise `UniqueValueUnsupported` (422) if a field of `keys` holds a value stores compare
    differently: an object, an array, an integer beyond ±2^53 or a number of more than 15
    significant digits."""
    found = unsupported_unique_value(document, keys)
    if found is not None:
        raise UniqueValueUnsupported(found)


def _reason(value: Json) -> UniqueValueReason | None:
    if value is None or isinstance(value, str | bool):
        return None
    if isinstance(value, int):
        return None if -MAX_EXACT_INTEGER <= value <= MAX_EXACT_INTEGER else _INTEGER
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return None if _significant_digits(value) <= MAX_SIGNIFICANT_DIGITS else _PRECISION
    if isinstance(value, dict):
        return UniqueValueReason.OBJECT
    return UniqueValueReason.ARRAY


_INTEGER: Final = UniqueValueReason.INTEGER_RANGE
_PRECISION: Final = UniqueValueReason.NUMBER_PRECISION


def _significant_digits(number: Decimal) -> int:
    """How many digits from the first non-zero one to the last (``0.10``: 1, ``0``: 1)."""
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    return max(len(digits), 1)
