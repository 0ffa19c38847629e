"""Request bodies: media types and strict JSON documents."""

from __future__ import annotations

import pytest

from httpconflict import (
    InvalidDocument,
    MalformedHeader,
    MalformedJSON,
    UnsupportedMediaType,
    parse_json_object,
    parse_media_type,
    require_media_type,
)
from httpconflict._media import content_type_of


def test_parse_media_type() -> None:
    """Type and subtype are case-insensitive; parameters are split out."""
    assert parse_media_type('Application/JSON; Charset="UTF-8"') == (
        "application/json",
        {"charset": "UTF-8"},
    )


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON;charset=UTF8"],
)
def test_json_accepted(content_type: str) -> None:
    """application/json, with or without a UTF-8 charset, is accepted."""
    assert require_media_type(content_type, ("application/json",)) == "application/json"


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        (None, "no Content-Type"),
        ("", "no Content-Type"),
        ("text/plain", "not accepted"),
        ("application/merge-patch+json", "sent with PATCH"),
        ("application/json; charset=latin-1", "UTF-8"),
    ],
)
def test_415(content_type: str | None, message: str) -> None:
    """Anything else is a 415 that lists what is accepted."""
    with pytest.raises(UnsupportedMediaType, match=message) as info:
        require_media_type(content_type, ("application/json",))
    assert info.value.problem.extensions["accept"] == ["application/json"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"{", "line 1 column 2"),
        (b"{'a': 1}", "invalid JSON"),
        (b'{"a": NaN}', "NaN is not a JSON value"),
        (b'{"a": Infinity}', "Infinity"),
        (b'\xff{"a": 1}', "not UTF-8"),
        # The body is a JSON text behind a mark the client cannot see: say so, not "Expecting
        # value at line 1 column 1" of a text that looks valid to whoever reads it.
        (b'\xef\xbb\xbf{"a": 1}', "starts with a byte order mark"),
        (b'{"a": 1} x', "Extra data"),
    ],
)
def test_malformed_json_is_400(body: bytes, message: str) -> None:
    """Bodies that are not JSON texts raise MalformedJSON (400)."""
    with pytest.raises(MalformedJSON, match=message) as info:
        parse_json_object(body)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"[1, 2]", "array"),
        (b'"s"', "string"),
        (b"1", "number"),
        (b"null", "null"),
        (b"true", "boolean"),
    ],
)
def test_non_objects_are_422(body: bytes, kind: str) -> None:
    """Valid JSON that is not an object raises InvalidDocument (422)."""
    with pytest.raises(InvalidDocument, match=f"not a JSON {kind}") as info:
        parse_json_object(body)
    assert info.value.status == 422


def test_duplicate_member_names_are_422() -> None:
    """RFC 8259 §4 leaves duplicate names to the parser, so they are refused."""
    with pytest.raises(InvalidDocument, match="'a' appears more than once"):
        parse_json_object(b'{"x": {"a": 1, "a": 2}}')


def test_valid_object() -> None:
    """A JSON object parses to a dict."""
    assert parse_json_object('{"a": [1, {"b": "ü"}]}'.encode()) == {"a": [1, {"b": "ü"}]}


@pytest.mark.parametrize(
    "value",
    ["application/json, text/plain", "text/plain,application/json", 'application/json; a="x", b'],
)
def test_several_media_types_are_a_malformed_header(value: str) -> None:
    """Content-Type is one media type (RFC 9110 §8.3): a list, or the field sent twice and
    joined, is a 400 naming the field, whichever type comes first."""
    with pytest.raises(MalformedHeader) as raised:
        require_media_type(value, ("application/json",))
    assert raised.value.header == "Content-Type"
    assert content_type_of(["application/json", "text/plain"]) == "application/json, text/plain"


def test_a_comma_in_a_quoted_parameter_is_one_media_type() -> None:
    value = 'application/json; profile="a,b"'
    assert require_media_type(value, ("application/json",)) == "application/json"
