"""Access rules: who holds which right, and the one decision made of them."""

from __future__ import annotations

import pytest

from httpconflict._access import Access, AccessRules, access_decision
from httpconflict._errors import InvalidDocument
from httpconflict._principal import ANONYMOUS, Principal, Right

ALICE = Principal("token:alice", frozenset({"staff"}))
BOB = Principal("jwt:bob")
RULES = AccessRules(
    read=frozenset({"authenticated"}),
    write=frozenset({"role:staff"}),
    admin=frozenset({"jwt:root"}),
)


@pytest.mark.parametrize(
    ("rules", "principal", "needed", "expected"),
    [
        pytest.param(RULES, ALICE, Right.WRITE, Access.ALLOWED, id="role-grants-write"),
        pytest.param(RULES, ALICE, Right.READ, Access.ALLOWED, id="write-includes-read"),
        pytest.param(RULES, ALICE, Right.ADMIN, Access.FORBIDDEN, id="write-is-not-admin"),
        pytest.param(RULES, BOB, Right.WRITE, Access.FORBIDDEN, id="no-role-no-write"),
        pytest.param(RULES, BOB, Right.READ, Access.ALLOWED, id="authenticated-reads"),
        pytest.param(RULES, ANONYMOUS, Right.READ, Access.UNAUTHENTICATED, id="anon-read-401"),
        pytest.param(RULES, ANONYMOUS, Right.WRITE, Access.UNAUTHENTICATED, id="anon-401"),
        pytest.param(
            RULES, Principal("jwt:root"), Right.ADMIN, Access.ALLOWED, id="principal-id-admin"
        ),
        pytest.param(
            AccessRules(read=frozenset({"authenticated"})),
            ANONYMOUS,
            Right.READ,
            Access.UNAUTHENTICATED,
            id="authenticated-excludes-anonymous",
        ),
        pytest.param(AccessRules(), ALICE, Right.READ, Access.FORBIDDEN, id="no-rules-no-right"),
    ],
)
def test_access_decision(
    rules: AccessRules, principal: Principal, needed: Right, expected: Access
) -> None:
    """A right is held through a role, an id or a catch-all grantee, and includes lower ones."""
    assert access_decision(rules, principal, needed) is expected


def test_rules_add_up() -> None:
    """The service's grants and a collection's own are their union: nothing denies."""
    service = AccessRules.from_grants(["admin=role:admin"])
    both = service | RULES
    assert both.right_of(Principal("token:x", frozenset({"admin"}))) is Right.ADMIN
    assert both.right_of(ALICE) is Right.WRITE
    assert both.right_of(BOB) is Right.READ
    assert (service | AccessRules()).right_of(BOB) is None


def test_json_round_trip() -> None:
    """The access member reads back as written, each right's grantees sorted."""
    text = {"read": ["role:b", "role:a"], "admin": ["token:x"]}
    rules = AccessRules.from_json(text)
    assert rules.to_json() == {"read": ["role:a", "role:b"], "write": [], "admin": ["token:x"]}
    assert AccessRules.from_json(rules.to_json()) == rules


@pytest.mark.parametrize(
    "value",
    [
        pytest.param([], id="not-an-object"),
        pytest.param({"delete": []}, id="unknown-right"),
        pytest.param({"read": "role:a"}, id="not-a-list"),
        pytest.param({"read": [1]}, id="not-a-string"),
        pytest.param({"read": [""]}, id="empty"),
        pytest.param({"read": ["role:"]}, id="role-without-name"),
        pytest.param({"read": ["alice"]}, id="bare-word"),
        pytest.param({"read": ["anonymous"]}, id="anonymous"),
        pytest.param({"read": ["token:\n"]}, id="control-character"),
        pytest.param({"read": ["token:" + "x" * 300]}, id="too-long"),
        pytest.param({"read": [f"token:{n}" for n in range(101)]}, id="too-many"),
    ],
)
def test_malformed_access_is_refused(value: object) -> None:
    """A malformed access member is a 422 naming the member, never a rule half read."""
    with pytest.raises(InvalidDocument) as caught:
        AccessRules.from_json(value)
    assert caught.value.problem.extensions["member"] == "access"


@pytest.mark.parametrize("grant", ["read", "own=role:x", "read=", "read=nobody"])
def test_malformed_grant_is_refused(grant: str) -> None:
    """A --grant that is not RIGHT=GRANTEE is a ValueError (the service does not start)."""
    with pytest.raises(ValueError, match="grant"):
        AccessRules.from_grants([grant])
