"""API tokens: named bearer credentials with roles, stored hashed beside the documents.

A token is ``hc_`` and 32 random bytes in base64url (`new_token`). Only its
SHA-256 (`token_hash`) is stored: a token is high-entropy, so a fast hash
is as safe as a slow one, and a request's check costs one indexed lookup.
The token itself is shown once, when it is created, and never stored or
logged. `hint` keeps its last four characters so that a person can tell
their tokens apart in `token list`.

`token_store(url)` opens the table ``api_tokens`` in the service's database
(a SQLite file or PostgreSQL), creating it if absent; beside a document
store (`documents=`), on that store's connection or pool.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from .._documents import DocumentStore

#: Every token starts with this, so a leaked one is recognisable (secret scanners).
TOKEN_PREFIX: Final = "hc_"  # noqa: S105  (a prefix, not a password)
_HINT: Final = 4


def new_token() -> str:
    """A fresh API token: the prefix and 32 random bytes, base64url."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of a token, and looks it up by: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_hint(token: str) -> str:
    """The few characters of a token that `token list` shows."""
    return "…" + token[-_HINT:]


class TokenExists(ValueError):
    """A token of this name exists already (revoked ones too: names are never reused)."""


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A token as stored: never the token itself."""

    name: str
    roles: tuple[str, ...]
    #: Seconds since the epoch.
    created: float
    hint: str
    #: Seconds since the epoch, or None while the token is valid.
    revoked: float | None = None


class TokenStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def create(self, token: ApiToken, hashed: str) -> None:
        """Store a token by its hash; raise `TokenExists` if the name is taken."""
        ...

    async def find(self, hashed: str) -> ApiToken | None:
        """The valid (not revoked) token with this hash, or None."""
        ...

    async def list(self) -> list[ApiToken]:
        """Every token, revoked ones too, by name."""
        ...

    async def revoke(self, name: str, *, now: float) -> bool:
        """Revoke a token at once; False if no valid token has this name."""
        ...


def token_store(url: str, *, documents: DocumentStore | None = None) -> TokenStore:
    """The token table in the database at `url` (a SQLite path or a postgresql:// URL).

    With `documents` (the document store of that same database), the tokens
    share its connection or pool instead of opening their own.
    """
    if documents is not None:
        return documents.token_store()
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresTokenStore

        return PostgresTokenStore(url)
    if "://" in url and not url.startswith("sqlite://"):
        raise ValueError(f"unsupported database URL for tokens: {url.split('://', 1)[0]!r}")
    from .sqlite import SQLiteTokenStore

    return SQLiteTokenStore(url.removeprefix("sqlite:///"))


__all__ = [
    "TOKEN_PREFIX",
    "ApiToken",
    "TokenExists",
    "TokenStore",
    "new_token",
    "token_hash",
    "token_hint",
    "token_store",
]
