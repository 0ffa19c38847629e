"""The JSON domain: what parse_json accepts, and what check_json_domain accepts of a value."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import (
    InvalidDocument,
    JsonLimitExceeded,
    JsonLimits,
    Patch,
    check_json_domain,
    parse_json,
)
from httpconflict._media import parse_stored_document


def _nested(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


@pytest.mark.parametrize(
    ("body", "limit", "member"),
    [
        pytest.param(b'{"a": ' + b"1" * 4301 + b"}", "number-digits", "number", id="int-4301"),
        pytest.param(b'{"a": -' + b"9" * 4301 + b"}", "number-digits", "number", id="neg-int"),
        pytest.param(b'{"a": 0.' + b"0" * 4301 + b"}", "number-digits", "number", id="long-zero"),
        pytest.param(b'{"a": 1e400}', "number-range", "number", id="overflows-to-inf"),
        pytest.param(b'{"a": -1E+309}', "number-range", "number", id="overflows-negative"),
        pytest.param(b'{"a": 1e-400}', "number-range", "number", id="underflows-to-zero"),
        pytest.param(b'{"a": 0e-99999}', "number-exponent", "number", id="huge-exponent-zero"),
        pytest.param(b"[1e99999999999999999999]", "number-exponent", "number", id="exp-digits"),
        pytest.param(b'{"a": 0.10000000000000000001}', "number-precision", "number", id="rounded"),
        pytest.param(b'{"a": 9007199254740993.0}', "number-precision", "number", id="2**53+1.0"),
        pytest.param(b'{"a": "\\ud800"}', "lone-surrogate", "pointer", id="lone-high"),
        pytest.param(b'{"a": ["\\udc00x"]}', "lone-surrogate", "pointer", id="lone-low"),
        pytest.param(b'{"\\ud800": 1}', "lone-surrogate", "pointer", id="surrogate-name"),
        pytest.param(b'{"a": "x\\u0000y"}', "nul-character", "pointer", id="nul"),
        pytest.param(b'{"\\u0000": 1}', "nul-character", "pointer", id="nul-name"),
        pytest.param(_nested(129), "depth", "pointer", id="depth-129"),
        pytest.param(b"[" * 100_000, "depth", "max", id="deeper-than-the-parser"),
    ],
)
def test_refused(body: bytes, limit: str, member: str) -> None:
    """Each value outside the domain is a 422 json-limit naming the limit."""
    with pytest.raises(JsonLimitExceeded) as info:
        parse_json(body)
    problem = info.value.problem.to_dict()
    assert (problem["status"], problem["limit"]) == (422, limit)
    assert problem["type"].endswith("/json-limit")
    assert member in problem
    assert isinstance(info.value, InvalidDocument)
    json.loads(info.value.problem.to_json())


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b'{"a": ' + b"7" * 4300 + b"}", {"a": int("7" * 4300)}, id="int-4300-digits"),
        pytest.param(b'{"a": 0.1}', {"a": 0.1}, id="tenth"),
        pytest.param(b'{"a": 2.50}', {"a": 2.5}, id="trailing-zero"),
        pytest.param(b'{"a": 1E5}', {"a": 100000.0}, id="exponent"),
        pytest.param(b'{"a": 5e-324}', {"a": 5e-324}, id="smallest-subnormal"),
        pytest.param(b'{"a": 1.7976931348623157e308}', {"a": 1.7976931348623157e308}, id="max"),
        pytest.param(b'{"a": 0e-9999}', {"a": 0.0}, id="zero-exponent-4-digits"),
        pytest.param(b'{"a": "\\ud83d\\ude00"}', {"a": "\U0001f600"}, id="surrogate-pair"),
        pytest.param(b'{"a": "\\\\u0000"}', {"a": "\\u0000"}, id="escaped-backslash"),
        pytest.param(_nested(128), json.loads(_nested(128)), id="depth-128"),
    ],
)
def test_accepted(body: bytes, expected: Any) -> None:
    """Values inside the domain parse as json.loads reads them."""
    assert parse_json(body) == expected


def test_negative_zero_keeps_its_sign() -> None:
    """-0 is read as the float -0.0, so writing the value back keeps the sign."""
    value = parse_json(b'{"a": -0, "b": -0.0, "c": 0}')
    assert json.dumps(value) == '{"a": -0.0, "b": -0.0, "c": 0}'


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_double_is_accepted_as_python_writes_it(number: float) -> None:
    """Every finite double, in the text json.dumps gives it, is in the domain and reads back."""
    assert parse_json(json.dumps([number]).encode()) == [number]


@given(st.decimals(allow_nan=False, allow_infinity=False).map(str))
def test_a_number_is_accepted_only_if_writing_it_back_keeps_it(text: str) -> None:
    """An accepted number, written back as json.dumps writes it, is the same decimal number.

    A refused one (other than for its size) would not have been.
    """
    try:
        [value] = parse_json(f"[{text}]".encode())
    except JsonLimitExceeded as error:
        if error.limit in ("number-digits", "number-exponent"):
            return
        value = float(text)
        assert not math.isfinite(value) or Decimal(repr(value)) != Decimal(text)
        return
    assert Decimal(json.dumps(value)) == Decimal(text)


def test_stored_document_outside_the_domain_is_a_422() -> None:
    """A stored text outside the domain is refused as stored: 422, saying to PUT a new one."""
    with pytest.raises(JsonLimitExceeded, match="stored document") as info:
        parse_stored_document(b'{"a": "\\ud800"}')
    assert info.value.problem.extensions["pointer"] == "/a"
    with pytest.raises(InvalidDocument, match="stored document"):
        parse_stored_document(b'{"a": Infinity}')


@pytest.mark.parametrize(
    ("value", "limit"),
    [
        pytest.param({"a": math.inf}, "number-range", id="inf"),
        pytest.param({"a": [math.nan]}, "number-range", id="nan"),
        pytest.param({"a": 10**4300}, "number-digits", id="int-4301"),
        pytest.param({"a": {"b": "\ud800"}}, "lone-surrogate", id="surrogate"),
        pytest.param({"a\x00": 1}, "nul-character", id="nul-name"),
        pytest.param(json.loads(_nested(200)), "depth", id="depth-200"),
    ],
)
def test_check_json_domain_refuses(value: Any, limit: str) -> None:
    """A value built in Python is held to the same domain, pointer included."""
    with pytest.raises(JsonLimitExceeded) as info:
        check_json_domain(value)
    assert info.value.limit == limit
    assert info.value.pointer is not None or limit == "depth"


def test_check_json_domain_walks_any_depth_without_recursing() -> None:
    """A value nested 100,000 deep is refused, not recursed into."""
    value: list[Any] = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(JsonLimitExceeded, match="128"):
        check_json_domain(value)


def test_the_depth_pointer_names_the_container() -> None:
    """The refusal of a deep value says where the first too-deep container is."""
    with pytest.raises(JsonLimitExceeded) as info:
        check_json_domain({"x": json.loads(_nested(128))})
    assert info.value.pointer == "/x" + "/a" * 127


def test_limits_are_parameters() -> None:
    """Smaller limits are enforced the same way."""
    limits = JsonLimits(max_depth=2, max_digits=3)
    assert parse_json(b"[[1]]", limits) == [[1]]
    with pytest.raises(JsonLimitExceeded, match="more than 2"):
        parse_json(b"[[[1]]]", limits)
    with pytest.raises(JsonLimitExceeded, match="more than 3 digits"):
        parse_json(b"[1000]", limits)
    with pytest.raises(ValueError, match="positive"):
        JsonLimits(max_depth=0)


@pytest.mark.parametrize(
    ("media_type", "patch", "limit"),
    [
        pytest.param("application/merge-patch+json", b'{"x": 1e400}', "number-range", id="merge"),
        pytest.param(
            "application/json-patch+json",
            b'[{"op": "add", "path": "/x", "value": "\\ud800"}]',
            "lone-surrogate",
            id="json-patch",
        ),
    ],
)
def test_a_patch_outside_the_domain_is_refused_when_parsed(
    media_type: str, patch: bytes, limit: str
) -> None:
    """A patch carrying a value outside the domain is refused before it is applied."""
    with pytest.raises(JsonLimitExceeded) as info:
        Patch.parse(media_type, patch)
    assert info.value.limit == limit


def test_a_patch_result_outside_the_domain_is_refused() -> None:
    """A patch whose result would nest deeper than the limit is refused (422)."""
    deep = json.loads(_nested(100))
    path = "/a" * 98 + "/b"
    patch = Patch("application/json-patch+json", [{"op": "add", "path": path, "value": deep}])
    with pytest.raises(JsonLimitExceeded):
        patch.apply(json.loads(_nested(100)))


def self_nesting_patch(copies: int) -> list[dict[str, str]]:
    """A JSON Patch copying the whole of ``{"a": []}`` into its deepest array, again and again.

    Each copy doubles the depth (and the size: from 8 bytes, 8 * 2**copies).
    """
    return [
        {"op": "copy", "from": "", "path": "/a" + "/0/a" * (2**done - 1) + "/-"}
        for done in range(copies)
    ]


def test_a_json_patch_nesting_the_document_into_itself_is_refused() -> None:
    """12 self-copies (4096 deep, 32 kB) are a 422 depth refusal, not a RecursionError."""
    patch = Patch("application/json-patch+json", self_nesting_patch(12), max_bytes=1 << 20)
    with pytest.raises(JsonLimitExceeded) as info:
        patch.apply({"a": []})
    assert info.value.limit == "depth"
    three = Patch("application/json-patch+json", self_nesting_patch(3)).apply({"a": []})
    assert len(json.dumps(three, separators=(",", ":"))) == 8 * 2**3


def test_large_finite_numbers_pass_the_quick_check_and_the_walk() -> None:
    """Doubles whose sum overflows are still accepted (the quick check errs, the walk decides)."""
    value = {"a": [1.7e308, 1.7e308], "b": int("9" * 4300), "c": [True, None, "ok"]}
    check_json_domain(value)
