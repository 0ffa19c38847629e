"""read_cache_control: a read with a validator says no-cache, unless its app said something."""

from __future__ import annotations

import pytest

from httpconflict import ETag, Validators, read_decision
from httpconflict._read_caching import REVALIDATE, read_cache_control, with_read_caching

TAGGED = ["Content-Type", "ETag"]


@pytest.mark.parametrize(
    ("method", "status", "names", "expected"),
    [
        pytest.param("GET", 200, TAGGED, REVALIDATE, id="rfc9111-4.2.2-tagged-read-revalidated"),
        pytest.param("HEAD", 200, ["Last-Modified"], REVALIDATE, id="head-dated"),
        pytest.param("get", 206, ["etag"], REVALIDATE, id="any-2xx-any-case"),
        pytest.param("GET", 304, ["ETag"], REVALIDATE, id="rfc9110-15.4.5-a-304-as-its-200"),
        pytest.param("GET", 200, [*TAGGED, "cache-control"], None, id="the-apps-own-kept"),
        pytest.param("GET", 200, ["Cache-Control", "ETag"], None, id="the-apps-own-first"),
        pytest.param("GET", 200, ["Content-Type"], None, id="no-validator-heuristics-left"),
        pytest.param("PUT", 200, TAGGED, None, id="a-write-is-kept-by-no-cache"),
        pytest.param("GET", 404, TAGGED, None, id="a-problem-has-its-own-no-store"),
        pytest.param("GET", 301, TAGGED, None, id="a-redirect-is-the-apps"),
    ],
)
def test_a_read_with_a_validator_and_no_cache_control_is_revalidated(
    method: str, status: int, names: list[str], expected: str | None
) -> None:
    """no-cache for a GET or HEAD 2xx/304 with ETag or Last-Modified, never over the app's own."""
    assert read_cache_control(method, status, names) == expected


def test_the_default_is_chosen_or_turned_off() -> None:
    """An app that chooses another default gets it; None adds nothing."""
    assert read_cache_control("GET", 200, TAGGED, "max-age=0, must-revalidate") == (
        "max-age=0, must-revalidate"
    )
    assert read_cache_control("GET", 200, TAGGED, None) is None


def test_fields_get_cache_control_added_once() -> None:
    """with_read_caching appends the field, and leaves the app's own as it is."""
    fields = [("ETag", '"1"')]
    assert with_read_caching("GET", 200, fields) == [("ETag", '"1"'), ("Cache-Control", "no-cache")]
    own = [("ETag", '"1"'), ("cache-control", "private, max-age=5")]
    assert with_read_caching("GET", 200, own) == own


def test_a_304_decided_from_answer_fields_repeats_their_own_cache_control() -> None:
    """§15.4.5: the 304 repeats the Cache-Control the 200 carries, not the default."""
    fields = [("ETag", '"1"'), ("Cache-Control", "private, max-age=5"), ("Vary", "Accept")]
    decided = read_decision("GET", {"if-none-match": '"1"'}, fields)
    assert dict(decided.fields) == {
        "ETag": '"1"',
        "Cache-Control": "private, max-age=5",
        "Vary": "Accept",
    }


def test_a_304_decided_from_validators_says_the_default_or_what_it_is_told() -> None:
    """Made before the 200 is built: the default, or the value the app names, or nothing."""
    current = Validators(ETag("1"))
    request = {"if-none-match": '"1"'}
    assert dict(read_decision("GET", request, current).fields)["Cache-Control"] == "no-cache"
    told = read_decision("GET", request, current, cache_control="private")
    assert dict(told.fields)["Cache-Control"] == "private"
    assert "Cache-Control" not in dict(
        read_decision("GET", request, current, cache_control=None).fields
    )
