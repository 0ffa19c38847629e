"""JSON Pointer (RFC 6901): syntax, escaping, evaluation, and overlap."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import InvalidPointer, JsonPointer, PointerNotFound
from tests.json.strategies import NAMES

# RFC 6901 §5, the example document.
RFC_DOCUMENT = {
    "foo": ["bar", "baz"],
    "": 0,
    "a/b": 1,
    "c%d": 2,
    "e^f": 3,
    "g|h": 4,
    "i\\j": 5,
    'k"l': 6,
    " ": 7,
    "m~n": 8,
}

RFC_EXAMPLES = [
    pytest.param("", RFC_DOCUMENT, id="rfc6901-5-whole-document"),
    pytest.param("/foo", ["bar", "baz"], id="rfc6901-5-foo"),
    pytest.param("/foo/0", "bar", id="rfc6901-5-foo-0"),
    pytest.param("/", 0, id="rfc6901-5-empty-name"),
    pytest.param("/a~1b", 1, id="rfc6901-5-slash-escaped"),
    pytest.param("/c%d", 2, id="rfc6901-5-percent"),
    pytest.param("/e^f", 3, id="rfc6901-5-caret"),
    pytest.param("/g|h", 4, id="rfc6901-5-bar"),
    pytest.param("/i\\j", 5, id="rfc6901-5-backslash"),
    pytest.param('/k"l', 6, id="rfc6901-5-quote"),
    pytest.param("/ ", 7, id="rfc6901-5-space"),
    pytest.param("/m~0n", 8, id="rfc6901-5-tilde-escaped"),
]


@pytest.mark.parametrize(("text", "expected"), RFC_EXAMPLES)
def test_rfc_examples(text: str, expected: Any) -> None:
    """Each pointer of RFC 6901 §5 names the value the RFC says, and formats back."""
    pointer = JsonPointer.parse(text)
    assert pointer.resolve(RFC_DOCUMENT) == expected
    assert str(pointer) == text


def test_unescaping_order() -> None:
    """'~01' is '~1' (RFC 6901 §4: '~1' is replaced first, then '~0')."""
    assert JsonPointer.parse("/~01").tokens == ("~1",)
    assert str(JsonPointer(("~1",))) == "/~01"
    assert JsonPointer.parse("/a~1b/~0").tokens == ("a/b", "~")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("foo", id="rfc6901-3-no-leading-slash"),
        pytest.param("/~", id="rfc6901-3-tilde-at-end"),
        pytest.param("/~2", id="rfc6901-3-tilde-2"),
        pytest.param("/a~b", id="rfc6901-3-tilde-letter"),
        pytest.param("#/foo", id="uri-fragment-form-is-not-parsed"),
    ],
)
def test_invalid_pointers(text: str) -> None:
    """Text that is not a JSON Pointer raises InvalidPointer, a ValueError."""
    with pytest.raises(InvalidPointer) as raised:
        JsonPointer.parse(text)
    assert isinstance(raised.value, ValueError)
    assert raised.value.text == text


@given(st.lists(NAMES | st.text(max_size=4), max_size=4))
def test_format_then_parse(tokens: list[str]) -> None:
    """Any tokens survive formatting and parsing."""
    pointer = JsonPointer(tuple(tokens))
    assert JsonPointer.parse(str(pointer)) == pointer


@given(st.lists(st.text(alphabet="ab/", max_size=3).map(lambda t: "/" + t), max_size=4))
def test_parse_then_format(parts: list[str]) -> None:
    """A pointer text without '~' formats back to itself."""
    text = "".join(parts)
    assert str(JsonPointer.parse(text)) == text


OVERLAPS = [
    pytest.param("/a", "/a/b", True, id="parent-and-child"),
    pytest.param("/a", "/a", True, id="same"),
    pytest.param("", "/a/b", True, id="root-overlaps-everything"),
    pytest.param("/a", "/ab", False, id="tokens-not-characters"),
    pytest.param("/a/b", "/a/c", False, id="siblings"),
    pytest.param("/a~1b", "/a/b", False, id="escaped-slash-is-one-token"),
    pytest.param("/a/0", "/a/00", False, id="zero-and-double-zero"),
]


@pytest.mark.parametrize(("first", "second", "overlap"), OVERLAPS)
def test_overlaps(first: str, second: str, overlap: bool) -> None:
    """Pointers overlap when one is the other or an ancestor of it, in either order."""
    a, b = JsonPointer.parse(first), JsonPointer.parse(second)
    assert a.overlaps(b) is overlap
    assert b.overlaps(a) is overlap


def test_ancestry() -> None:
    """is_ancestor_of is a proper prefix of tokens; parent and child walk the tree."""
    a, ab = JsonPointer.parse("/a"), JsonPointer.parse("/a/b")
    assert a.is_ancestor_of(ab)
    assert not ab.is_ancestor_of(a)
    assert not a.is_ancestor_of(a)
    assert JsonPointer().is_ancestor_of(a)
    assert ab.parent == a
    assert a.child("b") == ab
    assert JsonPointer.from_tokens(["x", 0]) == JsonPointer.parse("/x/0")
    assert JsonPointer().is_root
    with pytest.raises(ValueError, match="no parent"):
        _ = JsonPointer().parent


def test_order_puts_parents_first() -> None:
    """Sorting pointers orders by tokens: a parent before its children, siblings by name."""
    texts = ["/b", "/a/b", "", "/a", "/a~1b"]
    assert [str(p) for p in sorted(JsonPointer.parse(t) for t in texts)] == [
        "",
        "/a",
        "/a/b",
        "/a~1b",
        "/b",
    ]


NOT_FOUND = [
    pytest.param({"a": 1}, "/b", "", id="missing-member"),
    pytest.param({"a": {"b": 1}}, "/a/c/d", "/a", id="found-stops-at-the-missing-member"),
    pytest.param({"a": [1, 2]}, "/a/2", "/a", id="index-out-of-range"),
    pytest.param({"a": [1, 2]}, "/a/01", "/a", id="rfc6901-4-leading-zero"),
    pytest.param({"a": [1, 2]}, "/a/-", "/a", id="rfc6901-4-dash-names-nothing-yet"),
    pytest.param({"a": [1, 2]}, "/a/+1", "/a", id="sign-is-not-an-index"),
    pytest.param({"a": [1, 2]}, "/a/\u0661", "/a", id="arabic-digit-is-not-an-index"),
    pytest.param({"a": "text"}, "/a/0", "/a", id="string-has-no-elements"),
    pytest.param(None, "/a", "", id="null-has-no-members"),
]


@pytest.mark.parametrize(("document", "text", "found"), NOT_FOUND)
def test_not_found(document: Any, text: str, found: str) -> None:
    """A pointer naming nothing raises PointerNotFound (a LookupError) saying how far it got."""
    with pytest.raises(PointerNotFound) as raised:
        JsonPointer.parse(text).resolve(document)
    assert isinstance(raised.value, LookupError)
    assert str(raised.value.found) == found
    assert str(raised.value.pointer) == text


def test_object_members_may_look_like_indices() -> None:
    """'01' and '-' are ordinary member names in an object."""
    document = {"01": "zero-one", "-": "dash"}
    assert JsonPointer.parse("/01").resolve(document) == "zero-one"
    assert JsonPointer.parse("/-").resolve(document) == "dash"
