"""JSON equality follows JSON, not Python; copies share nothing; MISSING is not null."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from httpconflict import MISSING, json_equal
from httpconflict._json_value import copy_json, json_type
from tests.json.strategies import VALUES

EQUALITY = [
    pytest.param(True, 1, False, id="true-is-not-1"),
    pytest.param(False, 0, False, id="false-is-not-0"),
    pytest.param(False, 0.0, False, id="false-is-not-0.0"),
    pytest.param(True, True, True, id="true-is-true"),
    pytest.param(1, 1.0, True, id="1-is-1.0"),
    pytest.param(10**20, 1e20, True, id="big-int-is-its-float"),
    pytest.param(None, False, False, id="null-is-not-false"),
    pytest.param(None, None, True, id="null-is-null"),
    pytest.param("1", 1, False, id="string-is-not-number"),
    pytest.param({"a": 1, "b": 2}, {"b": 2, "a": 1}, True, id="object-member-order-ignored"),
    pytest.param({"a": 1}, {"a": 1, "b": None}, False, id="null-member-is-a-member"),
    pytest.param([1, 2], [2, 1], False, id="array-order-counts"),
    pytest.param([1, [True]], [1.0, [1]], False, id="nested-true-is-not-1"),
    pytest.param({"a": [1, {"b": 2.0}]}, {"a": [1.0, {"b": 2}]}, True, id="nested-numbers"),
    pytest.param([], {}, False, id="empty-array-is-not-empty-object"),
    pytest.param(MISSING, None, False, id="missing-is-not-null"),
    pytest.param(MISSING, MISSING, True, id="missing-is-missing"),
]


@pytest.mark.parametrize(("first", "second", "equal"), EQUALITY)
def test_equality(first: Any, second: Any, equal: bool) -> None:
    """json_equal gives JSON's answer, in both orders."""
    assert json_equal(first, second) is equal
    assert json_equal(second, first) is equal


def test_a_non_json_value_is_refused() -> None:
    """A value json.loads never returns is a TypeError, not a silent answer."""
    with pytest.raises(TypeError, match="not a JSON value"):
        json_equal({1, 2}, {1, 2})


def test_missing_has_no_truth_value() -> None:
    """`if value:` cannot mistake an absent member for an empty one."""
    with pytest.raises(TypeError, match="is MISSING"):
        bool(MISSING)
    assert repr(MISSING) == "MISSING"


@given(VALUES)
def test_equality_survives_a_json_round_trip(value: Any) -> None:
    """A value equals itself, and what it becomes through JSON text."""
    assert json_equal(value, value)
    assert json_equal(value, json.loads(json.dumps(value)))


@given(VALUES)
def test_a_copy_is_equal_and_shares_nothing(value: Any) -> None:
    """copy_json makes an equal value with no mutable part in common."""
    copied = copy_json(value)
    assert json_equal(copied, value)

    def containers(v: Any) -> list[int]:
        if isinstance(v, dict):
            return [id(v), *(i for m in v.values() for i in containers(m))]
        if isinstance(v, list):
            return [id(v), *(i for e in v for i in containers(e))]
        return []

    assert not set(containers(copied)) & set(containers(value))


def test_type_names() -> None:
    """json_type uses JSON's names, and knows a bool is not a number."""
    values: list[Any] = [{}, [], "", True, 1, 1.5, None]
    names = [json_type(v) for v in values]
    assert names == ["object", "array", "string", "boolean", "number", "number", "null"]
