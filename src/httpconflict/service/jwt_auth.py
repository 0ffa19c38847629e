"""JWT bearer tokens: verified with PyJWT, mapped to a `Principal`.

Keys come from a shared secret (HMAC: HS256, HS384, HS512) or from public
keys in a JWKS, read from a file at start or fetched from a URL. The
algorithms accepted are pinned by the kind of key, never taken from the
token's header alone: a JWKS key verifies only with its own algorithm
(PyJWK binds it), a secret only with HMAC, and ``alg: none`` is never in
any list. `exp` is required; `exp`, `nbf` and `iat` are checked with
`leeway` seconds of clock skew; `aud` and `iss` when configured.

A JWKS URL is fetched on a worker thread (PyJWKClient is blocking), at
most one fetch at a time, and kept for `JWKS_LIFESPAN` seconds; a token
whose `kid` is unknown fetches the set again, at most once every
`JWKS_COOLDOWN` seconds (rotated keys are found, floods of made-up kids
are not amplified). A JWKS URL that cannot be fetched, with no keys known
yet, is a 503: a failing dependency, not a bad token.

A verified token is remembered for up to `VERIFIED_LIFESPAN` seconds, never
past its `exp` (plus leeway): a client sends the same token with every
request, and checking its signature each time cost a tenth of a PUT. A JWT
cannot be revoked before its exp anyway; a key removed from the JWKS stops
verifying the tokens it signed within `VERIFIED_LIFESPAN`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet
from jwt.exceptions import InvalidSubjectError, PyJWKSetError

from .. import Unauthorized
from ..access import Principal, unstorable_name
from ..incidents import unavailable

HMAC_ALGORITHMS: Final = ("HS256", "HS384", "HS512")
PUBLIC_KEY_ALGORITHMS: Final = (
    *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    *("ES256", "ES384", "ES512", "EdDSA"),
)
#: Seconds a fetched JWKS is used before it is fetched again.
JWKS_LIFESPAN: Final = 300.0
#: Seconds between fetches caused by unknown key ids.
JWKS_COOLDOWN: Final = 10.0
#: Seconds a JWKS fetch may take.
JWKS_TIMEOUT: Final = 5.0
#: Seconds a verified token is taken without checking its signature again
#: (never past its exp): a client sends one token with many requests.
VERIFIED_LIFESPAN: Final = 30.0
#: Verified tokens remembered at most (the oldest is forgotten first).
VERIFIED_CAPACITY: Final = 4096
_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})

# What each refusal says (in the answer and in WWW-Authenticate's
# error_description, so plain ASCII with no quotes), by PyJWT's error.
_REASONS: Final[Sequence[tuple[type[Exception], str]]] = (
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidAudienceError, "the token is for another audience"),
    (jwt.InvalidIssuerError, "the token is from another issuer"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
    (jwt.InvalidAlgorithmError, "the token's algorithm is not accepted"),
    (jwt.MissingRequiredClaimError, "the token lacks a required claim"),
    (InvalidSubjectError, "the token's sub claim is not a string"),
)


def is_jwks_url(jwks: str) -> bool:
    return jwks.startswith(("https://", "http://"))


def check_jwks(jwks: str) -> None:
    """`ValueError` unless `jwks` is a URL the service may fetch keys from, or a usable file.

    A URL must be https:// (http:// only on a loopback address: nothing on
    the way can swap the keys); a file must hold at least one signing key.
    """
    if is_jwks_url(jwks):
        host = urlsplit(jwks).hostname or ""
        if jwks.startswith("http://") and host not in _LOOPBACK:
            raise ValueError("a JWKS URL must be https:// (http:// only on a loopback address)")
        return
    file_keys(jwks)


def file_keys(path: str) -> dict[str | None, PyJWK]:
    """The signing keys of the JWKS file at `path` by kid; `ValueError` if it has none."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ValueError("no such file (or give an https:// URL)") from None
    except OSError as error:
        raise ValueError(f"cannot read the JWKS file {path}: {error.strerror}") from None
    try:
        keys = _keys_of(PyJWKSet.from_json(text))
    except (PyJWKSetError, ValueError) as error:
        raise ValueError(f"the JWKS file {path} is not a JWK set: {error}") from None
    if not keys:
        raise ValueError(f"the JWKS file {path} holds no usable signing key")
    return keys


class JwtVerifier:
    """Checks a JWT and names its principal; see the module's docstring."""

    def __init__(
        self,
        *,
        secret: str = "",
        jwks: str = "",
        audience: str = "",
        issuer: str = "",
        roles_claim: str = "roles",
        principal_claim: str = "sub",
        leeway: float = 10.0,
    ) -> None:
        if bool(secret) == bool(jwks):
            raise ValueError("JWT authentication needs exactly one of --jwt-secret and --jwt-jwks")
        self.audience = audience or None
        self.issuer = issuer or None
        self.roles_path = roles_claim.split(".")
        self.principal_claim = principal_claim
        self.leeway = leeway
        self._secret = secret
        self._keys: dict[str | None, PyJWK] = {}
        self._client: PyJWKClient | None = None
        self._fetched = -float("inf")
        self._fetching = asyncio.Lock()
        # Token text -> its principal and until when (wall clock, as exp is).
        self._verified: dict[str, tuple[Principal, float]] = {}
        if is_jwks_url(jwks):
            check_jwks(jwks)
            self._client = PyJWKClient(jwks, cache_jwk_set=False, timeout=JWKS_TIMEOUT)
        elif jwks:
            self._keys = file_keys(jwks)

    async def verify(self, token: str) -> Principal:
        """The principal `token` names; `Unauthorized` (or, for a JWKS down, 503) if refused."""
        now = time.time()
        known = self._verified.get(token)
        if known is not None and now < known[1]:
            return known[0]
        try:
            key: PyJWK | str
            algorithms: Sequence[str]
            if self._secret:
                key, algorithms = self._secret, HMAC_ALGORITHMS
            else:
                kid = jwt.get_unverified_header(token).get("kid")
                key, algorithms = await self._key(kid), PUBLIC_KEY_ALGORITHMS
            claims = jwt.decode(
                token,
                key,
                algorithms=list(algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp"], "verify_aud": self.audience is not None},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(_reason(error), error="invalid_token") from error
        principal = self._principal(claims)
        self._remember(token, principal, claims, now)
        return principal

    def _remember(
        self, token: str, principal: Principal, claims: Mapping[str, Any], now: float
    ) -> None:
        """Keep a verified token until its exp (with leeway) or VERIFIED_LIFESPAN, if sooner."""
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            return
        # Compared before adding: an int exp past a float's range (PyJWT takes
        # any integer) cannot be added to a float.
        until = now + VERIFIED_LIFESPAN
        if exp < until - self.leeway:
            until = exp + self.leeway
        self._verified.pop(token, None)
        while len(self._verified) >= VERIFIED_CAPACITY:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (principal, until)

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        subject = claims.get(self.principal_claim)
        if not isinstance(subject, str) or not subject:
            raise Unauthorized(
                f"the token has no {self.principal_claim} claim naming its subject",
                error="invalid_token",
            )
        found: Any = claims
        for part in self.roles_path:
            found = found.get(part) if isinstance(found, Mapping) else None
        if isinstance(found, str):
            roles = frozenset(found.split())
        elif isinstance(found, list):
            roles = frozenset(r for r in found if isinstance(r, str))
        else:
            roles = frozenset()
        principal = "jwt:" + subject
        if (unstorable := unstorable_name(principal)) is not None:
            # Refused here, once: else each write it sends fails to store its key (a 500).
            raise Unauthorized(
                f"the token's {self.principal_claim} claim {unstorable}", error="invalid_token"
            )
        return Principal(principal, roles)

    async def _key(self, kid: Any) -> PyJWK:
        """The JWKS key a token names by `kid` (or the only key, if it names none)."""
        if self._client is not None:
            age = time.monotonic() - self._fetched
            stale = age > JWKS_LIFESPAN
            unknown = _pick(self._keys, kid) is None and age > JWKS_COOLDOWN
            if stale or unknown:
                await self._fetch()
        key = _pick(self._keys, kid)
        if key is None:
            raise Unauthorized(
                "no key of the service's JWKS signed this token", error="invalid_token"
            )
        return key

    async def _fetch(self) -> None:
        assert self._client is not None
        client = self._client
        async with self._fetching:
            if time.monotonic() - self._fetched <= JWKS_COOLDOWN:
                return  # another request fetched it while this one waited
            try:
                keys = _keys_of(await asyncio.to_thread(client.get_jwk_set, True))
            except jwt.PyJWTError as error:
                if not self._keys:
                    raise unavailable("the JWKS URL cannot be fetched", error) from error
                # Keep the keys known: a key server's hiccup is no reason to refuse everyone.
                self._fetched = time.monotonic() - JWKS_LIFESPAN + JWKS_COOLDOWN
                return
            self._keys, self._fetched = keys, time.monotonic()


def _keys_of(keys: PyJWKSet) -> dict[str | None, PyJWK]:
    """The signing keys of a set by key id (a key without one under None)."""
    return {
        key.key_id: key
        for key in keys.keys
        if key.public_key_use in (None, "sig") and key.algorithm_name in PUBLIC_KEY_ALGORITHMS
    }


def _pick(keys: Mapping[str | None, PyJWK], kid: Any) -> PyJWK | None:
    if isinstance(kid, str):
        return keys.get(kid)
    if kid is None and len(keys) == 1:
        return next(iter(keys.values()))
    return None


def _reason(error: Exception) -> str:
    for kind, reason in _REASONS:
        if isinstance(error, kind):
            return reason
    return "the token is not a valid JWT"
