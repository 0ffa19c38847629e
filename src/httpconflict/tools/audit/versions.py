"""How a client names the version it read: an ETag header, version members in the body, or both.

Theory of operation: plain-HTTP APIs carry the version in the ``ETag``
header and take it back in ``If-Match``. Others carry it in the document
itself: CouchDB and pouchdb-server a ``_rev`` member, django-concurrency
a ``version`` field; a write names the version it was based on by
sending that member back. The audit learns which members these are by
watching one write (`detect_members`): a member the client did not change
but the server did is the server's version. Every write the audit sends
is then one of three kinds, built here so all checks build them alike:

- careful: the version just read, as the API takes it (If-Match when the
  API sends ETags, the version members in the body);
- stale: the same, but the version read *before* the last change;
- blind: no version at all (no If-Match, the version members left out).

A DELETE has no body, so its version travels in If-Match: the ETag read
when it is strong, else the version member's value as an entity-tag.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .exchange import Exchange

#: The longest text taken for a version member (a SHA-512 in hex is 128 characters).
_TOKEN_MAX: Final = 128


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a resource, as a client read it."""

    etag: str | None
    members: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, read: Exchange, names: Collection[str]) -> Version:
        """The version a GET answer shows: its ETag and the named body members."""
        document = read.document() or {}
        return cls(read.header("etag"), {n: document[n] for n in names if n in document})

    def describe(self, *, etag: bool) -> str:
        """``If-Match: "abc" and _rev "1-x" in the body``: how a write names this version."""
        parts = []
        if etag and self.etag is not None:
            parts.append(f"If-Match: {self.etag}")
        if self.members:
            listed = ", ".join(f"{name} {value!r}" for name, value in self.members.items())
            parts.append(f"{listed} in the body")
        return " and ".join(parts) if parts else "no version"

    def if_match(self) -> str | None:
        """The If-Match value naming this version on a DELETE, or None.

        A strong ETag first; else a version member as an entity-tag (CouchDB
        takes ``If-Match: "<rev>"``), since a weak ETag never matches
        If-Match; a weak ETag last, rather than nothing.
        """
        if self.etag is not None and not self.etag.startswith("W/"):
            return self.etag
        for value in self.members.values():
            text = str(value)
            # RFC 9110 §8.8.3: entity-tag = [ weak ] DQUOTE *etagc DQUOTE
            if '"' not in text:
                return f'"{text}"'
        return self.etag


def detect_members(
    before: Mapping[str, Any], after: Mapping[str, Any], changes: Collection[str]
) -> tuple[str, ...]:
    """Members a write did not change but the server did: the body's version members.

    `before` is the state the write was built on (a PUT sends it back
    unchanged but for `changes`), `after` the state read back once the
    write was acknowledged.
    """
    return tuple(
        name
        for name, value in after.items()
        if name in before
        and name not in changes
        and before[name] != value
        and _could_be_a_version(value)
    )


def _could_be_a_version(value: Any) -> bool:
    """A number, or a short token: a revision, a counter, a timestamp, a hash.

    Not text with spaces or lines in it: CTFd's challenges carry ``view``,
    the HTML that renders them (their value included), which changes with
    every write; taken for the version, it was sent back with every write
    and named as the version in the report.
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return (
        isinstance(value, str)
        and len(value) <= _TOKEN_MAX
        and not any(char.isspace() for char in value)
    )


def careful_headers(version: Version, *, etag: bool) -> dict[str, str]:
    """The headers of a write that names `version`: If-Match when the API sends ETags."""
    return {"If-Match": version.etag} if etag and version.etag is not None else {}


def body(
    method: str,
    current: Mapping[str, Any],
    changes: Mapping[str, Any],
    version: Version | None,
    members: Collection[str],
    carried: Collection[str] = (),
) -> dict[str, Any]:
    """A write's body: PUT the whole new state, PATCH a merge patch of the changes.

    `version` None is a blind write: the version members are left out.
    Otherwise they carry `version`'s values, current or stale. A PATCH also
    carries the `carried` members as `current` holds them: an API whose PATCH
    takes the whole writable object (Airflow's pools and variables) refuses
    one that holds only the changes. A PUT with `carried` holds only those
    of `current`'s members: an API that refuses the members it makes itself
    in a PUT (microblog-api's posts: marshmallow's unknown fields) refuses
    the state as read.
    """
    named = dict(version.members) if version is not None else {}
    held = {name: current[name] for name in carried if name in current}
    if method == "PATCH":
        return {**held, **changes, **named}
    kept = {k: v for k, v in (held if carried else current).items() if k not in members}
    return {**kept, **changes, **named}
