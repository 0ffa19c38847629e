"""A verified JWT is remembered briefly, never past its exp."""

from __future__ import annotations

import asyncio
import secrets
import time

import jwt
import pytest

from httpconflict import Unauthorized
from httpconflict.service import jwt_auth
from httpconflict.service.jwt_auth import JwtVerifier

SECRET = secrets.token_urlsafe(32)


def sign(**claims: object) -> str:
    return jwt.encode({"sub": "carol", **claims}, SECRET, algorithm="HS256")


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    """Verified once, then taken from memory, until its exp: then refused like any expired one."""
    verifier = JwtVerifier(secret=SECRET, leeway=0)
    token = sign(exp=time.time() + 1.0)
    assert asyncio.run(verifier.verify(token)).id == "jwt:carol"
    assert asyncio.run(verifier.verify(token)).id == "jwt:carol"
    time.sleep(1.2)
    with pytest.raises(Unauthorized, match="expired"):
        asyncio.run(verifier.verify(token))


def test_a_refused_token_is_not_remembered() -> None:
    """A token whose signature fails is checked again each time, and refused each time."""
    verifier = JwtVerifier(secret=SECRET)
    forged = jwt.encode(
        {"sub": "mallory", "exp": time.time() + 60}, secrets.token_urlsafe(32), "HS256"
    )
    for _ in range(2):
        with pytest.raises(Unauthorized, match="signature"):
            asyncio.run(verifier.verify(forged))


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many distinct tokens never hold more than VERIFIED_CAPACITY entries."""
    monkeypatch.setattr(jwt_auth, "VERIFIED_CAPACITY", 3)
    verifier = JwtVerifier(secret=SECRET)
    for n in range(10):
        asyncio.run(verifier.verify(sign(exp=time.time() + 60, n=n)))
    assert len(verifier._verified) == 3
