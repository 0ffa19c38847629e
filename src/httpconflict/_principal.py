"""Who is asking: the principal a request was authenticated as, and its rights.

Theory of operation: authentication (an API key, a JWT) happens once per
request, at the edge of the service, and leaves a `Principal` in the ASGI
scope under `PRINCIPAL_SCOPE_KEY`. Everything after it (authorization,
Idempotency-Key scoping, the access log) reads that one value and never
looks at the Authorization header again, so no credential travels further
than the code that checked it. A service with no authentication
configured treats every caller as `ANONYMOUS`.

A right is one of READ < WRITE < ADMIN: each includes the ones before it
(a writer may read; an admin may declare unique keys and read history).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

#: Where the authenticated principal lives in an ASGI scope.
PRINCIPAL_SCOPE_KEY: Final = "httpconflict.principal"
#: The longest principal id, in characters. An id is stored with every
#: Idempotency-Key it sends (in the primary key of the key stores: the
#: SQLAlchemy and Django tables hold 255 characters, and PostgreSQL's
#: index refuses a row past 2704 bytes), so it must fit them all.
MAX_PRINCIPAL_LENGTH: Final = 255


class Right(enum.IntEnum):
    """What a principal may do to a collection; a higher right includes the lower."""

    READ = 1
    WRITE = 2
    ADMIN = 3


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a stable id (never a credential) and its roles."""

    #: Stable and safe to log: "token:<name>", "jwt:<sub>", or "anonymous".
    id: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def anonymous(self) -> bool:
        return self is ANONYMOUS or self.id == ANONYMOUS_ID


ANONYMOUS_ID: Final = "anonymous"
#: The caller of a service with no authentication configured.
ANONYMOUS: Final = Principal(ANONYMOUS_ID)


def unstorable_name(name: str) -> str | None:
    """Why `name` cannot be (part of) a principal id, or None if it can.

    A principal id is written to every store a request reaches (the key
    stores, the log), so it holds only what all of them hold: no U+0000
    (PostgreSQL's text cannot), no lone surrogate (no UTF-8 encodes one),
    at most `MAX_PRINCIPAL_LENGTH` characters.
    """
    if len(name) > MAX_PRINCIPAL_LENGTH:
        return f"is too long: a principal id holds at most {MAX_PRINCIPAL_LENGTH} characters"
    if "\0" in name:
        return "holds U+0000"
    if any("\ud800" <= c <= "\udfff" for c in name):
        return "holds a lone surrogate (U+D800 to U+DFFF)"
    return None


def principal_of(scope: Mapping[str, Any]) -> Principal:
    """The principal authentication left in an ASGI scope, or `ANONYMOUS`."""
    found = scope.get(PRINCIPAL_SCOPE_KEY)
    return found if isinstance(found, Principal) else ANONYMOUS
