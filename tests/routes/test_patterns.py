"""The shared matching: which converter takes which literal, which pattern takes another's paths."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import converters as django_converters
from starlette.convertors import CONVERTOR_TYPES
from werkzeug.routing import Map, Rule

from httpconflict.tools.routes._containment import each_segment
from httpconflict.tools.routes._converters import accepted_by, converter
from httpconflict.tools.routes._django import literal_of
from httpconflict.tools.routes._flask import _pattern as werkzeug_pattern
from httpconflict.tools.routes._model import Pattern, Shape
from httpconflict.tools.routes._patterns import covers, segments_of
from httpconflict.tools.routes._starlette import _pattern as starlette_pattern


def _werkzeug(spelled: str) -> Any:
    """The converter Werkzeug builds for ``<spelled:x>``."""
    rule = Rule(f"/<{spelled}:x>", endpoint="x")
    Map([rule])
    return rule._converters["x"]


def _django(cls: type) -> Any:
    instance = cls()
    return converter("django", cls.__name__, instance, accepted_by(instance.to_python, ValueError))


UUID = "0b7c6f0e-3f6b-4d2e-9a43-1f0e8c7f2a11"


@pytest.mark.parametrize(
    ("framework", "name", "instance", "text", "accepted"),
    [
        pytest.param(
            "starlette", "int", CONVERTOR_TYPES["int"], "me", False, id="starlette-int-me"
        ),
        pytest.param("starlette", "int", CONVERTOR_TYPES["int"], "42", True, id="starlette-int-42"),
        pytest.param(
            "starlette", "float", CONVERTOR_TYPES["float"], "1", True, id="starlette-float-1"
        ),
        pytest.param(
            "starlette",
            "float",
            CONVERTOR_TYPES["float"],
            "latest",
            False,
            id="starlette-float-word",
        ),
        pytest.param(
            "starlette", "uuid", CONVERTOR_TYPES["uuid"], "latest", False, id="starlette-uuid-word"
        ),
        pytest.param(
            "starlette",
            "uuid",
            CONVERTOR_TYPES["uuid"],
            UUID.upper(),
            True,
            id="starlette-uuid-upper",
        ),
        pytest.param("starlette", "str", CONVERTOR_TYPES["str"], "me", True, id="starlette-str-me"),
        pytest.param(
            "starlette", "path", CONVERTOR_TYPES["path"], "a/b", True, id="starlette-path-slashes"
        ),
        pytest.param("werkzeug", "int", _werkzeug("int"), "me", False, id="werkzeug-int-me"),
        pytest.param(
            "werkzeug", "int", _werkzeug("int(signed=True)"), "-3", True, id="werkzeug-signed-int"
        ),
        pytest.param(
            "werkzeug", "float", _werkzeug("float"), "1", False, id="werkzeug-float-needs-a-dot"
        ),
        pytest.param(
            "werkzeug", "default", _werkzeug("default"), "me", True, id="werkzeug-default-me"
        ),
        pytest.param(
            "werkzeug",
            "string",
            _werkzeug("string(length=2)"),
            "abc",
            False,
            id="werkzeug-string-length",
        ),
        pytest.param(
            "werkzeug", "any", _werkzeug("any(new, old)"), "new", True, id="werkzeug-any-listed"
        ),
        pytest.param(
            "werkzeug",
            "any",
            _werkzeug("any(new, old)"),
            "newer",
            False,
            id="werkzeug-any-unlisted",
        ),
        pytest.param(
            "werkzeug", "uuid", _werkzeug("uuid"), "latest", False, id="werkzeug-uuid-word"
        ),
        pytest.param(
            "werkzeug", "path", _werkzeug("path"), "a/b", True, id="werkzeug-path-slashes"
        ),
    ],
)
def test_a_converter_decides_a_literal_segment(
    framework: str, name: str, instance: Any, text: str, accepted: bool
) -> None:
    """Each converter takes exactly the literal segments its framework's regex takes."""
    assert converter(framework, name, instance).accepts(text) is accepted


@pytest.mark.parametrize(
    ("cls", "text", "accepted"),
    [
        pytest.param(django_converters.IntConverter, "me", False, id="django-int-me"),
        pytest.param(
            django_converters.SlugConverter, "feed.xml", False, id="django-slug-has-no-dot"
        ),
        pytest.param(django_converters.SlugConverter, "my-post", True, id="django-slug"),
        pytest.param(
            django_converters.UUIDConverter, UUID.upper(), False, id="django-uuid-lower-only"
        ),
        pytest.param(django_converters.StringConverter, "me", True, id="django-str-me"),
        pytest.param(django_converters.PathConverter, "a/b", True, id="django-path-slashes"),
    ],
)
def test_a_django_converter_decides_a_literal_segment(cls: type, text: str, accepted: bool) -> None:
    """Django's converters, with their to_python, take what Django would."""
    assert _django(cls).accepts(text) is accepted


def test_a_django_conversion_that_refuses_is_no_match() -> None:
    """A to_python raising ValueError passes the path on, as Django's resolver does."""

    class Even(django_converters.IntConverter):  # type: ignore[misc]  # Django ships no types
        def to_python(self, value: str) -> int:
            if int(value) % 2:
                raise ValueError(value)
            return int(value)

    even = _django(Even)
    assert even.accepts("2")
    assert not even.accepts("3")
    assert not even.known  # an app's own converter: only literals and identity


def test_the_shapes_of_known_converters() -> None:
    """str and path are total; int is a known segment; an app's regex converter is unknown."""
    string = converter("starlette", "str", CONVERTOR_TYPES["str"])
    path = converter("starlette", "path", CONVERTOR_TYPES["path"])
    number = converter("starlette", "int", CONVERTOR_TYPES["int"])
    assert (string.shape, string.total, string.known) == (Shape.SEGMENT, True, True)
    assert (path.shape, path.total) == (Shape.PATH, True)
    assert (number.shape, number.total, number.known) == (Shape.SEGMENT, False, True)
    limited = converter("werkzeug", "string", _werkzeug("string(maxlength=8)"))
    assert limited.known
    assert not limited.total


def _s(path: str) -> Pattern:
    return starlette_pattern(path, None)


@pytest.mark.parametrize(
    ("earlier", "later", "taken"),
    [
        pytest.param("/users/{id}", "/users/me", True, id="str-takes-a-word"),
        pytest.param("/users/{id:int}", "/users/me", False, id="int-never-takes-a-word"),
        pytest.param("/users/{id:int}", "/users/42", True, id="int-takes-digits"),
        pytest.param("/users/{id}", "/users/{id:int}", True, id="str-takes-every-int"),
        pytest.param("/users/{id:int}", "/users/{name}", False, id="int-takes-some-names-only"),
        pytest.param("/users/{id}", "/users/{id}/posts", False, id="one-segment-not-two"),
        pytest.param("/users/{id}", "/users/me/", False, id="trailing-slash-differs"),
        pytest.param("/files/{p:path}", "/files/a/b/c", True, id="catch-all-takes-segments"),
        pytest.param("/files/{p:path}", "/files/{x}/edit", True, id="catch-all-takes-params"),
        pytest.param("/files/{p:path}", "/files", False, id="catch-all-needs-its-slash"),
        pytest.param("/{p:path}/edit", "/a/b/edit", True, id="catch-all-then-literal"),
        pytest.param("/{p:path}/edit", "/a/b/view", False, id="catch-all-then-other-literal"),
        pytest.param("/a/{stem}.{ext}", "/a/readme.md", True, id="mixed-segment-takes-literal"),
        pytest.param("/a/{stem}.{ext}", "/a/readme", False, id="mixed-segment-needs-its-dot"),
        pytest.param("/a/{name}", "/a/{stem}.{ext}", True, id="str-takes-mixed-segment"),
        pytest.param("/a/{stem}.{ext}", "/a/{name}", False, id="mixed-takes-some-names-only"),
        pytest.param("/v{version:int}/x", "/v2/x", True, id="param-inside-a-segment"),
    ],
)
def test_covers(earlier: str, later: str, taken: bool) -> None:
    """An earlier pattern takes a later one only when it matches every path of it."""
    assert covers(_s(earlier), _s(later)) is taken


def test_literal_text_split_between_pieces_is_one_segment() -> None:
    """A prefix and a route joined mid-segment make the same segments as one string."""
    whole = segments_of(["/api/items/"])
    assert segments_of(["/api", "/items/"]) == whole
    assert segments_of(["/ap", "i/it", "ems/"]) == whole
    assert segments_of(["api/items"]) is None  # not a path: no leading slash


def test_a_wider_pattern_takes_only_literal_paths_its_matcher_accepts() -> None:
    """A pattern whose segments hold more than it matches (an include() prefix Django
    matches greedily) takes no route with parameters, and only the literals Django takes;
    it is taken like any other."""
    segments = _s("/{path:path}/_files/{name}/").segments
    wider = Pattern("/wider", segments, matcher=lambda path: path == "/a/_files/b/", wider=True)
    assert not covers(wider, _s("/docs/_files/{name}/"))
    assert covers(wider, _s("/a/_files/b/"))
    assert not covers(wider, _s("/c/_files/b/"))
    assert covers(_s("/{path:path}"), wider)


def test_a_catch_all_inside_a_segment_is_opaque() -> None:
    """``{p:path}.txt`` is left whole: Starlette's regex decides literals, nothing else."""
    opaque = _s("/files/{p:path}.txt")
    assert opaque.segments is None
    assert covers(opaque, _s("/files/a/b.txt"))
    assert not covers(opaque, _s("/files/{name}"))
    assert not covers(_s("/files/{p:path}"), opaque)


def test_a_host_limits_what_a_pattern_takes() -> None:
    """A pattern for one host does not take another host's paths; one for every host does."""
    on_api = starlette_pattern("/{x}", "api.example.com")
    assert not covers(on_api, _s("/status"))
    assert covers(_s("/{x}"), starlette_pattern("/status", "api.example.com"))


def test_werkzeug_patterns() -> None:
    """Werkzeug's syntax, with converter arguments, reads into the same model."""
    rule = Rule("/items/<any(new, old):kind>/<int(fixed_digits=4):year>", endpoint="x")
    Map([rule])
    pattern = werkzeug_pattern(rule.rule, rule._converters, "")
    assert covers(pattern, werkzeug_pattern("/items/new/2024", {}, ""))
    assert not covers(pattern, werkzeug_pattern("/items/newer/2024", {}, ""))
    assert not covers(pattern, werkzeug_pattern("/items/new/year", {}, ""))
    assert not covers(pattern, werkzeug_pattern("/items/new/2024", {}, "api"))


@pytest.mark.parametrize(
    ("regex", "endpoint", "literal"),
    [
        pytest.param(r"^users/me/$", True, "users/me/", id="anchored-literal"),
        pytest.param(r"^users/me/\Z", True, "users/me/", id="anchored-literal-z"),
        pytest.param(r"^feed\.xml\Z", True, "feed.xml", id="escaped-dot"),
        pytest.param(r"^api/", False, "api/", id="include-prefix"),
        pytest.param(r"^users/", True, None, id="endpoint-without-end-matches-a-prefix"),
        pytest.param(r"users/me/$", True, None, id="unanchored-start-matches-anywhere"),
        pytest.param(r"^posts/(?P<slug>[-\w]+)/$", True, None, id="group"),
        pytest.param(r"^a\d$", True, None, id="class-escape"),
    ],
)
def test_literal_of_a_regex(regex: str, endpoint: bool, literal: str | None) -> None:
    """A re_path() regex is a literal path only when nothing in it is a regex."""
    assert literal_of(regex, endpoint=endpoint) == literal


@pytest.mark.parametrize(
    ("regex", "literal"),
    [
        pytest.param(r"users/me/$", "users/me/", id="dollar-without-caret-matched-whole"),
        pytest.param(r"users/me/\Z", None, id="z-without-caret-searched"),
        pytest.param(r"users/me/", None, id="no-anchor-searched"),
    ],
)
def test_literal_of_a_view_regex_django_matches_whole(regex: str, literal: str | None) -> None:
    """Django 5 matches a view's regex ending in "$" with the whole path, "^" or not."""
    assert literal_of(regex, endpoint=True, fullmatch=True) == literal


@pytest.mark.parametrize(
    ("regex", "read"),
    [
        pytest.param(r"(?:[\w\-]+/)*", (r"[\w\-]+", 0), id="wagtail"),
        pytest.param(r"(?:\w+/)+", (r"\w+", 1), id="one-or-more"),
        pytest.param(r"(?:[^/]+/)*", (r"[^/]+", 0), id="any-segment"),
        pytest.param(r"(?:.+/)*", None, id="atom-takes-slashes"),
        pytest.param(r"(?:[\w/]+/)*", None, id="class-with-a-slash"),
        pytest.param(r"(?:\w+-\d+/)*", None, id="two-atoms"),
        pytest.param(r"(?:\w+/)?", None, id="optional-is-not-repeated"),
        pytest.param(r"[\w\-]+", None, id="one-segment"),
    ],
)
def test_each_segment_reads_repeated_whole_segments(
    regex: str, read: tuple[str, int] | None
) -> None:
    assert each_segment(regex) == read
