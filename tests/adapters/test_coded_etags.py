"""`CodedETags.read_back`: a coded tag in If-Match or If-None-Match made plain, others as sent."""

from __future__ import annotations

import pytest

from httpconflict.asgi.coded_etags import CodedETags
from httpconflict.asgi.types import Scope


def _scope(*headers: tuple[bytes, bytes]) -> Scope:
    return {"type": "http", "method": "PUT", "path": "/", "headers": list(headers)}


@pytest.mark.parametrize(
    ("name", "value", "plain", "coded"),
    [
        pytest.param(b"if-match", b'"abc-gzip"', b'"abc"', {}, id="if-match-coded-made-plain"),
        pytest.param(
            b"if-none-match",
            b'"a", "b-gzip"',
            b'"a", "b"',
            {"b": "gzip"},
            id="if-none-match-coded-noted-for-the-304",
        ),
        pytest.param(b"if-match", b'W/"abc-gzip"', None, {}, id="weak-never-coded"),
        pytest.param(b"if-match", b'"abc-GZIP"', None, {}, id="coding-suffix-is-lower-case"),
        pytest.param(b"if-match", b'"abc"', None, {}, id="plain-tag-left-as-sent"),
        pytest.param(b"if-match", b"*", None, {}, id="star-left-as-sent"),
        pytest.param(b"etag", b'"abc-gzip"', None, {}, id="other-fields-left-alone"),
    ],
)
def test_read_back(name: bytes, value: bytes, plain: bytes | None, coded: dict[str, str]) -> None:
    """A field naming a coded tag is rewritten; one without a coding's suffix is not even parsed."""
    scope = _scope((b"host", b"x"), (name, value))
    seen, noted = CodedETags().read_back(scope)
    if plain is None:
        assert seen is scope
    else:
        assert seen["headers"] == [(b"host", b"x"), (name, plain)]
        assert scope["headers"][1] == (name, value)  # the server's own list is left as it was
    assert noted == coded
