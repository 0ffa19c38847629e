"""Who is asking, and whether they may: principals, rights and access rules.

Authentication (an API token, a JWT) leaves a `Principal` in the ASGI
scope under `PRINCIPAL_SCOPE_KEY`; `principal_of(scope)` reads it back
(`ANONYMOUS` when nobody authenticated). A `Right` is READ < WRITE < ADMIN,
each including the ones before it. `AccessRules` grant rights to
grantees (a principal's id, ``role:<name>``, ``authenticated``, ``*``);
`access_decision(rules, principal, needed)` is the one decision made of
them: ALLOWED, UNAUTHENTICATED (401) or FORBIDDEN (403), never depending
on whether the target exists. `unstorable_name` says why a name cannot
be a principal's id (every key store must hold it). The reference
service is built on these.
"""

from ._access import RIGHTS, Access, AccessRules, access_decision, held_decision
from ._principal import (
    ANONYMOUS,
    PRINCIPAL_SCOPE_KEY,
    Principal,
    Right,
    principal_of,
    unstorable_name,
)

__all__ = [
    "ANONYMOUS",
    "PRINCIPAL_SCOPE_KEY",
    "RIGHTS",
    "Access",
    "AccessRules",
    "Principal",
    "Right",
    "access_decision",
    "held_decision",
    "principal_of",
    "unstorable_name",
]
