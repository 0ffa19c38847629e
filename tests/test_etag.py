"""Entity-tags: RFC 9110 §8.8.3 grammar and comparison, as spec tables."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import EntityTags, ETag, MalformedHeader
from httpconflict._etag import MAX_ENTITY_TAGS

# RFC 9110 §8.8.3.2, the comparison table, row by row.
COMPARISON_TABLE = [
    pytest.param('W/"1"', 'W/"1"', False, True, id="rfc9110-8.8.3.2-row1-weak-weak-same"),
    pytest.param('W/"1"', 'W/"2"', False, False, id="rfc9110-8.8.3.2-row2-weak-weak-different"),
    pytest.param('W/"1"', '"1"', False, True, id="rfc9110-8.8.3.2-row3-weak-strong-same"),
    pytest.param('"1"', '"1"', True, True, id="rfc9110-8.8.3.2-row4-strong-strong-same"),
]


@pytest.mark.parametrize(("first", "second", "strong", "weak"), COMPARISON_TABLE)
def test_comparison_table(first: str, second: str, strong: bool, weak: bool) -> None:
    """Strong and weak comparison give exactly the RFC's table, in both orders."""
    a, b = ETag.parse(first), ETag.parse(second)
    assert a.strong_compare(b) is strong
    assert b.strong_compare(a) is strong
    assert a.weak_compare(b) is weak
    assert b.weak_compare(a) is weak


VALID_TAGS = [
    pytest.param('"xyzzy"', ETag("xyzzy"), id="rfc9110-8.8.3-strong"),
    pytest.param('W/"xyzzy"', ETag("xyzzy", weak=True), id="rfc9110-8.8.3-weak"),
    pytest.param('""', ETag(""), id="rfc9110-8.8.3-empty-opaque-is-valid"),
    pytest.param('"a,b"', ETag("a,b"), id="rfc9110-8.8.3-comma-is-an-etagc"),
    pytest.param('"\x80\xff"', ETag("\x80\xff"), id="rfc9110-8.8.3-obs-text"),
    pytest.param(' \t"x" ', ETag("x"), id="rfc9110-5.6.1-ows-around"),
]


@pytest.mark.parametrize(("text", "expected"), VALID_TAGS)
def test_parse_valid(text: str, expected: ETag) -> None:
    """Valid entity-tags parse to the expected value."""
    assert ETag.parse(text) == expected


INVALID_TAGS = [
    pytest.param("xyzzy", id="rfc9110-8.8.3-unquoted"),
    pytest.param('w/"x"', id="rfc9110-8.8.3-weak-prefix-is-case-sensitive"),
    pytest.param('"x', id="rfc9110-8.8.3-unterminated"),
    pytest.param('"x"y"', id="rfc9110-8.8.3-dquote-inside"),
    pytest.param('"x y"', id="rfc9110-8.8.3-space-is-not-etagc"),
    pytest.param('W/ "x"', id="rfc9110-8.8.3-nothing-between-W/-and-quote"),
    pytest.param("*", id="rfc9110-8.8.3-star-is-not-an-entity-tag"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("text", INVALID_TAGS)
def test_parse_invalid(text: str) -> None:
    """Malformed entity-tags raise MalformedHeader, a ValueError carrying a 400 problem."""
    with pytest.raises(ValueError, match="not a valid entity-tag") as info:
        ETag.parse(text)
    assert isinstance(info.value, MalformedHeader)
    assert info.value.problem.status == 400
    assert info.value.problem.type.endswith("/malformed-header")


def test_unquoted_tag_gets_a_hint() -> None:
    """An unquoted tag, the commonest client bug, is answered with the fix."""
    with pytest.raises(MalformedHeader, match='did you mean "abc"'):
        ETag.parse("abc")


LISTS = [
    pytest.param(["*"], EntityTags(any=True), id="rfc9110-13.1.1-star"),
    pytest.param([" * "], EntityTags(any=True), id="rfc9110-5.6.1-star-with-ows"),
    pytest.param(['"a"'], EntityTags((ETag("a"),)), id="rfc9110-13.1.1-one"),
    pytest.param(
        ['"a", W/"b",  "c"'],
        EntityTags((ETag("a"), ETag("b", weak=True), ETag("c"))),
        id="rfc9110-13.1.1-list",
    ),
    pytest.param(
        ['"a"', 'W/"b"'],
        EntityTags((ETag("a"), ETag("b", weak=True))),
        id="rfc9110-5.3-field-lines-combine",
    ),
    pytest.param(
        [', "a" ,, "b",'], EntityTags((ETag("a"), ETag("b"))), id="rfc9110-5.6.1-empty-elements"
    ),
    pytest.param(
        ['"a,b", "c"'], EntityTags((ETag("a,b"), ETag("c"))), id="rfc9110-8.8.3-quoted-comma"
    ),
]


@pytest.mark.parametrize(("lines", "expected"), LISTS)
def test_parse_lists(lines: list[str], expected: EntityTags) -> None:
    """If-Match / If-None-Match values parse from one or several field lines."""
    assert EntityTags.parse(lines) == expected


BAD_LISTS = [
    pytest.param('*, "a"', id="rfc9110-13.1.1-star-stands-alone"),
    pytest.param('"a" "b"', id="rfc9110-5.6.1-missing-comma"),
    pytest.param('"a", b', id="rfc9110-8.8.3-one-unquoted-member"),
    pytest.param("", id="empty-field-value"),
    pytest.param(" , ", id="only-empty-elements"),
]


@pytest.mark.parametrize("value", BAD_LISTS)
def test_parse_bad_lists(value: str) -> None:
    """Malformed lists raise MalformedHeader (400)."""
    with pytest.raises(MalformedHeader):
        EntityTags.parse(value)


def test_if_match_uses_strong_comparison() -> None:
    """RFC 9110 §13.1.1: a weak tag in If-Match never matches, even the same opaque tag."""
    assert not EntityTags.parse('W/"1"').strong_match(ETag("1"))
    assert not EntityTags.parse('"1"').strong_match(ETag("1", weak=True))
    assert EntityTags.parse('"0", "1"').strong_match(ETag("1"))
    assert EntityTags.parse("*").strong_match(ETag("anything"))


def test_if_none_match_uses_weak_comparison() -> None:
    """RFC 9110 §13.1.2: If-None-Match matches regardless of weakness."""
    assert EntityTags.parse('W/"1"').weak_match(ETag("1"))
    assert EntityTags.parse('"1"').weak_match(ETag("1", weak=True))
    assert not EntityTags.parse('"2"').weak_match(ETag("1"))


def test_star_cannot_be_mixed_in_the_value_type() -> None:
    """EntityTags refuses to hold both "*" and tags."""
    with pytest.raises(ValueError, match="cannot be combined"):
        EntityTags((ETag("a"),), any=True)


def test_from_content_is_strong_and_stable() -> None:
    """Tags derived from content are strong, equal for equal bytes, different otherwise."""
    a = ETag.from_content(b'{"a":1}')
    assert not a.weak
    assert a == ETag.from_content(b'{"a":1}')
    assert a != ETag.from_content(b'{"a": 1}')
    assert ETag.parse(a.to_header()) == a


opaque = st.text(
    alphabet=st.sampled_from(
        [chr(0x21)] + [chr(c) for c in range(0x23, 0x7F)] + [chr(c) for c in range(0x80, 0x100)]
    ),
    max_size=40,
)
etags = st.builds(ETag, opaque, st.booleans())


@given(etags)
def test_roundtrip_one(tag: ETag) -> None:
    """parse(to_header(t)) == t for every entity-tag."""
    assert ETag.parse(tag.to_header()) == tag


@given(st.lists(etags, min_size=1, max_size=8), st.integers(min_value=1, max_value=3))
def test_roundtrip_lists(tags: list[ETag], split: int) -> None:
    """A list survives formatting, also when spread over several field lines."""
    value = EntityTags(tuple(tags))
    assert EntityTags.parse(value.to_header()) == value
    lines = [", ".join(t.to_header() for t in tags[i::split]) for i in range(split)]
    reordered = [t for i in range(split) for t in tags[i::split]]
    assert EntityTags.parse([line for line in lines if line]) == EntityTags(tuple(reordered))


@given(st.text(max_size=30))
def test_parse_never_crashes(text: str) -> None:
    """Any input either parses or raises MalformedHeader: never another error."""
    with contextlib.suppress(MalformedHeader):
        EntityTags.parse(text)


@given(st.lists(st.one_of(etags.map(ETag.to_header), st.just("")), max_size=12), st.text(" \t,"))
def test_a_list_parses_as_its_elements(elements: list[str], gap: str) -> None:
    """A list of entity-tags (empty elements and any OWS between) is its elements, in order."""
    tags = tuple(ETag.parse(e) for e in elements if e)
    value = ("," + gap).join(elements)
    if tags:
        assert EntityTags.parse(value) == EntityTags(tags)
    else:
        with pytest.raises(MalformedHeader):
            EntityTags.parse(value)


def test_a_long_list_is_parsed_but_not_kept() -> None:
    """A field of 64 long tags (58 KB) parses as a short one does, and is not kept."""
    from httpconflict._etag import _parse_entity_tags

    before = _parse_entity_tags.cache_info().currsize
    for n in range(10):
        parsed = EntityTags.parse(f'"x{n}", ' + ", ".join(['W/"' + "a" * 900 + '"'] * 63))
        assert parsed.tags[0] == ETag(f"x{n}")
        assert len(parsed.tags) == MAX_ENTITY_TAGS
        assert parsed.tags[-1] == ETag("a" * 900, weak=True)
    assert _parse_entity_tags.cache_info().currsize == before
