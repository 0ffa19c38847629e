"""The values a unique field may hold (`check_unique_values`), decided without a database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import UniqueValueUnsupported, check_unique_values, parse_json
from httpconflict._unique_values import MAX_SIGNIFICANT_DIGITS, unsupported_unique_value

VALUES = [
    pytest.param('"text"', None, id="string"),
    pytest.param("true", None, id="boolean"),
    pytest.param("null", None, id="null"),
    pytest.param("9007199254740992", None, id="two-to-53"),
    pytest.param("-9007199254740992", None, id="minus-two-to-53"),
    pytest.param("9007199254740993", "integer-range", id="past-two-to-53"),
    pytest.param("-9007199254740993", "integer-range", id="past-minus-two-to-53"),
    pytest.param("18446744073709551617", "integer-range", id="past-64-bits"),
    pytest.param("123456789012345", None, id="15-digits"),
    pytest.param("0.123456789012345", None, id="15-digit-fraction"),
    pytest.param("0.1000", None, id="trailing-zeros"),
    pytest.param("1e300", None, id="one-digit-huge"),
    pytest.param("-0.0", None, id="negative-zero"),
    pytest.param("0.1234567890123456", "number-precision", id="16-digits"),
    pytest.param("9007199254740992.0", "number-precision", id="two-to-53-with-a-point"),
    pytest.param("0.30000000000000004", "number-precision", id="17-digits"),
    pytest.param("{}", "object", id="object"),
    pytest.param("[]", "array", id="array"),
]


@pytest.mark.parametrize(("text", "reason"), VALUES)
def test_each_value_is_judged(text: str, reason: str | None) -> None:
    """Each value is accepted, or refused with the reason named."""
    document = parse_json(f'{{"k": {text}}}'.encode())
    if reason is None:
        check_unique_values(document, [("k",)])
        return
    with pytest.raises(UniqueValueUnsupported) as raised:
        check_unique_values(document, [("other",), ("t", "k")])
    problem: dict[str, Any] = raised.value.problem.to_dict()
    assert problem["status"] == 422
    assert (problem["fields"], problem["pointer"], problem["reason"]) == (["t", "k"], "/k", reason)
    assert '"k"' in problem["detail"]
    assert text not in problem["detail"]  # the value is not echoed


def test_fields_outside_the_keys_may_hold_anything() -> None:
    """Only the fields of unique keys are judged."""
    check_unique_values({"k": "x", "o": {"a": [1]}, "n": 2**70}, [("k",)])
    assert unsupported_unique_value({"o": {}}, []) is None


def test_stored_decimals_are_judged_as_written() -> None:
    """A stored number read as written (a Decimal) counts its own digits, zeros at the end not."""
    assert unsupported_unique_value({"k": Decimal("1.000000000000000000")}, [("k",)]) is None
    found = unsupported_unique_value({"k": Decimal("1.00000000000000001")}, [("k",)])
    assert found is not None
    assert found.reason.value == "number-precision"


# Decimals of at most 15 significant digits, as a JSON text would write them.
_DECIMALS = st.builds(
    lambda digits, exponent: Decimal(f"{digits}e{exponent}"),
    st.integers(-(10**MAX_SIGNIFICANT_DIGITS) + 1, 10**MAX_SIGNIFICANT_DIGITS - 1),
    st.integers(-300, 280),
)


@given(_DECIMALS, _DECIMALS)
def test_accepted_numbers_are_equal_as_doubles_exactly_when_equal_as_decimals(
    one: Decimal, other: Decimal
) -> None:
    """The rule's ground: SQLite compares doubles, PostgreSQL decimals; for numbers of at most
    15 significant digits both say equal for the same pairs."""
    assert (float(one) == float(other)) == (one == other)


@given(st.integers(1, 10**MAX_SIGNIFICANT_DIGITS - 2), st.integers(-300, 280))
def test_neighbours_are_apart_and_spellings_alike_as_doubles(digits: int, exponent: int) -> None:
    """Numbers one unit apart in their 15th digit are different doubles; one number spelt with
    another exponent (``12e3``, ``120e2``) is one double."""
    number = Decimal(f"{digits}e{exponent}")
    assert float(number) != float(Decimal(f"{digits + 1}e{exponent}"))
    assert float(number) == float(Decimal(f"{digits * 10}e{exponent - 1}"))
