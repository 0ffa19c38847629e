"""Header field values the core reads take time linear in their size, and long lists are a 431.

Each value here is one a client can send within the service's 64 KiB
head. The time bound (a second) is some thousand times what each takes
now; before, each took from 2 to 30 s of the worker's loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from httpconflict import (
    Conditions,
    EntityTags,
    HeaderFieldTooLarge,
    MalformedHeader,
    UnsupportedMediaType,
    require_media_type,
)
from httpconflict._etag import MAX_ENTITY_TAGS
from httpconflict._field_lists import MAX_LIST_ELEMENTS, list_elements
from httpconflict._fingerprint import meaning_fields
from httpconflict._rebase import prefers_rebase

#: Far more than any of these takes now (well under 50 ms on a loaded machine).
BOUND = 1.0
HEAD = 60_000


def timed(call: Callable[[], object]) -> tuple[float, BaseException | None]:
    start = time.perf_counter()
    try:
        call()
    except ValueError as error:
        return time.perf_counter() - start, error
    return time.perf_counter() - start, None


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("," * HEAD + "x", id="commas-then-junk"),
        pytest.param(" ," * (HEAD // 2) + "x", id="spaced-commas-then-junk"),
        pytest.param('"a"' + ", " * (HEAD // 2) + "x", id="tag-commas-then-junk"),
        pytest.param("\t," * (HEAD // 2), id="only-separators"),
    ],
)
def test_a_malformed_entity_tag_list_is_refused_at_once(value: str) -> None:
    """A list of separators then junk is a 400 in linear time (16,000 commas took 2.2 s)."""
    seconds, error = timed(lambda: EntityTags.parse(value))
    assert isinstance(error, MalformedHeader), error
    assert error.status == 400
    assert seconds < BOUND, f"{seconds:.2f} s"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(",".join(['""'] * 20_000), id="20000-empty-tags"),
        pytest.param(",".join(['W/"x"'] * 10_000), id="10000-weak-tags"),
        pytest.param(",".join(["*"] * 20_000), id="20000-stars"),
        pytest.param(",".join(['""'] * (MAX_ENTITY_TAGS + 1)), id="one-past-the-limit"),
    ],
)
def test_more_entity_tags_than_the_limit_are_a_431(value: str) -> None:
    """A list past MAX_ENTITY_TAGS is HeaderFieldTooLarge, 431, naming the field and limit."""
    seconds, error = timed(lambda: Conditions.from_headers({"if-none-match": value}))
    assert isinstance(error, HeaderFieldTooLarge), error
    assert error.status == 431
    assert error.problem.extensions == {"header": "If-None-Match", "max_elements": 64}
    assert "value" not in error.problem.extensions  # 60 KB not sent back
    assert seconds < BOUND, f"{seconds:.2f} s"


def test_the_limit_counts_every_line_of_the_field() -> None:
    """Tags spread over several field lines count together; the limit itself is taken."""
    line = ", ".join(f'"t{i}"' for i in range(MAX_ENTITY_TAGS // 2))
    assert len(EntityTags.parse([line, line]).tags) == MAX_ENTITY_TAGS
    with pytest.raises(HeaderFieldTooLarge):
        EntityTags.parse([line, line, '"one-more"'])


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(
            'application/json; a="' + '\\"' * (HEAD // 2) + ", x/y", id="escaped-quotes-open"
        ),
        pytest.param('\\"' * (HEAD // 2) + ",", id="escaped-quotes-then-comma"),
        pytest.param('"' * HEAD + ",", id="quotes-then-comma"),
    ],
)
def test_a_content_type_full_of_quotes_is_read_in_linear_time(value: str) -> None:
    """Content-Type's quoted strings are skipped in one pass (32,000 escaped quotes: 26 s)."""
    seconds, error = timed(lambda: require_media_type(value, ("application/json",)))
    assert isinstance(error, (MalformedHeader, UnsupportedMediaType)), error
    assert seconds < BOUND, f"{seconds:.2f} s"


@pytest.mark.parametrize(
    ("value", "is_list"),
    [
        ('application/json; a="x,y"', False),
        ('application/json; a="\\",y"', False),
        ('application/json; a="\\"", text/plain', True),
        ('application/json; a="x,y', True),  # a quote left open: its comma still counts
        ("application/json, text/plain", True),
    ],
)
def test_commas_in_quoted_strings_are_no_list(value: str, is_list: bool) -> None:
    """A comma inside a quoted parameter is not a second media type; one outside is."""
    try:
        require_media_type(value, ("application/json",))
    except MalformedHeader:
        assert is_list
    else:
        assert not is_list


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("," * HEAD, id="commas"),
        pytest.param('"",' * (HEAD // 3), id="quoted-elements"),
        pytest.param("rebase;a=b," * (HEAD // 11), id="preferences"),
    ],
)
def test_a_list_of_more_elements_than_the_limit_is_a_431(line: str) -> None:
    """Prefer, and each field a key's fingerprint reads, refuse a list past MAX_LIST_ELEMENTS."""
    seconds, error = timed(lambda: prefers_rebase([line]))
    assert isinstance(error, HeaderFieldTooLarge), error
    assert error.problem.extensions["header"] == "Prefer"
    assert seconds < BOUND, f"{seconds:.2f} s"
    for name in ("prefer", "if-match", "content-encoding"):

        def lines(asked: str, name: str = name) -> list[str]:
            return [line] if asked == name else []

        with pytest.raises(HeaderFieldTooLarge) as raised:
            meaning_fields(lines)
        assert raised.value.problem.extensions["header"] == name.title()


def test_list_elements_split_outside_quotes_up_to_the_limit() -> None:
    """Commas in quoted strings (escapes too) do not split; a quote left open runs to the end."""
    assert list_elements('a="x,\\"y", b, ,c="') == ['a="x,\\"y"', " b", " ", 'c="']
    assert list_elements('a="open, b') == ['a="open, b']
    assert len(list_elements("," * (MAX_LIST_ELEMENTS - 1))) == MAX_LIST_ELEMENTS
    assert prefers_rebase(["x," * 500 + "rebase"])
    seconds, _ = timed(lambda: list_elements('"' * HEAD))
    assert seconds < BOUND
