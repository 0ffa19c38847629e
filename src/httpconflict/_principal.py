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


def principal_of(scope: Mapping[str, Any]) -> Principal:
    """The principal authentication left in an ASGI scope, or `ANONYMOUS`."""
    found = scope.get(PRINCIPAL_SCOPE_KEY)
    return found if isinstance(found, Principal) else ANONYMOUS
