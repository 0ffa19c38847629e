"""The version a write names: learned from one write, carried in If-Match and the body."""

from __future__ import annotations

import pytest

from httpconflict.tools.audit.exchange import Exchange
from httpconflict.tools.audit.versions import Version, body, careful_headers, detect_members


def read(document: bytes, etag: str | None = None) -> Exchange:
    headers = (("etag", etag),) if etag else ()
    return Exchange("t", "GET", "http://x/v1/n/1", 200, headers, document)


def test_members_the_server_changed_carry_the_version() -> None:
    """CouchDB's _rev changes on a write that did not touch it; _id and the change do not count."""
    before = {"_id": "a", "_rev": "1-x", "n": 0, "title": "t"}
    after = {"_id": "a", "_rev": "2-y", "n": 1, "title": "t"}
    assert detect_members(before, after, {"n"}) == ("_rev",)


def test_no_member_changed_by_the_server_means_none() -> None:
    """A plain-HTTP API: only the member the write changed differs."""
    assert detect_members({"id": 1, "n": 0}, {"id": 1, "n": 1}, {"n"}) == ()


def test_a_member_added_by_the_write_is_not_a_version() -> None:
    """A member absent before the write (a new field) is not a version member."""
    assert detect_members({"n": 0}, {"n": 1, "created": "now"}, {"n"}) == ()


def test_a_rendering_of_the_resource_is_not_a_version() -> None:
    """A member that renders the resource (CTFd's challenge "view": HTML holding the value)
    changes with the write but is no version; an updatedAt timestamp or a number may be."""
    view = '<div class="modal" x-init="value = {}">\n  <span>{} points</span>\n</div>'
    before = {"id": 3, "value": 0, "view": view.format(0, 0), "updated": "2026-12-03T14:20:29Z"}
    after = {"id": 3, "value": 1, "view": view.format(1, 1), "updated": "2026-12-03T14:20:30Z"}
    assert detect_members(before, after, {"value"}) == ("updated",)
    assert detect_members({"version": 1, "n": 0}, {"version": 2, "n": 1}, {"n"}) == ("version",)


def test_a_version_is_its_etag_and_its_members() -> None:
    """A GET answer's version: the ETag header and the named body members."""
    version = Version.of(read(b'{"_rev": "1-x", "n": 0}', '"e1"'), ("_rev",))
    assert version == Version('"e1"', {"_rev": "1-x"})
    assert version.describe(etag=True) == "If-Match: \"e1\" and _rev '1-x' in the body"
    assert version.describe(etag=False) == "_rev '1-x' in the body"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        pytest.param(Version('"e1"', {"_rev": "1-x"}), '"e1"', id="a-strong-etag-first"),
        pytest.param(Version('W/"e1"', {"_rev": "1-x"}), '"1-x"', id="the-member-before-weak"),
        pytest.param(Version(None, {"version": 17}), '"17"', id="a-number-member"),
        pytest.param(Version('W/"e1"', {}), 'W/"e1"', id="a-weak-etag-rather-than-none"),
        pytest.param(Version(None, {}), None, id="nothing-to-name"),
        pytest.param(Version(None, {"v": 'a"b'}), None, id="no-quote-in-an-entity-tag"),
    ],
)
def test_if_match_on_a_delete(version: Version, expected: str | None) -> None:
    """A DELETE names its version in If-Match: a strong ETag, else the member as an entity-tag."""
    assert version.if_match() == expected


def test_careful_stale_and_blind_bodies() -> None:
    """PUT sends the whole state with the named version's members; blind leaves them out."""
    current = {"_id": "a", "_rev": "2-y", "n": 1}
    stale = Version(None, {"_rev": "1-x"})
    assert body("PUT", current, {"n": 2}, stale, ("_rev",)) == {"_id": "a", "_rev": "1-x", "n": 2}
    assert body("PUT", current, {"n": 2}, None, ("_rev",)) == {"_id": "a", "n": 2}
    assert body("PATCH", current, {"n": 2}, stale, ("_rev",)) == {"n": 2, "_rev": "1-x"}
    assert body("PATCH", current, {"n": 2}, None, ("_rev",)) == {"n": 2}


def test_if_match_only_when_the_api_sends_etags() -> None:
    """A body-versioned API without ETags gets no If-Match on its writes."""
    assert careful_headers(Version('"e"'), etag=True) == {"If-Match": '"e"'}
    assert careful_headers(Version('"e"'), etag=False) == {}
    assert careful_headers(Version(None, {"v": 1}), etag=True) == {}
