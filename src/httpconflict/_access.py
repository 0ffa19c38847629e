"""Who may do what to a collection: access rules, and the one decision made of them.

Theory of operation: rules only grant, nothing denies. A collection's
rules give each right (read, write, admin) to a set of grantees; the
service's own grants (the `--grant` flags) hold on every collection
besides. A right includes the lower ones (`Right`), so a grantee of admin
may write and read. `access_decision` is the whole check: the rules in
force, the principal, the right the request needs, in; ALLOWED,
UNAUTHENTICATED (401: an anonymous caller may well hold the right once it
says who it is) or FORBIDDEN (403) out. The request's target is never an
input, so a refusal cannot depend on whether a document exists.

A grantee is one of:

- ``role:<name>``: every principal holding the role;
- ``authenticated``: every principal but the anonymous one;
- a principal id: ``token:<name>``, ``jwt:<sub>``.

The anonymous principal is no grantee: with authentication on, a request
without credentials is refused before it is authorized, and without it
every caller holds every right.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from ._errors import InvalidDocument
from ._principal import Principal, Right

ROLE_PREFIX: Final = "role:"
#: The grantee standing for every principal that authenticated.
AUTHENTICATED: Final = "authenticated"
#: The most grantees one right of a collection may name (they are read on every request).
MAX_GRANTEES: Final = 100
#: The longest grantee accepted, in characters.
MAX_GRANTEE_LENGTH: Final = 255
#: The rights by their names in rules and flags.
RIGHTS: Final = {"read": Right.READ, "write": Right.WRITE, "admin": Right.ADMIN}


class Access(enum.Enum):
    """What the rules say of one request."""

    ALLOWED = "allowed"
    #: Anonymous and not granted: 401, for credentials may grant it.
    UNAUTHENTICATED = "unauthenticated"
    #: Authenticated and not granted: 403.
    FORBIDDEN = "forbidden"


@dataclass(frozen=True, slots=True)
class AccessRules:
    """The grantees of each right: what a collection's `access` setting holds."""

    read: frozenset[str] = frozenset()
    write: frozenset[str] = frozenset()
    admin: frozenset[str] = frozenset()

    def granted(self, right: Right) -> frozenset[str]:
        """The grantees of `right` itself, not counting those of higher rights."""
        match right:
            case Right.READ:
                return self.read
            case Right.WRITE:
                return self.write
            case Right.ADMIN:
                return self.admin

    def right_of(self, principal: Principal) -> Right | None:
        """The highest right `principal` holds under these rules, or None."""
        return _right_of(self, principal)

    def __or__(self, other: AccessRules) -> AccessRules:
        return AccessRules(
            self.read | other.read, self.write | other.write, self.admin | other.admin
        )

    def to_json(self) -> dict[str, list[str]]:
        """The rules as the settings' `access` member: each right's grantees, sorted."""
        return {name: sorted(self.granted(right)) for name, right in RIGHTS.items()}

    @classmethod
    def from_json(cls, value: object) -> AccessRules:
        """Read an `access` member: ``{"read": [...], "write": [...], "admin": [...]}``.

        A right left out is granted to no one (by this collection; the
        service's grants still hold). Anything else is an `InvalidDocument`
        naming what is wrong.
        """
        if not isinstance(value, Mapping):
            raise InvalidDocument(
                '"access" must be an object: {"read": [...], "write": [...], "admin": [...]}',
                member="access",
            )
        granted: dict[str, frozenset[str]] = {}
        for name, grantees in value.items():
            if name not in RIGHTS:
                raise InvalidDocument(
                    f"unknown right {name!r} in access: the rights are read, write and admin",
                    member="access",
                )
            if not isinstance(grantees, list) or len(grantees) > MAX_GRANTEES:
                raise InvalidDocument(
                    f'access "{name}" must be a list of at most {MAX_GRANTEES} grantees',
                    member="access",
                )
            granted[name] = frozenset(check_grantee(grantee) for grantee in grantees)
        return cls(**granted)

    @classmethod
    def from_grants(cls, grants: Iterable[str]) -> AccessRules:
        """Read ``right=grantee`` texts (the `--grant` flags); ValueError naming a bad one."""
        granted: dict[str, set[str]] = {name: set() for name in RIGHTS}
        for grant in grants:
            name, equals, grantee = grant.strip().partition("=")
            if not equals or name.strip() not in RIGHTS:
                raise ValueError(
                    f"a grant is RIGHT=GRANTEE with RIGHT one of read, write, admin "
                    f"(admin=role:admin), not {grant!r}"
                )
            granted[name.strip()].add(check_grantee(grantee.strip()))
        return cls(**{name: frozenset(g) for name, g in granted.items()})


# Rules are read on every request and change rarely: a stored text is
# parsed and checked once per worker, not once per request.
@functools.lru_cache(maxsize=1024)
def rules_from_text(text: str) -> AccessRules:
    """The rules a store holds as JSON text (see `AccessRules.to_json`)."""
    return AccessRules.from_json(json.loads(text))


def check_grantee(grantee: object) -> str:
    """`grantee` if it is one (see the module's docstring), else `InvalidDocument`."""
    if (
        not isinstance(grantee, str)
        or not grantee
        or len(grantee) > MAX_GRANTEE_LENGTH
        or not grantee.isprintable()
        or grantee == ROLE_PREFIX
        or (":" not in grantee and grantee != AUTHENTICATED)
    ):
        raise InvalidDocument(
            f"a grantee is role:<name>, authenticated or a principal id "
            f"(token:<name>, jwt:<subject>), of at most {MAX_GRANTEE_LENGTH} characters; "
            f"not {grantee!r:.60}",
            member="access",
        )
    return grantee


def access_decision(rules: AccessRules, principal: Principal, needed: Right) -> Access:
    """Whether `principal` holds `needed` under `rules`, and if not, which refusal."""
    return held_decision(rules.right_of(principal), principal, needed)


def held_decision(held: Right | None, principal: Principal, needed: Right) -> Access:
    """`access_decision` for a principal known to hold `held` (None: no right)."""
    if held is not None and held >= needed:
        return Access.ALLOWED
    return Access.UNAUTHENTICATED if principal.anonymous else Access.FORBIDDEN


# Asked on every request, of few distinct rules and callers: each pair is
# worked out once (half the cost of an authorization check otherwise).
@functools.lru_cache(maxsize=4096)
def _right_of(rules: AccessRules, principal: Principal) -> Right | None:
    for right in (Right.ADMIN, Right.WRITE, Right.READ):
        if any(_names(grantee, principal) for grantee in rules.granted(right)):
            return right
    return None


def _names(grantee: str, principal: Principal) -> bool:
    if grantee.startswith(ROLE_PREFIX):
        return grantee[len(ROLE_PREFIX) :] in principal.roles
    if grantee == AUTHENTICATED:
        return not principal.anonymous
    return grantee == principal.id
