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


def test_an_exp_past_a_floats_range_is_remembered_for_the_lifespan() -> None:
    """exp = 10**4000 verifies (PyJWT takes any integer) and is kept VERIFIED_LIFESPAN at most."""
    verifier = JwtVerifier(secret=SECRET)
    token = sign(exp=10**4000)
    assert asyncio.run(verifier.verify(token)).id == "jwt:carol"
    assert verifier._verified[token][1] <= time.time() + jwt_auth.VERIFIED_LIFESPAN


@pytest.mark.parametrize(
    ("sub", "refused"),
    [("a" * 251, False), ("a" * 252, True), ("é" * 251, False), ("\U0001f600" * 251, False)],
    ids=["251", "252", "251-latin", "251-astral"],
)
def test_a_principal_id_holds_255_characters(sub: str, refused: bool) -> None:
    """jwt:<sub> up to 255 characters (what every key store holds), whatever they are."""
    verifier = JwtVerifier(secret=SECRET)
    token = sign(sub=sub, exp=time.time() + 60)
    if refused:
        with pytest.raises(Unauthorized, match="at most 255 characters"):
            asyncio.run(verifier.verify(token))
    else:
        assert asyncio.run(verifier.verify(token)).id == "jwt:" + sub
