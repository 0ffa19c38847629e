"""Generated hostile JSON against the running service: never a 5xx, PUT and PATCH agree.

Hypothesis builds JSON texts from hostile parts (deep nesting, integers
around 4300 digits, numbers doubles cannot hold, lone surrogates, U+0000,
repeated member names, whitespace JSON does not allow, bytes that are not
UTF-8) and sends each as a PUT, a POST, a merge patch or a JSON Patch
value. Every answer is a 2xx or a 4xx problem; a refusal changes nothing;
what is accepted is strict JSON, and a PUT's document can be patched
without any member it does not touch changing its value.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.support import (
    JSON,
    JSON_PATCH,
    MERGE,
    Watched,
    assert_refused,
    create,
    snapshot,
    strict_json,
)

NUMBERS = st.one_of(
    st.sampled_from(
        [
            "0",
            "-0",
            "-0.0",
            "1E5",
            "2.50",
            "5e-324",
            "1.7976931348623157e308",
            "1.7976931348623157e309",
            "1e400",
            "-1e400",
            "1e-400",
            "0e-99999",
            "0e-9999",
            "1e99999999999999999999",
            "0.10000000000000000001",
            "9007199254740993.0",
        ]
    ),
    st.integers(4295, 4305).map(lambda digits: "9" * digits),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)
STRINGS = st.one_of(
    st.text(max_size=8).map(json.dumps),
    st.sampled_from(
        [
            '"\\ud800"',
            '"x\\udc00"',
            '"\\uDBFF\\u0041"',
            '"\\u0000"',
            '"a\\u0000b"',
            '"\\ud83d\\ude00"',
            '"\\\\u0000"',
            '"\\\\ud800"',
            '"__proto__"',
        ]
    ),
)
SCALARS = st.one_of(st.sampled_from(["null", "true", "false"]), NUMBERS, STRINGS)


def _array(elements: list[str]) -> str:
    return "[" + ",".join(elements) + "]"


def _object(members: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{name}:{value}" for name, value in members) + "}"


TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(_array),
        # Names drawn from a few, so that some objects repeat one.
        st.lists(st.tuples(st.sampled_from(['"a"', '"b"']) | STRINGS, children), max_size=4).map(
            _object
        ),
    ),
    max_leaves=12,
)


def _nest(parts: tuple[str, int, str]) -> str:
    inner, depth, opener = parts
    closer = "]" if opener == "[" else "}"
    return opener * depth + inner + closer * depth


VALUES = st.one_of(
    TREES,
    st.tuples(TREES, st.integers(0, 1100), st.sampled_from(["[", '{"k":'])).map(_nest),
)
# Whitespace JSON allows, and characters it does not allow there.
SPACES = st.sampled_from([" ", "\t", "\n", "\r", "", "\u00a0", "\x0b", "\x0c", "\ufeff", "\u2028"])
BAD_BYTES = st.sampled_from([b"\xff", b"\x80", b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80"])


@st.composite
def texts(draw: st.DrawFn) -> bytes:
    """A JSON-like text, sometimes with odd whitespace or bytes that are not UTF-8 spliced in."""
    text = draw(VALUES)
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(SPACES) + text[at:]
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(BAD_BYTES) + raw[at:]
    return raw


def exact(text: bytes) -> Any:
    """A JSON text as an exact reader sees it: numbers as decimals."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


@pytest.fixture(scope="module")
def fresh(watched: Watched) -> Iterator[httpx.Client]:
    """One client for every example (an httpx client costs 25 ms of CPU to make); it
    keeps no connection, so each request comes on a new one, as a hostile client's would."""
    limits = httpx.Limits(max_keepalive_connections=0)
    with watched.service.client(limits=limits) as client:
        yield client


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=texts(), way=st.sampled_from(["PUT", "POST", "merge", "json-patch"]))
def test_generated_hostile_json(fresh: httpx.Client, value: bytes, way: str) -> None:
    """Never a 5xx; a refusal is a 4xx problem and changes nothing; what is stored is JSON."""
    collection = f"g{uuid.uuid4().hex[:12]}"
    body = b'{"v":' + value + b',"n":1}'
    http = fresh
    if way in ("PUT", "POST"):
        url = f"/v1/{collection}/{uuid.uuid4().hex}"
        if way == "PUT":
            headers = {"content-type": JSON, "If-None-Match": "*"}
            answer = http.put(url, content=body, headers=headers)
        else:
            answer = http.post(f"/v1/{collection}", content=body, headers={"content-type": JSON})
        if answer.status_code != 201:
            assert_refused(answer)
            assert http.get(f"/v1/{collection}").json()["items"] == []
            return
        url = answer.headers.get("location", url)
        stored = http.get(url)
        assert stored.content == body
        # What a PUT accepts, a PATCH can rewrite: an untouched member keeps its value.
        patched = http.patch(
            url,
            content=b'{"n": 2}',
            headers={"content-type": MERGE, "If-Match": stored.headers["etag"]},
        )
        assert patched.status_code == 200, patched.text
        assert exact(http.get(url).content)["v"] == exact(body)["v"]
        return
    url, etag = create(http, collection)
    before = snapshot(http, url)
    if way == "merge":
        answer = http.patch(url, content=body, headers={"content-type": MERGE, "If-Match": etag})
    else:
        patch = b'[{"op":"add","path":"/v","value":' + value + b"}]"
        answer = http.patch(
            url, content=patch, headers={"content-type": JSON_PATCH, "If-Match": etag}
        )
    if answer.status_code != 200:
        assert_refused(answer)
        assert snapshot(http, url) == before
        return
    # What a PATCH stores, a PUT accepts back as it is.
    current = http.get(url)
    strict_json(current.content)
    again = http.put(
        url,
        content=current.content,
        headers={"content-type": JSON, "If-Match": answer.headers["etag"]},
    )
    assert again.status_code == 200, again.text
