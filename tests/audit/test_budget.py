"""The request and time budget: checks stop at the bounds, cleanup is always covered."""

from __future__ import annotations

import pytest

from httpconflict.tools.audit.budget import CLEANUP_GRACE, Budget
from httpconflict.tools.audit.errors import AuditStopped, BudgetSpent, DeadlineReached


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_requests_stop_at_the_maximum() -> None:
    """The (max+1)th request is refused with BudgetSpent, an AuditStopped."""
    budget = Budget(3, 30, 5, clock=Clock())
    for _ in range(3):
        budget.spend()
    with pytest.raises(BudgetSpent) as refused:
        budget.spend()
    assert isinstance(refused.value, AuditStopped)
    assert budget.used == 3


def test_reserved_requests_are_kept_for_cleanup() -> None:
    """Reserved requests cannot be spent by checks, only by cleanup; the total stays bounded."""
    budget = Budget(4, 30, 5, clock=Clock())
    budget.reserve(2)
    budget.spend()
    budget.spend()
    with pytest.raises(BudgetSpent):
        budget.spend()
    with pytest.raises(BudgetSpent):
        budget.reserve(2)
    budget.spend_reserved()
    budget.spend_reserved()
    with pytest.raises(BudgetSpent):
        budget.spend_reserved()
    assert budget.used == 4


def test_the_timeout_is_cut_short_by_the_deadline() -> None:
    """A request gets the per-request timeout, or less when the deadline is nearer."""
    clock = Clock()
    budget = Budget(100, 10, 5, clock=clock)
    assert budget.spend() == 5
    clock.now += 8
    assert budget.spend() == pytest.approx(2)
    clock.now += 2
    with pytest.raises(DeadlineReached):
        budget.spend()


def test_cleanup_gets_a_grace_after_the_deadline() -> None:
    """After the deadline cleanup may still run, for CLEANUP_GRACE seconds."""
    clock = Clock()
    budget = Budget(100, 10, 30, clock=clock)
    budget.reserve(2)
    clock.now += 10
    assert budget.spend_reserved() == pytest.approx(CLEANUP_GRACE)
    clock.now += CLEANUP_GRACE
    with pytest.raises(DeadlineReached):
        budget.spend_reserved()


def test_release_gives_back_unused_reservations() -> None:
    """Released reservations become available to checks again."""
    budget = Budget(2, 30, 5, clock=Clock())
    budget.reserve(2)
    assert budget.remaining == 0
    budget.release(5)
    assert budget.remaining == 2
