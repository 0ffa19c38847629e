"""Entity-tags of gzip-coded answers: their own strong tag out, the plain one back in."""

from __future__ import annotations

import pytest

from httpconflict._content_coding import (
    accepts_coding,
    encoded_etag,
    identity_etags,
    not_modified_etag,
    vary_with,
)

GZIP = frozenset({"gzip"})


@pytest.mark.parametrize(
    ("value", "coded"),
    [
        pytest.param('"xyzzy"', '"xyzzy-gzip"', id="rfc9110-8.8.3.3-coded-strong-tag-differs"),
        pytest.param('W/"xyzzy"', 'W/"xyzzy"', id="rfc9110-8.8.1-weak-tag-shared"),
        pytest.param("not a tag", "not a tag", id="malformed-left-alone"),
    ],
)
def test_a_coded_answer_gets_its_own_strong_tag(value: str, coded: str) -> None:
    """The gzip form of "xyzzy" is "xyzzy-gzip"; a weak tag is the same for both forms."""
    assert encoded_etag(value, "GZIP") == coded


@pytest.mark.parametrize(
    ("value", "plain", "coded"),
    [
        pytest.param('"a-gzip"', '"a"', {"a": "gzip"}, id="coded-read-back"),
        pytest.param('"a-gzip", "b"', '"a", "b"', {"a": "gzip"}, id="in-a-list"),
        pytest.param('"a"', None, {}, id="plain-unchanged"),
        pytest.param('W/"a-gzip"', None, {}, id="weak-never-coded"),
        pytest.param('"a-br"', None, {}, id="other-coding-unchanged"),
        pytest.param('"-gzip"', None, {}, id="no-base-unchanged"),
        pytest.param("*", None, {}, id="wildcard-unchanged"),
        pytest.param('"a-gzip', None, {}, id="malformed-left-to-the-400"),
    ],
)
def test_a_coded_tag_in_a_precondition_names_the_plain_version(
    value: str, plain: str | None, coded: dict[str, str]
) -> None:
    """If-Match "a-gzip" is If-Match "a": the version read, whichever form it came in."""
    found = identity_etags(value, GZIP)
    assert (found.value, found.coded) == (plain, coded)


def test_a_304_names_the_tag_the_client_holds() -> None:
    """RFC 9110 §15.4.5: the 304 carries the tag of the form the client cached."""
    assert not_modified_etag('"a"', {"a": "gzip"}) == '"a-gzip"'
    assert not_modified_etag('"a"', {"b": "gzip"}) == '"a"'
    assert not_modified_etag('W/"a"', {"a": "gzip"}) == 'W/"a"'


@pytest.mark.parametrize(
    ("lines", "value"),
    [
        pytest.param([], "Accept-Encoding", id="added"),
        pytest.param(["Accept"], "Accept, Accept-Encoding", id="kept-and-added"),
        pytest.param(["accept-encoding, Accept-Encoding"], "accept-encoding", id="once"),
        pytest.param(["Accept", "Origin"], "Accept, Origin, Accept-Encoding", id="lines-joined"),
        pytest.param(["*"], "*", id="star-says-all"),
    ],
)
def test_every_answer_varies_with_accept_encoding(lines: list[str], value: str) -> None:
    """One Vary, each name once, Accept-Encoding among them."""
    assert vary_with(lines) == value


@pytest.mark.parametrize(
    ("fields", "taken"),
    [
        pytest.param(["gzip"], True, id="named"),
        pytest.param(["GZip"], True, id="rfc9110-12.5.3-names-case-insensitive"),
        pytest.param(["x-gzip"], True, id="rfc9110-8.4.1.3-x-gzip-is-gzip"),
        pytest.param(["gzip;q=0"], False, id="rfc9110-12.4.2-q0-not-acceptable"),
        pytest.param(["gzip ; q=0.0"], False, id="q0-with-spaces"),
        pytest.param(["*"], True, id="wildcard"),
        pytest.param(["*, gzip;q=0"], False, id="named-weight-beats-wildcard"),
        pytest.param(["*;q=0"], False, id="wildcard-refused"),
        pytest.param(["identity", "gzip"], True, id="second-field-line"),
        pytest.param(["gzipped"], False, id="a-longer-word"),
        pytest.param([], False, id="no-field-codes-nothing"),
        pytest.param(["gzip;q=abc"], True, id="malformed-weight-as-none"),
    ],
)
def test_accepts_coding(fields: list[str], taken: bool) -> None:
    """Accept-Encoding takes gzip when it (or "*") has a weight above 0."""
    assert accepts_coding(fields, "gzip") is taken
