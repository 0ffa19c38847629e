"""One IdempotencyPolicy for ASGI and WSGI: same fields, same defaults, same caller."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from httpconflict import asgi, wsgi
from httpconflict.storage import idempotency


def test_the_wsgi_policy_has_the_asgi_policy_fields_and_defaults() -> None:
    """Until asgi.py takes the core's policy, the two agree field by field (principal aside)."""

    def shape(cls: type) -> dict[str, object]:
        fields = dataclasses.fields(cls)
        return {f.name: f.default for f in fields if f.name != "principal"}

    assert shape(wsgi.IdempotencyPolicy) == shape(asgi.IdempotencyPolicy)
    assert wsgi.DEFAULT_REPLAY_HEADERS == asgi.DEFAULT_REPLAY_HEADERS


def test_the_defaults_are_the_stores() -> None:
    """Lease and retention defaults are the stores' own."""
    policy = wsgi.IdempotencyPolicy()
    assert (policy.lease, policy.retention) == (
        idempotency.DEFAULT_LEASE,
        idempotency.DEFAULT_RETENTION,
    )


def test_the_same_caller_is_the_same_principal_under_asgi_and_wsgi() -> None:
    """An ASGI scope and a WSGI environ with the same Authorization bytes give one principal."""
    raw = "Bearer café".encode()
    scope = {"type": "http", "headers": [(b"authorization", raw)]}
    environ = {"HTTP_AUTHORIZATION": raw.decode("latin-1")}
    principal = wsgi.authorization_principal(environ)
    assert principal == wsgi.authorization_principal(scope) == asgi.authorization_principal(scope)
    assert principal == hashlib.sha256(raw).hexdigest()[:32]
    assert wsgi.authorization_principal({}) == "anonymous"


def test_a_replay_keeps_only_allow_listed_headers() -> None:
    """recorded(): Location and ETag are kept (lower-cased), Set-Cookie is not."""
    stored = wsgi.IdempotencyPolicy().recorded(
        201, [("Location", "/o/1"), ("Set-Cookie", "s=1"), ("ETag", '"1"')], b"{}"
    )
    assert stored.headers == (("location", "/o/1"), ("etag", '"1"'))


def test_methods_are_covered_in_any_case() -> None:
    """werkzeug and Django run a `post` as a POST, so the policy keys it as one; GET stays out."""
    policy = asgi.IdempotencyPolicy()
    assert all(policy.covers(m) for m in ("POST", "post", "Post", "pAtCh", "delete", "PUT"))
    assert not any(policy.covers(m) for m in ("GET", "get", "HEAD", "OPTIONS", "FOO"))


def test_cookie_callers_under_the_default_principal_are_warned_of_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keyed requests with cookies and no Authorization all share "anonymous": one warning
    names cookie_principal; cookie_principal tells them apart, Authorization first."""
    from httpconflict import _idempotency_policy

    monkeypatch.setattr(_idempotency_policy, "_warned_cookies", False)
    alice = {"headers": [(b"cookie", b"theme=dark; session=alice")]}
    bob = {"HTTP_COOKIE": "session=bob"}
    with caplog.at_level("WARNING", logger="httpconflict"):
        default = asgi.IdempotencyPolicy().principal
        assert default(alice) == default(bob) == "anonymous"
    warned = [r.getMessage() for r in caplog.records if "cookie_principal" in r.getMessage()]
    assert len(warned) == 1, warned
    by_session = asgi.cookie_principal("session")
    assert by_session(alice) != by_session(bob)
    assert by_session(alice).startswith("cookie:")
    assert by_session({"headers": [(b"cookie", b"theme=dark")]}) == "anonymous"
    signed = {"HTTP_AUTHORIZATION": "Bearer t", "HTTP_COOKIE": "session=bob"}
    assert by_session(signed) == wsgi.authorization_principal(signed)


def test_a_coded_body_is_recorded_with_its_coding() -> None:
    """Content-Encoding is the body's own: a replay without it sends gzip bytes as JSON.

    A compression middleware inside the keys' one records its gzip bytes;
    RFC 9110 §8.4: the coding is part of what the bytes are.
    """
    policy = asgi.IdempotencyPolicy(replay_headers=frozenset({"content-type"}))
    fields = [("Content-Type", "application/json"), ("Content-Encoding", "gzip"), ("X-A", "1")]
    stored = policy.recorded(201, fields, b"\x1f\x8b...")
    assert stored.headers == (("content-type", "application/json"), ("content-encoding", "gzip"))
