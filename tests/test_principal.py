"""The principal authentication leaves in the scope, and the order of rights."""

from __future__ import annotations

from httpconflict._principal import (
    ANONYMOUS,
    PRINCIPAL_SCOPE_KEY,
    Principal,
    Right,
    principal_of,
)


def test_a_scope_without_a_principal_is_anonymous() -> None:
    """No authentication ran (or none is configured): the caller is ANONYMOUS."""
    assert principal_of({"type": "http"}) is ANONYMOUS
    assert ANONYMOUS.anonymous


def test_the_principal_in_the_scope_is_the_one_returned() -> None:
    """Whatever authentication stored is what every later layer reads."""
    caller = Principal("token:ci", frozenset({"writer"}))
    assert principal_of({PRINCIPAL_SCOPE_KEY: caller}) is caller
    assert not caller.anonymous


def test_something_else_under_the_key_is_not_a_principal() -> None:
    """A stray value under the key (a header copied into the scope, say) counts for nothing."""
    assert principal_of({PRINCIPAL_SCOPE_KEY: "token:admin"}) is ANONYMOUS


def test_each_right_includes_the_lower_ones() -> None:
    """READ < WRITE < ADMIN."""
    assert Right.READ < Right.WRITE < Right.ADMIN
